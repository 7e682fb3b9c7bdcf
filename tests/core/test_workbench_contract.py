"""The workbench's reading of the store (``web.workbench_data``) on both backends: the embedded
SQLite store and Elasticsearch (osmem). Same corpus and plain-Python expectations as the store
contract (``test_store_contract``); the 检索 page's answers are also compared with ``yuqing search``
run as a command against the same store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.core.test_store_contract import (  # noqa: F401  (fixtures)
    Backend,
    at,
    backend,
    corpus,
    expected_counts,
    expected_ids,
    loaded,
    matches,
    store,
    variant,
)
from web.workbench_data import FACETS, SearchForm, by_town, facets, series
from yuqing.events import PostClassified
from yuqing.store import Query, Store
from yuqing.timeutil import TZ

ROOT = Path(__file__).resolve().parents[2]
FORMS = [
    SearchForm(q="工资"),
    SearchForm(q="工资", sentiment="negative", since="2019-01-01"),
    SearchForm(topic="其他"),
    SearchForm(q="拖欠 工资", risk="中"),
    SearchForm(region="彭泽县/马垱镇"),
]


def test_count_per_hour_uses_shanghai_hours(store: Store, corpus: list[PostClassified]) -> None:  # noqa: F811
    times = [
        "2024-03-01T00:00:00+08:00",
        "2024-03-01T00:59:59.999999+08:00",
        "2024-03-01T15:59:59+00:00",  # 23:59:59 on 1 March in Shanghai
        "2024-03-01T16:00:00+00:00",  # 00:00 on 2 March in Shanghai
        "2024-03-02T09:30:00+08:00",
    ]
    posts = [variant(corpus[i], id=f"h{i}", published_at=t) for i, t in enumerate(times)]
    store.write(posts)
    assert store.count_per_hour() == {"2024-03-01 00": 2, "2024-03-01 23": 1, "2024-03-02 00": 1, "2024-03-02 09": 1}
    assert store.count_per_hour(Query(since=at("2024-03-01T23:00:00+08:00"), until=at("2024-03-02T09:00:00+08:00"))) == {
        "2024-03-01 23": 1,
        "2024-03-02 00": 1,
    }


def test_count_per_hour_over_real_posts(loaded: Store, corpus: list[PostClassified]) -> None:  # noqa: F811
    want = Counter(p.published_at.astimezone(TZ).strftime("%Y-%m-%d %H") for p in corpus if p.sentiment == "negative")
    assert loaded.count_per_hour(Query(sentiment="negative")) == dict(sorted(want.items()))


@pytest.mark.parametrize("form", FORMS, ids=lambda f: "&".join(f"{k}={v}" for k, v in f.params().items()))
def test_facets_are_the_counts_of_what_the_search_finds(loaded: Store, corpus: list[PostClassified], form: SearchForm) -> None:  # noqa: F811
    q = form.query(limit=1000)
    found = facets(loaded, q)
    want_ids = expected_ids(corpus, q)
    assert want_ids, "the form must find something, or the test proves little"
    assert found.total == len(want_ids) == loaded.search(q).total
    assert [p.id for p in loaded.search(q).hits] == want_ids
    for name in FACETS:
        assert found.fields[name] == expected_counts(corpus, name, q), name
    days = Counter(p.published_at.astimezone(TZ).strftime("%Y-%m-%d") for p in corpus if matches(p, q))
    assert found.days == dict(sorted(days.items()))


def test_a_facet_narrows_to_its_count(loaded: Store, corpus: list[PostClassified]) -> None:  # noqa: F811
    """Following a facet link (the value added to the form) finds exactly the count shown."""
    base = SearchForm(q="工资")
    for topic, n in facets(loaded, base.query()).fields["topic"].items():
        assert loaded.search(SearchForm(q="工资", topic=topic).query()).total == n


def test_the_search_page_answers_as_yuqing_search(loaded: Store, corpus: list[PostClassified], tmp_path: Path) -> None:  # noqa: F811
    """``yuqing search`` run as a command against the same store: the same posts, in the same order."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "YUQING_STORE__URL": loaded.url}
    if not loaded.url.startswith("sqlite:"):
        env["YUQING_STORE__PLAIN_JSON"] = "true"
    form = SearchForm(q="工资", sentiment="negative", since="2019-01-01")
    args = ["search", "工资", "--sentiment", "negative", "--since", "2019-01-01", "-n", "500", "--json"]
    run = subprocess.run([sys.executable, "-m", "yuqing", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]
    cli = [json.loads(line)["id"] for line in run.stdout.splitlines() if line.strip()]
    page = [p.id for p in loaded.search(form.query(limit=500)).hits]
    assert cli == page and len(cli) == len(expected_ids(corpus, form.query()))


def test_series_and_towns(loaded: Store, corpus: list[PostClassified]) -> None:  # noqa: F811
    days = sorted({p.published_at.astimezone(TZ).date() for p in corpus})
    first, last = days[-3], days[-1]
    since = at(f"{first}T00:00:00")
    until = at(f"{last}T23:59:59")
    s = series(loaded, hourly=False, since=since, until=until, scheme=None)
    in_range = [p for p in corpus if since <= p.published_at < until]
    assert sum(s["posts"]) == len(in_range) and sum(s["negative"]) == sum(p.sentiment == "negative" for p in in_range)
    assert len(s["labels"]) == (last - first).days + 1  # every day present, zeros too
    rows, county_only = by_town(loaded, Query())
    towns = {r.town: (r.posts, r.negative) for r in rows}
    want = Counter(p.region.split("/")[1] for p in corpus if p.region and p.region.count("/") >= 1)
    assert {t: n for t, (n, _) in towns.items() if n} == dict(want)
    assert towns["马垱镇"][0] == 4 and towns["龙城镇"][0] == 2 and county_only == 0
    neg = Counter(p.region.split("/")[1] for p in corpus if p.region and p.sentiment == "negative")
    assert {t: m for t, (_, m) in towns.items() if m} == dict(neg)

"""The store contract: the same assertions against the embedded SQLite store and Elasticsearch (osmem).

Posts are real citizen messages (``tests/data/store_posts.jsonl``, 165 rows copied from
``../shared/data/wenzheng_posts.jsonl``) classified by ``processors.classify.Classifier``.
Expected answers come from a plain-Python reading of the contract over the same posts
(``expected_*``), plus fixed facts about particular posts, so a backend can neither agree with
itself by accident nor pass by returning nothing. The Elasticsearch-only tests at the end cover
what SQLite has no counterpart for (template, alias, refresh parameter, transport).
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import sqlite3
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from processors.classify import Classifier
from tests.fixtures.osmem import ES_OPTIONS
from yuqing.errors import StoreError
from yuqing.events import PostClassified, PostCollected, Reply, Source
from yuqing.sqlite_util import sqlite_path
from yuqing.store import CountField, Query, RefreshPolicy, Store, open_store
from yuqing.text import index_terms, query_terms
from yuqing.timeutil import TZ, parse_datetime

DATA = Path(__file__).resolve().parents[1] / "data" / "store_posts.jsonl"
BACKENDS = ["sqlite", pytest.param("osmem", marks=pytest.mark.elasticsearch)]
FIELDS: dict[CountField, Callable[[PostClassified], str | None]] = {
    "topic": lambda p: p.topic,
    "sentiment": lambda p: p.sentiment,
    "risk_level": lambda p: p.risk.level,
    "source": lambda p: p.source.id,
    "region": lambda p: p.region,
    "event_id": lambda p: p.event_id,
}

# Posts whose only wage token is 农民工工资 (jieba keeps the compound whole).
WAGE_COMPOUND_IDS = {
    "tipdm2020c_fj2:41515",
    "tipdm2020c_fj3:197153",
    "tipdm2020c_fj3:213195",
    "tipdm2020c_fj3:244956",
    "tipdm2020c_fj3:249300",
    "tipdm2020c_fj4:80176",
    "tipdm2020c_fj4:87831",
    "tipdm2020c_fj4:126023",
    "tipdm2020c_fj4:179560",
}


# -- the posts -------------------------------------------------------------------------------


def _collected(row: dict[str, Any]) -> PostCollected:
    published = parse_datetime(row["published"])
    assert published is not None, row["id"]
    reply = None
    if row.get("reply"):
        reply = Reply(
            content=row["reply"],
            organization="12345 热线" if "12345" in row["source"] else None,
            replied_at=parse_datetime(row.get("replied_at")),
        )
    raw = {k: v for k, v in row.items() if k not in ("id", "source", "title", "content", "published", "reply", "replied_at")}
    return PostCollected(
        id=row["id"],
        title=row["title"],
        content=row["content"],
        published_at=published,
        source=Source(id=row["source"], kind="hotline" if row["source"].startswith("fz12345") else "board", name=row["source"]),
        reply=reply,
        raw=raw,
    )


@pytest.fixture(scope="module")
def corpus() -> list[PostClassified]:
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    posts = Classifier().classify_many(_collected(r) for r in rows)
    # The slice has no two posts of one incident; make one so event_id has a group to find.
    event = posts[0].event_id
    # Nor does it name a place of 彭泽 (the publishers anonymised them), so no post gets a region:
    # give a few one, so that the region filter and counts have groups to find.
    other = [i for i, p in enumerate(posts) if p.topic == "其他"][:4]
    regions = {1: "彭泽县/龙城镇/南岭社区", 2: "彭泽县/龙城镇/南岭社区"} | dict.fromkeys(other, "彭泽县/马垱镇")
    posts = [variant(p, region=regions[i]) if i in regions else p for i, p in enumerate(posts)]
    return [variant(p, event_id=event) if i in (5, 17, 40) else p for i, p in enumerate(posts)]


def variant(post: PostClassified, **changes: Any) -> PostClassified:
    """A validated copy (model_copy would skip the Shanghai-time validators)."""
    return PostClassified.model_validate({**post.model_dump(), **changes})


def at(text: str) -> datetime:
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo else dt.replace(tzinfo=TZ)


# -- the contract read plainly, over a list ---------------------------------------------------


def matches(p: PostClassified, q: Query) -> bool:
    if q.text is not None and q.text:
        terms = query_terms(q.text)
        if not terms or not set(terms) <= set(index_terms(p.tokens)):
            return False
    for name, get in FIELDS.items():
        want = getattr(q, name)
        if want is not None and get(p) != want:
            return False
    if q.event_ids is not None and p.event_id not in q.event_ids:
        return False
    if q.event_keys is not None and not set(p.event_keys) & set(q.event_keys):
        return False
    if q.ids is not None and p.id not in q.ids:
        return False
    since = q.since.replace(tzinfo=TZ) if q.since and q.since.tzinfo is None else q.since
    until = q.until.replace(tzinfo=TZ) if q.until and q.until.tzinfo is None else q.until
    return (since is None or p.published_at >= since) and (until is None or p.published_at < until)


def expected_ids(posts: list[PostClassified], q: Query) -> list[str]:
    found = sorted((p for p in posts if matches(p, q)), key=lambda p: p.id)
    found.sort(key=lambda p: p.published_at, reverse=True)  # stable: id ascending within a time
    return [p.id for p in found]


def expected_counts(posts: list[PostClassified], name: CountField, q: Query = Query()) -> dict[str, int]:
    c = Counter(v for p in posts if matches(p, q) and (v := FIELDS[name](p)) is not None)
    return dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))


# -- backends ---------------------------------------------------------------------------------


@dataclass
class Backend:
    name: str
    url: str
    options: dict[str, object]
    opened: list[Store] = field(default_factory=list)

    def open(self, refresh: RefreshPolicy = "wait_for", **options: object) -> Store:
        store = open_store(self.url, refresh=refresh, **{**self.options, **options})
        self.opened.append(store)
        return store


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        b = Backend("sqlite", f"sqlite:///{tmp_path}/store.db", {})
    else:
        b = Backend("osmem", str(request.getfixturevalue("es_url")), dict(ES_OPTIONS))
    yield b
    for store in b.opened:
        store.close()


@pytest.fixture
def store(backend: Backend) -> Store:
    return backend.open()


@pytest.fixture(scope="module", params=BACKENDS)
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, corpus: list[PostClassified]) -> Iterator[Store]:
    """The corpus written once per backend, shared by the tests that only read."""
    if request.param == "sqlite":
        store = open_store(f"sqlite:///{tmp_path_factory.mktemp('loaded')}/store.db")
    else:
        clone = request.getfixturevalue("osmem_server").clone()
        request.addfinalizer(clone.close)
        store = open_store(clone.url, refresh="wait_for", **ES_OPTIONS)
    store.write(corpus)
    yield store
    store.close()


def ids(result: Any) -> list[str]:
    return [p.id for p in result.hits]


# -- writes -----------------------------------------------------------------------------------


def test_write_then_get_returns_the_post_exactly(store: Store, corpus: list[PostClassified]) -> None:
    full = next(p for p in corpus if p.reply is not None and p.reply.replied_at is not None and p.risk.reasons)
    post = variant(
        full,
        url="https://liuyan.example.cn/thread/1?a=1&b=二",
        author="匿名网友",
        region="彭泽县/龙城镇/城南社区",
        raw={"likes": 3, "board": {"forum": "县委书记", "tags": ["住建", 1, None, 2.5]}},
    )
    store.write([post])

    got = store.get(post.id)
    assert got == post
    assert got is not None and got.published_at.isoformat() == post.published_at.isoformat()
    assert got.published_at.utcoffset() == timedelta(hours=8)
    assert got.reply is not None and got.reply.replied_at is not None and got.reply.replied_at.utcoffset() == timedelta(hours=8)
    assert got.risk.reasons == full.risk.reasons != []
    assert store.get("no-such-post") is None
    assert store.search(Query()).hits == [post]


def test_write_is_an_idempotent_upsert_by_id(store: Store, corpus: list[PostClassified]) -> None:
    post = next(p for p in corpus if p.id in WAGE_COMPOUND_IDS)
    store.write([post])
    store.write([post])
    assert store.search(Query()).total == 1

    updated = variant(
        post, title="水质异常", tokens=["水质", "异常"], topic="环境污染和生态破坏", risk={"score": 81, "level": "高", "reasons": ["更新"]}
    )
    store.write([updated])
    store.refresh()
    assert store.search(Query()).total == 1
    assert store.get(post.id) == updated
    # the search terms were replaced too, not added to
    assert store.search(Query(text="工资")).total == 0
    assert ids(store.search(Query(text="水质"))) == [post.id]
    assert store.count_by("topic") == {"环境污染和生态破坏": 1}


def test_an_empty_write_is_a_no_op(store: Store) -> None:
    store.write([])
    assert store.search(Query()).total == 0


# -- full text --------------------------------------------------------------------------------


def test_a_word_finds_posts_where_it_is_inside_a_longer_token(loaded: Store, corpus: list[PostClassified]) -> None:
    compound = [p for p in corpus if p.id in WAGE_COMPOUND_IDS]
    assert len(compound) == 9 and all("农民工工资" in p.tokens and "工资" not in p.tokens for p in compound)

    result = loaded.search(Query(text="工资", limit=200))
    assert set(ids(result)) >= WAGE_COMPOUND_IDS
    assert ids(result) == expected_ids(corpus, Query(text="工资"))
    assert result.total == len(result.hits) > len(WAGE_COMPOUND_IDS)


@pytest.mark.parametrize("text", ["拖欠 工资", "拖欠农民工工资", "小区 物业", "噪音扰民", "拆迁补偿", "医保", "教师工资"])
def test_every_query_term_must_match(loaded: Store, corpus: list[PostClassified], text: str) -> None:
    result = loaded.search(Query(text=text, limit=200))
    assert ids(result) == expected_ids(corpus, Query(text=text))
    assert result.total == len(result.hits) > 0
    for p in result.hits:
        assert set(query_terms(text)) <= set(index_terms(p.tokens))


def test_and_semantics_narrow_the_result(loaded: Store, corpus: list[PostClassified]) -> None:
    wages = loaded.search(Query(text="工资", limit=200)).total
    arrears = loaded.search(Query(text="拖欠", limit=200)).total
    both = loaded.search(Query(text="工资 拖欠", limit=200)).total
    assert 0 < both < min(wages, arrears)
    assert both == len(expected_ids(corpus, Query(text="工资 拖欠")))


@pytest.mark.parametrize("text", ["量子纠缠", "工资 量子纠缠", "，。！？", "   "])
def test_no_match_is_zero(loaded: Store, text: str) -> None:
    result = loaded.search(Query(text=text))
    assert (result.total, result.hits) == (0, [])
    assert loaded.count_by("topic", Query(text=text)) == {}
    assert loaded.count_per_day(Query(text=text)) == {}


def test_terms_with_jieba_punctuation_match_whole(store: Store, corpus: list[PostClassified]) -> None:
    # jieba keeps "." "+" "-" "%" inside tokens; each must stay one term in both indexes, so
    # "0.5" is not found by "5", nor "c++" by "c".
    base = corpus[0]
    post = variant(base, id="punct", tokens=["pm2.5", "超标", "0.5", "c++", "3-5", "15%"])
    other = variant(base, id="plain", tokens=["5", "c", "3"])
    store.write([post, other])
    for text, want in [
        ("pm2.5", ["punct"]),
        ("0.5", ["punct"]),
        ("c++", ["punct"]),
        ("3-5", ["punct"]),
        ("15%", ["punct"]),
        ("5", ["plain"]),
        ("c", ["plain"]),
    ]:
        assert ids(store.search(Query(text=text))) == want, text


# -- filters ----------------------------------------------------------------------------------


def _some_value(corpus: list[PostClassified], name: CountField) -> str:
    """The most common value: several posts have it, not all (checked by the caller)."""
    return next(iter(expected_counts(corpus, name)))


@pytest.mark.parametrize("name", list(FIELDS))
def test_each_filter(loaded: Store, corpus: list[PostClassified], name: CountField) -> None:
    value = _some_value(corpus, name)
    q = Query(**{name: value}, limit=200)  # type: ignore[arg-type]
    result = loaded.search(q)
    assert ids(result) == expected_ids(corpus, q)
    assert 1 < result.total < len(corpus)
    assert {FIELDS[name](p) for p in result.hits} == {value}


def test_filters_combine_with_each_other_and_with_text(loaded: Store, corpus: list[PostClassified]) -> None:
    queries = [
        Query(topic="工资拖欠", sentiment="negative", limit=200),
        Query(text="工资", topic="工资拖欠", risk_level="中", limit=200),
        Query(source="tipdm2020c_fj4", since=at("2019-01-01T00:00:00"), until=at("2019-07-01T00:00:00"), limit=200),
        Query(text="污水", source="fz12345_heichou", sentiment="negative", limit=200),
        Query(region="彭泽县/马垱镇", topic="其他", limit=200),
        Query(topic="工资拖欠", sentiment="positive", limit=200),
    ]
    nonempty = 0
    for q in queries:
        result = loaded.search(q)
        assert ids(result) == expected_ids(corpus, q), q
        assert result.total == len(result.hits)
        nonempty += result.total > 0
    assert nonempty >= 4


def test_any_of_event_ids_and_event_keys(loaded: Store, corpus: list[PostClassified]) -> None:
    """The event clusterer's batched lookups: posts carrying any of the keys, or of any of the
    events, combined with a time range (what one lookup per worker batch asks)."""
    wage = next(p for p in corpus if p.id in WAGE_COMPOUND_IDS)
    assert wage.event_keys, "the classifier gives every post lookup keys"
    name_keys = sorted({k for p in corpus for k in p.event_keys if k.startswith("e:")})
    shared = Counter(k for p in corpus for k in set(p.event_keys))
    common = max(name_keys, key=lambda k: (shared[k], k))
    assert shared[common] > 1  # a name several posts share
    events = sorted({p.event_id for p in corpus})
    queries = [
        Query(event_keys=tuple(wage.event_keys), limit=200),
        Query(event_keys=(common, "e:没有这个地方"), limit=200),
        Query(event_keys=tuple(name_keys[:40]), since=at("2019-01-01T00:00:00"), limit=200),
        Query(event_ids=(corpus[0].event_id, corpus[9].event_id, "ev-none"), limit=200),
        Query(event_ids=tuple(events[:30]), until=at("2019-07-01T00:00:00"), limit=200),
        Query(event_ids=tuple(events), event_keys=(common,), limit=200),
    ]
    for q in queries:
        result = loaded.search(q)
        assert ids(result) == expected_ids(corpus, q), q
        assert result.total == len(result.hits) > 0
    assert wage.id in ids(loaded.search(queries[0]))
    assert {corpus[i].id for i in (0, 5, 17, 40, 9)} <= set(ids(loaded.search(queries[3])))  # corpus: 5, 17, 40 joined 0
    assert loaded.search(Query(event_keys=())).total == 0
    assert loaded.search(Query(event_ids=())).total == 0
    assert loaded.search(Query(event_keys=("m0:000000000000",))).total == 0


def test_brief_is_search_reading_only_the_clusterers_fields(loaded: Store, corpus: list[PostClassified]) -> None:
    """``brief``: the same posts in the same order and the same total as ``search``, each with
    exactly the id, event, time (to the microsecond, Shanghai time), source id, title and content
    of the stored post."""
    events = sorted({p.event_id for p in corpus})
    name_keys = sorted({k for p in corpus for k in p.event_keys if k.startswith("e:")})
    for q in [
        Query(limit=500),
        Query(event_ids=tuple(events[:30]), until=at("2019-07-01T00:00:00"), limit=200),
        Query(event_keys=tuple(name_keys[:40]), since=at("2019-01-01T00:00:00"), limit=200),
        Query(text="工资", offset=2, limit=7),
        Query(event_keys=()),
    ]:
        full, brief = loaded.search(q), loaded.brief(q)
        assert brief.total == full.total, q
        assert [(b.id, b.event_id, b.published_at, b.source, b.title, b.content) for b in brief.hits] == [
            (p.id, p.event_id, p.published_at, p.source.id, p.title, p.content) for p in full.hits
        ], q
        assert all(b.published_at.utcoffset() == timedelta(hours=8) for b in brief.hits)
    assert loaded.brief(Query(limit=500)).total == len(corpus)


def test_any_of_ids(loaded: Store, corpus: list[PostClassified]) -> None:
    """Which of some posts pass the other filters (the workbench: an alert's posts in a scheme)."""
    some = (*(p.id for p in corpus[::7]), "no-such-post")
    queries = [
        Query(ids=some, limit=500),
        Query(ids=some, topic=corpus[0].topic, limit=500),
        Query(ids=some, since=at("2019-01-01T00:00:00"), limit=3),
    ]
    for q in queries:
        result = loaded.search(q)
        assert ids(result) == expected_ids(corpus, q)[: q.limit], q
        assert result.total == len(expected_ids(corpus, q)) > 0
    assert loaded.search(Query(ids=())).total == 0


def test_unknown_filter_values_find_nothing(loaded: Store) -> None:
    assert loaded.search(Query(topic="不存在的话题")).total == 0
    assert loaded.search(Query(region="彭泽县/不存在镇")).total == 0


# -- time ranges, order, pages ----------------------------------------------------------------


def test_time_range_is_since_inclusive_until_exclusive_to_the_microsecond(store: Store, corpus: list[PostClassified]) -> None:
    times = {
        "t-a": "2024-05-01T09:59:59.999999+08:00",
        "t-b": "2024-05-01T10:00:00+08:00",
        "t-c": "2024-05-01T10:00:00.000001+08:00",
        "t-d": "2024-05-01T02:00:00.000002+00:00",  # 10:00:00.000002 in Shanghai
        "t-e": "2024-05-01T11:00:00+08:00",
    }
    store.write([variant(corpus[i], id=k, published_at=v) for i, (k, v) in enumerate(times.items())])
    ten = at("2024-05-01T10:00:00+08:00")

    def found(**q: Any) -> list[str]:
        return ids(store.search(Query(**q)))

    assert found(since=ten) == ["t-e", "t-d", "t-c", "t-b"]
    assert found(until=ten) == ["t-a"]
    assert found(since=ten, until=ten) == []
    assert found(since=ten + timedelta(microseconds=1), until=ten + timedelta(microseconds=2)) == ["t-c"]
    assert found(since=at("2024-05-01T02:00:00+00:00"), until=at("2024-05-01T02:00:00.000002+00:00")) == ["t-c", "t-b"]
    # naive bounds are Shanghai time, as everywhere in yuqing
    assert found(since=datetime(2024, 5, 1, 10, 0, 0, 1)) == ["t-e", "t-d", "t-c"]


def test_order_is_newest_first_then_id_and_pages_tile_the_result(store: Store, corpus: list[PostClassified]) -> None:
    noon = at("2024-06-01T12:00:00+08:00")
    posts = [variant(p, published_at=noon - timedelta(hours=i // 3)) for i, p in enumerate(corpus[:20])]  # three per hour
    store.write(list(reversed(posts)))
    want = expected_ids(posts, Query())
    assert ids(store.search(Query(limit=100))) == want

    pages = [store.search(Query(limit=6, offset=o)) for o in range(0, 24, 6)]
    assert [p.total for p in pages] == [20, 20, 20, 20]
    assert [len(p.hits) for p in pages] == [6, 6, 6, 2]
    assert [i for p in pages for i in ids(p)] == want
    beyond = store.search(Query(limit=5, offset=50))
    assert (beyond.total, beyond.hits) == (20, [])
    none = store.search(Query(limit=0))
    assert (none.total, none.hits) == (20, [])


# -- counts -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(FIELDS))
def test_count_by_each_field(loaded: Store, corpus: list[PostClassified], name: CountField) -> None:
    counts = loaded.count_by(name)
    assert counts == expected_counts(corpus, name)
    assert list(counts.items()) == list(expected_counts(corpus, name).items())  # order: count desc, then key
    if name != "region":  # posts without a region are not counted under any
        assert sum(counts.values()) == len(corpus)


def test_count_by_applies_the_query(loaded: Store, corpus: list[PostClassified]) -> None:
    q = Query(text="工资")
    assert loaded.count_by("topic", q) == expected_counts(corpus, "topic", q)
    q = Query(sentiment="negative", since=at("2019-01-01T00:00:00"))
    assert loaded.count_by("source", q) == expected_counts(corpus, "source", q)
    assert loaded.count_by("region", Query(topic="食品药品安全", region="不存在")) == {}


def test_count_per_day_uses_shanghai_days(store: Store, corpus: list[PostClassified]) -> None:
    times = [
        "2024-03-01T00:00:00+08:00",  # the first instant of 1 March
        "2024-03-01T15:59:59.999999+00:00",  # 23:59:59.999999 on 1 March in Shanghai, still 1 March in UTC
        "2024-03-01T16:00:00+00:00",  # 00:00 on 2 March in Shanghai, still 1 March in UTC
        "2024-03-02T23:30:00+08:00",
        "2024-03-05T08:00:00+08:00",
    ]
    posts = [variant(corpus[i], id=f"d{i}", published_at=t) for i, t in enumerate(times)]
    store.write(posts)
    assert store.count_per_day() == {"2024-03-01": 2, "2024-03-02": 2, "2024-03-05": 1}
    assert list(store.count_per_day()) == ["2024-03-01", "2024-03-02", "2024-03-05"]
    assert store.count_per_day(Query(since=at("2024-03-02T00:00:00+08:00"))) == {"2024-03-02": 2, "2024-03-05": 1}
    topic = posts[2].topic
    want = Counter(p.published_at.astimezone(TZ).strftime("%Y-%m-%d") for p in posts if p.topic == topic)
    assert store.count_per_day(Query(topic=topic)) == dict(sorted(want.items()))


def test_count_per_day_over_real_posts(loaded: Store, corpus: list[PostClassified]) -> None:
    want = Counter(p.published_at.astimezone(TZ).strftime("%Y-%m-%d") for p in corpus)
    assert loaded.count_per_day() == dict(sorted(want.items()))


# -- refresh ----------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["wait_for", "true"])
def test_a_write_with_a_refreshing_policy_is_searchable_at_once(
    backend: Backend, corpus: list[PostClassified], policy: RefreshPolicy
) -> None:
    store = backend.open(refresh=policy)
    store.write(corpus[:3])
    assert store.search(Query()).total == 3
    assert ids(store.search(Query(text="工资", limit=200))) == expected_ids(corpus[:3], Query(text="工资"))


def test_with_refresh_false_writes_are_searchable_after_refresh(backend: Backend, corpus: list[PostClassified]) -> None:
    store = backend.open(refresh="false")
    store.write(corpus[:3])
    assert store.get(corpus[0].id) == corpus[0]  # get is real-time on both backends
    store.refresh()
    assert store.search(Query()).total == 3


# -- failures ---------------------------------------------------------------------------------


def _reject_posts_with_a_region(backend: Backend) -> None:
    """Make the backend refuse one kind of post, as a store with an incompatible schema would."""
    if backend.name == "sqlite":
        with sqlite3.connect(sqlite_path(backend.url)) as db:
            db.execute(
                "CREATE TRIGGER reject_region BEFORE INSERT ON posts WHEN NEW.region IS NOT NULL "
                "BEGIN SELECT RAISE(ABORT, 'region rejected by test trigger'); END"
            )
        db.close()
    else:
        # an index made by hand with `region` as a number: a mapping conflict for any named region
        from yuqing.store.elasticsearch import MAPPINGS

        mappings = {**MAPPINGS, "properties": {**MAPPINGS["properties"], "region": {"type": "integer"}}}
        http_json(backend.url, "PUT", "/yuqing-posts-000001", {"aliases": {"yuqing-posts": {"is_write_index": True}}, "mappings": mappings})


def test_a_failed_item_fails_the_write_and_names_the_post(backend: Backend, corpus: list[PostClassified]) -> None:
    store = backend.open()
    store.write([])  # creates the schema (SQLite at open; Elasticsearch waits for real work)
    _reject_posts_with_a_region(backend)
    fine, bad = variant(corpus[0], id="fine", region=None), variant(corpus[1], id="bad", region="彭泽县/马当镇")
    with pytest.raises(StoreError, match=r"\bbad\b") as err:
        store.write([fine, bad])
    assert not err.value.retryable  # the document is refused for good: the worker dead-letters it
    assert store.get("bad") is None
    store.write([fine])  # the store itself is still healthy
    assert store.get("fine") == fine


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_store_raises_store_error_naming_it(backend: Backend, tmp_path: Path, corpus: list[PostClassified]) -> None:
    if backend.name == "sqlite":
        (tmp_path / "a-file").write_text("not a directory")
        url, where = f"sqlite:///{tmp_path}/a-file/store.db", str(tmp_path / "a-file")
    else:
        port = _closed_port()
        url, where = f"http://127.0.0.1:{port}", f"127.0.0.1:{port}"
    unreachable = Backend(backend.name, url, backend.options)
    with pytest.raises(StoreError, match=re.escape(where)):
        store = unreachable.open()
        store.write(corpus[:1])
    for store in unreachable.opened:
        store.close()


# -- Elasticsearch only -----------------------------------------------------------------------


def http_json(base: str, method: str, path: str, body: Any = None) -> Any:
    """A plain HTTP call to the test cluster, bypassing the client under test."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        text = resp.read()
    return json.loads(text) if text else None


@pytest.fixture
def es(es_url: str) -> Iterator[Backend]:
    b = Backend("osmem", es_url, dict(ES_OPTIONS))
    yield b
    for store in b.opened:
        store.close()


@pytest.mark.elasticsearch
def test_es_template_alias_and_single_index(es: Backend, corpus: list[PostClassified]) -> None:
    from yuqing.store.elasticsearch import MAPPINGS, TEMPLATE_VERSION

    es.open().write(corpus[:2])
    es.open().write(corpus[2:4])  # a second process finds the alias and reuses it

    templates = http_json(es.url, "GET", "/_index_template/yuqing-posts")["index_templates"]
    assert [t["name"] for t in templates] == ["yuqing-posts"]
    t = templates[0]["index_template"]
    assert t["index_patterns"] == ["yuqing-posts-*"] and t["version"] == TEMPLATE_VERSION
    assert t["template"]["mappings"] == json.loads(json.dumps(MAPPINGS))
    assert http_json(es.url, "GET", "/_alias/yuqing-posts") == {
        "yuqing-posts-000001": {"aliases": {"yuqing-posts": {"is_write_index": True}}}
    }
    mapping = http_json(es.url, "GET", "/yuqing-posts-000001/_mapping")["yuqing-posts-000001"]["mappings"]
    assert mapping["dynamic"] == "strict"
    assert mapping["properties"]["terms"] == {"type": "text", "analyzer": "whitespace", "index_options": "docs", "norms": False}
    assert mapping["properties"]["risk"]["properties"]["level"] == {"type": "keyword"}
    assert http_json(es.url, "GET", "/yuqing-posts/_count")["count"] == 4

    source = http_json(es.url, "GET", f"/yuqing-posts/_doc/{corpus[0].id}")["_source"]
    assert source["terms"] == " ".join(index_terms(corpus[0].tokens))
    assert source["published_at_us"] == int(corpus[0].published_at.timestamp()) * 1_000_000 + corpus[0].published_at.microsecond


@pytest.mark.elasticsearch
def test_es_index_made_before_event_keys_gains_the_field(es: Backend, corpus: list[PostClassified]) -> None:
    """An index created by template version 1 (no ``event_keys``; the mapping is strict) is
    given the field on start-up instead of failing every write."""
    from yuqing.store.elasticsearch import MAPPINGS

    old = {**MAPPINGS, "properties": {k: v for k, v in MAPPINGS["properties"].items() if k != "event_keys"}}
    body = {"mappings": old, "aliases": {"yuqing-posts": {"is_write_index": True}}}
    http_json(es.url, "PUT", "/yuqing-posts-000001", body)
    store = es.open()
    store.write(corpus[:3])
    mapping = http_json(es.url, "GET", "/yuqing-posts-000001/_mapping")["yuqing-posts-000001"]["mappings"]
    assert mapping["properties"]["event_keys"]["type"] == "keyword"
    assert ids(store.search(Query(event_keys=tuple(corpus[1].event_keys[:3]), limit=10))) == [corpus[1].id]


@pytest.mark.elasticsearch
def test_es_check_reports_cluster_and_count(es: Backend, corpus: list[PostClassified]) -> None:
    store = es.open()
    assert "alias yuqing-posts not created yet" in store.check()
    store.write(corpus[:7])
    report = store.check()
    assert "cluster osmem at " + es.url in report
    assert report.endswith("alias yuqing-posts -> yuqing-posts-000001 (7 posts)")


@pytest.mark.elasticsearch
def test_es_stock_transport_is_what_osmem_rejects(es: Backend, corpus: list[PostClassified]) -> None:
    # The production path (plain_json false) sends compatible-with=8; osmem answers 406. This is
    # why the plain-JSON node exists, and shows that it is used only when asked for.
    store = es.open(plain_json=False)
    with pytest.raises(StoreError, match="HTTP 406"):
        store.write(corpus[:1])


@pytest.mark.elasticsearch
def test_es_errors_name_the_url_without_the_password(es: Backend) -> None:
    port = _closed_port()
    store = Backend("osmem", f"http://yuqing:s3cret@127.0.0.1:{port}", dict(ES_OPTIONS)).open()
    for op in (store.check, lambda: store.search(Query())):
        with pytest.raises(StoreError) as err:
            op()
        assert f"http://yuqing:***@127.0.0.1:{port}" in str(err.value) and "s3cret" not in str(err.value)
    store.close()


@pytest.mark.elasticsearch
def test_es_refuses_a_concrete_index_named_like_the_alias(es: Backend, corpus: list[PostClassified]) -> None:
    http_json(es.url, "PUT", "/yuqing-posts", {})
    with pytest.raises(StoreError, match="yuqing-posts is a concrete index"):
        es.open().write(corpus[:1])


@pytest.mark.elasticsearch
def test_es_pages_past_the_result_window_match_from_size(es: Backend, corpus: list[PostClassified]) -> None:
    store = es.open()
    store.write(corpus)
    want = ids(store.search(Query(limit=200)))
    deep = es.open()
    deep.result_window = 7  # type: ignore[attr-defined]
    for offset, limit in [(0, 30), (5, 10), (20, 13), (160, 10), (300, 5)]:
        result = deep.search(Query(offset=offset, limit=limit))
        assert result.total == len(corpus)
        assert ids(result) == want[offset : offset + limit], (offset, limit)
    q = Query(text="工资", offset=3, limit=20)
    assert ids(deep.search(q)) == ids(store.search(q))


def test_es_brief_pages_past_the_result_window_like_search(es: Backend, corpus: list[PostClassified]) -> None:
    store = es.open()
    store.write(corpus)
    deep = es.open()
    deep.result_window = 7  # type: ignore[attr-defined]
    for offset, limit in [(0, 30), (20, 13), (300, 5)]:
        q = Query(offset=offset, limit=limit)
        assert [b.id for b in deep.brief(q).hits] == ids(store.search(q)), (offset, limit)
        assert deep.brief(q).total == len(corpus)


# A recording pass-through proxy: the real requests, seen on the wire.
@dataclass
class Recorded:
    requests: list[tuple[str, str, dict[str, list[str]]]] = field(default_factory=list)


@pytest.fixture
def recording_proxy(es_url: str) -> Iterator[tuple[str, Recorded]]:
    target = urlsplit(es_url)
    seen = Recorded()

    class Forward(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            path = urlsplit(self.path)
            seen.requests.append((self.command, path.path, parse_qs(path.query)))
            conn = http.client.HTTPConnection(target.netloc, timeout=10)
            try:
                conn.request(self.command, self.path, body=body, headers=dict(self.headers))
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
            finally:
                conn.close()

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.elasticsearch
@pytest.mark.parametrize("policy", ["wait_for", "true", "false"])
def test_es_refresh_policy_is_sent_with_every_bulk(
    recording_proxy: tuple[str, Recorded], corpus: list[PostClassified], policy: RefreshPolicy
) -> None:
    # osmem makes every write searchable at once whatever the policy, so the policy is checked
    # where it matters to a real cluster: on the wire.
    url, seen = recording_proxy
    store = open_store(url, refresh=policy, **ES_OPTIONS)
    try:
        store.write([variant(corpus[i % len(corpus)], id=f"p{i}") for i in range(510)])  # two bulk requests
        store.write(corpus[:2])
        store.refresh()
    finally:
        store.close()
    bulks = [q for method, path, q in seen.requests if path == "/yuqing-posts/_bulk"]
    assert bulks == [{"refresh": [policy], "require_alias": ["true"]}] * 3
    assert ("POST", "/yuqing-posts/_refresh", {}) in seen.requests


@pytest.mark.elasticsearch
def test_es_never_auto_creates_an_index_in_place_of_the_alias(es: Backend, corpus: list[PostClassified]) -> None:
    store = es.open()
    store.write(corpus[:1])
    http_json(es.url, "DELETE", "/yuqing-posts-000001/_alias/yuqing-posts")
    with pytest.raises(StoreError, match=r"1 of 1 posts were not written.*index_not_found_exception"):
        store.write(corpus[1:2])
    with pytest.raises(urllib.error.HTTPError, match="404"):
        http_json(es.url, "GET", "/yuqing-posts")
    # a new process finds the index without its alias and says so instead of guessing
    with pytest.raises(StoreError, match="index yuqing-posts-000001 exists without the alias yuqing-posts"):
        es.open().write(corpus[1:2])


def test_es_settings_are_validated_before_connecting() -> None:
    from yuqing.errors import ConfigError
    from yuqing.store.elasticsearch import ElasticsearchStore

    with pytest.raises(ConfigError, match=r"refresh policy 'sometimes'.*key store\.refresh"):
        ElasticsearchStore("http://127.0.0.1:9", refresh="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"invalid index name 'Posts'.*key store\.index"):
        ElasticsearchStore("http://127.0.0.1:9", index="Posts")
    with pytest.raises(ConfigError, match=r"not both.*key store\.api_key"):
        ElasticsearchStore("http://127.0.0.1:9", username="u", password="p", api_key="k")


# -- SQLite only ------------------------------------------------------------------------------


def test_sqlite_rebuilds_a_full_text_table_made_before_tokenchars(tmp_path: Path, corpus: list[PostClassified]) -> None:
    url = f"sqlite:///{tmp_path}/store.db"
    post = variant(corpus[0], id="old", tokens=["pm2.5", "超标"])
    store = open_store(url)
    store.write([post])
    store.close()
    with sqlite3.connect(tmp_path / "store.db") as db:  # the table as the first release made it
        db.execute("DROP TABLE posts_fts")
        db.execute("CREATE VIRTUAL TABLE posts_fts USING fts5(terms, tokenize = 'unicode61 remove_diacritics 0')")
        db.execute("INSERT INTO posts_fts (rowid, terms) SELECT rid, 'pm2.5 超标' FROM posts")
    db.close()

    store = open_store(url)
    try:
        assert ids(store.search(Query(text="pm2.5"))) == ["old"]
        assert store.search(Query(text="pm2")).total == 0  # would match the old, split index
    finally:
        store.close()

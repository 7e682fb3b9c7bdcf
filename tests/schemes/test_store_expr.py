"""``Query.expr`` on both stores: the same posts on the demo corpus, equal to the term-level
reference (``yuqing.query.term_evaluate``), and a superset of the exact (substring) matches."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from processors.classify import Classifier
from tests.core.test_store_contract import _collected
from tests.fixtures.osmem import ES_OPTIONS
from yuqing.events import PostClassified
from yuqing.query import normalise, parse, term_evaluate
from yuqing.store import Query, Store, open_store
from yuqing.text import index_terms, query_terms
from yuqing.timeutil import TZ

DEMO = Path(__file__).resolve().parents[2] / "yuqing" / "demo" / "wenzheng.jsonl"
BACKENDS = ["sqlite", pytest.param("osmem", marks=pytest.mark.elasticsearch)]
EXPRESSIONS = [
    "拖欠 工资",
    "+工资 拖欠 欠薪 !已解决",
    "(噪音 噪声 扰民) +小区",
    "!的",
    "(学校 幼儿园) 与 (收费 乱收费) 非 退还",
    "垃圾\n\n(停水 停电) +小区",
    '"农民工 工资" 欠薪',
    "/拖欠.{0,6}工资/ +农民工",
    "!/测试/ +道路",
    "xyzzy不存在的词",
]


@pytest.fixture(scope="module")
def demo_posts() -> list[PostClassified]:
    rows = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines() if line.strip()]
    return Classifier().classify_many(_collected({"source": "demo"} | r) for r in rows)


@pytest.fixture(scope="module", params=BACKENDS)
def demo_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, demo_posts: list[PostClassified]
) -> Iterator[Store]:
    if request.param == "sqlite":
        store = open_store(f"sqlite:///{tmp_path_factory.mktemp('demo')}/store.db")
    else:
        clone = request.getfixturevalue("osmem_server").clone()
        request.addfinalizer(clone.close)
        store = open_store(clone.url, refresh="wait_for", **ES_OPTIONS)
    store.write(demo_posts)
    yield store
    store.close()


def reference(posts: list[PostClassified], source: str) -> list[PostClassified]:
    e = parse(source)
    out = []
    for p in posts:
        terms = set(index_terms(p.tokens))
        if term_evaluate(e, query_terms, terms.__contains__):
            out.append(p)
    return sorted(sorted(out, key=lambda p: p.id), key=lambda p: p.published_at, reverse=True)


@pytest.mark.parametrize("source", EXPRESSIONS)
def test_both_stores_find_the_reference_posts(demo_store: Store, demo_posts: list[PostClassified], source: str) -> None:
    expected = reference(demo_posts, source)
    result = demo_store.search(Query(expr=parse(source), limit=1000))
    assert [p.id for p in result.hits] == [p.id for p in expected]
    assert result.total == len(expected)
    days = Counter(p.published_at.astimezone(TZ).strftime("%Y-%m-%d") for p in expected)
    assert demo_store.count_per_day(Query(expr=parse(source))) == dict(sorted(days.items()))


def test_the_corpus_exercises_the_expressions(demo_posts: list[PostClassified]) -> None:
    """Not vacuous: most expressions find some posts and none finds all of them but ``!的``."""
    found = {s: len(reference(demo_posts, s)) for s in EXPRESSIONS}
    assert sum(1 for n in found.values() if n > 0) >= 7, found
    assert found["xyzzy不存在的词"] == 0
    assert 0 < found["!的"] < len(demo_posts)


@pytest.mark.parametrize("source", [s for s in EXPRESSIONS if "/" not in s and " " not in s.partition('"')[2]])
def test_store_search_is_close_to_the_exact_matches(demo_posts: list[PostClassified], source: str) -> None:
    """The store searches index terms, tagging tests substrings: a word spanning two tokens, or
    a ``!word`` found as a substring only, makes them differ. On the demo corpus they differ by
    at most 2 posts or 15% per expression (the preview says its counts are by index terms).
    Regexes ("may match" in the store) and phrases with spaces (all their terms, anywhere) are
    left out: the store cannot search them exactly."""
    e = parse(source)
    exact = {p.id for p in demo_posts if e.matches_text(normalise(f"{p.title}\n{p.content}"))}
    terms = {p.id for p in reference(demo_posts, source)}
    assert len(exact ^ terms) <= max(2, 0.15 * len(exact | terms)), (sorted(exact - terms)[:5], sorted(terms - exact)[:5])


@pytest.mark.elasticsearch
def test_an_index_made_before_schemes_takes_the_field(es_url: str, demo_posts: list[PostClassified]) -> None:
    """An index created with the version-1 mapping (no ``schemes``) accepts tagged posts: the
    store adds the field to the live mapping at start."""
    from yuqing.store.elasticsearch import MAPPINGS, ElasticsearchStore

    old = {**MAPPINGS, "properties": {k: v for k, v in MAPPINGS["properties"].items() if k != "schemes"}}
    other = open_store(es_url, index="other", **ES_OPTIONS)
    assert isinstance(other, ElasticsearchStore)
    other._es.indices.create(index="old-posts-000001", mappings=old, aliases={"old-posts": {"is_write_index": True}})
    with pytest.raises(Exception, match="schemes"):  # the old mapping refuses the field
        other._es.index(index="old-posts", id="x", document={"schemes": ["a"]})
    other.close()
    store = open_store(es_url, refresh="wait_for", index="old-posts", **ES_OPTIONS)
    tagged = demo_posts[0].model_copy(update={"schemes": ["噪音扰民"]})
    store.write([tagged])
    assert store.get(tagged.id) == tagged
    store.close()


def test_narrowing_to_a_scheme(demo_store: Store, demo_posts: list[PostClassified]) -> None:
    """``Query.scheme`` finds the posts tagged with it, on both stores, with the other filters."""
    from schemes.matcher import Matcher
    from schemes.model import Scheme

    m = Matcher([Scheme(name="噪音", include="噪音 噪声 扰民").compiled(), Scheme(name="欠薪", include="欠薪 拖欠").compiled()])
    tagged = [p.model_copy(update={"schemes": m.match_post(p)}) for p in demo_posts]
    demo_store.write(tagged)
    demo_store.refresh()
    try:
        for name in ("噪音", "欠薪"):
            expected = sorted((p for p in tagged if name in p.schemes), key=lambda p: p.id)
            expected.sort(key=lambda p: p.published_at, reverse=True)
            assert expected
            got = demo_store.search(Query(scheme=name, limit=1000))
            assert [p.id for p in got.hits] == [p.id for p in expected]
            assert sum(demo_store.count_per_day(Query(scheme=name)).values()) == len(expected)
            topic = expected[0].topic
            assert demo_store.search(Query(scheme=name, topic=topic, limit=1000)).total == sum(1 for p in expected if p.topic == topic)
        assert demo_store.search(Query(scheme="没有这个方案")).total == 0
    finally:
        demo_store.write(demo_posts)  # as the other tests found it
        demo_store.refresh()


def test_preview_gives_the_same_answer_on_both_stores(demo_store: Store, demo_posts: list[PostClassified]) -> None:
    from datetime import timedelta

    from schemes.model import Scheme
    from schemes.preview import preview

    at = max(p.published_at for p in demo_posts) + timedelta(hours=1)
    days = (at - min(p.published_at for p in demo_posts)).days + 1
    s = Scheme(name="噪音", include="噪音 噪声 扰民", exclude=["小区"], topics=["环境污染和生态破坏", "其他"])
    p = preview(demo_store, s, days=days, now=at, samples=5)
    expected = [x for x in reference(demo_posts, "(噪音 噪声 扰民) !小区") if x.topic in s.topics]
    assert p.total == len(expected) > 0 and p.window_total == len(demo_posts)
    days_expected = Counter(x.published_at.astimezone(TZ).strftime("%Y-%m-%d") for x in expected)
    assert p.per_day == dict(sorted(days_expected.items()))
    assert [x.id for x in p.samples] == [x.id for x in expected[:5]]

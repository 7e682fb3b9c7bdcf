"""The Aho-Corasick matcher gives exactly the naive loop's tags."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from schemes.matcher import Compiled, Matcher, naive_match, triggers
from tests.schemes.test_query import ALPHABET, exprs, texts
from yuqing.query import normalise, parse


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(exprs(), st.lists(st.text(alphabet=ALPHABET, min_size=1, max_size=2), max_size=2)), min_size=1, max_size=6),
    st.lists(texts, min_size=1, max_size=6),
)
def test_matcher_equals_the_naive_loop(specs: list[tuple[object, list[str]]], corpus: list[str]) -> None:
    schemes = [Compiled(f"s{i}", e, tuple(x)) for i, (e, x) in enumerate(specs)]  # type: ignore[arg-type]
    m = Matcher(schemes)
    for t in corpus:
        h = normalise(t)
        assert m.match_text(h) == naive_match(schemes, h)


def test_triggers() -> None:
    assert triggers(parse("欠薪 讨薪 +农民工 !已解决")) == {"农民工"}
    assert triggers(parse("欠薪 讨薪 !已解决")) == {"欠薪", "讨薪"}
    assert triggers(parse("(a b) +(c d)\n\ne")) in ({"a", "b", "e"}, {"c", "d", "e"})
    assert triggers(parse("!已解决")) is None  # matches almost everything: evaluated for every post
    assert triggers(parse("/欠.薪/ 讨薪")) is None
    assert triggers(parse("/欠.薪/ +讨薪")) == {"讨薪"}


def test_exclude_words_and_names() -> None:
    m = Matcher([Compiled("欠薪", parse("欠薪 讨薪"), ("测试",)), Compiled("停水", parse("停水"))])
    assert m.match("农民工欠薪", "") == ["欠薪"]
    assert m.match("欠薪测试", "停水") == ["停水"]
    assert Matcher([]).match("x") == []


def test_alert_rules_can_target_a_scheme() -> None:
    from alerts.rules.registry import build_rules
    from tests.alerts.conftest import make_post

    def one(spec: dict[str, object]):  # type: ignore[no-untyped-def]
        return build_rules([spec], "<test>")[0]

    rule = one({"name": "r", "type": "any", "match": {"scheme": "农民工欠薪"}})
    assert rule.matches(make_post(content="多次讨薪").model_copy(update={"schemes": ["农民工欠薪", "其它"]}))
    assert not rule.matches(make_post(content="多次讨薪"))  # not tagged
    assert not rule.matches(make_post(content="多次讨薪").model_copy(update={"schemes": ["噪音扰民"]}))
    both = one({"name": "r", "type": "any", "match": {"scheme": ["甲", "乙"]}})
    assert both.matches(make_post(content="x").model_copy(update={"schemes": ["乙"]}))

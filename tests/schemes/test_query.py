"""Scheme expressions: round trip, evaluation against a set-algebra reference, legacy syntax, errors."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import yuqing.query as q
from alerts import keywords as legacy
from yuqing.query import Expr, Group, Item, QuerySyntaxError, Regex, Word, normalise, parse, to_text

ALPHABET = "欠薪讨农民工已解决水电路abc1"
word_text = st.text(alphabet=ALPHABET, min_size=1, max_size=3)
phrase_text = st.text(alphabet=ALPHABET + " ，()|非", min_size=1, max_size=4).filter(lambda s: s.strip() != "")
REGEXES = ["欠.{0,3}薪", "^农", "[ab]c", "水|电", "a/b", r"\d+", "路$"]
modes = st.sampled_from(["any", "must", "not"])


def atoms(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Word | Regex | Expr]:
    return st.one_of(
        word_text.map(Word),
        phrase_text.map(lambda t: Word(normalise(t))),
        st.sampled_from(REGEXES).map(Regex),
        children,
    )


def exprs(depth: int = 2) -> st.SearchStrategy[Expr]:
    child: st.SearchStrategy[Expr] = st.nothing() if depth == 0 else exprs(depth - 1).filter(lambda e: not e.empty)
    item = st.builds(Item, modes, atoms(child))
    group = st.lists(item, min_size=1, max_size=4).map(lambda xs: Group(tuple(xs)))
    return st.lists(group, min_size=0 if depth == 2 else 1, max_size=3).map(lambda gs: Expr(tuple(gs)))


texts = st.text(alphabet=ALPHABET + "ab/ 3", max_size=12)


def reference(e: Expr, corpus: list[str]) -> set[int]:
    """The same semantics as set algebra over a corpus: union of groups; a group is the
    intersection of its musts and of the union of its optionals, minus the union of its nots."""
    everything = set(range(len(corpus)))
    if not e.groups:
        return everything
    out: set[int] = set()
    for g in e.groups:
        sets = {"any": [], "must": [], "not": []}  # type: dict[str, list[set[int]]]
        for it in g.items:
            a = it.atom
            if isinstance(a, Word):
                s = {i for i, t in enumerate(corpus) if a.text in t}
            elif isinstance(a, Regex):
                import re

                s = {i for i, t in enumerate(corpus) if re.search(a.source, t, re.IGNORECASE)}
            else:
                s = reference(a, corpus)
            sets[it.mode].append(s)
        got = set(everything)
        for s in sets["must"]:
            got &= s
        if sets["any"]:
            got &= set().union(*sets["any"])
        for s in sets["not"]:
            got -= s
        out |= got
    return out


@settings(max_examples=300, deadline=None)
@given(exprs())
def test_print_then_parse_gives_the_same_expression(e: Expr) -> None:
    assert parse(to_text(e)) == e


@settings(max_examples=200, deadline=None)
@given(exprs(), st.lists(texts, min_size=1, max_size=8))
def test_evaluation_equals_the_set_algebra_reference(e: Expr, corpus: list[str]) -> None:
    corpus = [normalise(t) for t in corpus]
    assert {i for i, t in enumerate(corpus) if e.matches_text(t)} == reference(e, corpus)


legacy_term = st.builds(
    lambda m, w: m + w, st.sampled_from(["", "+", "!"]), st.one_of(word_text, st.sampled_from(['"水 电"', "/欠.薪/", "/a\\/b/"]))
)
legacy_expr = st.lists(st.lists(legacy_term, min_size=1, max_size=4).map(lambda ts: " ".join(ts)), min_size=0, max_size=3).map(
    lambda gs: "\n\n".join(gs)
)


@settings(max_examples=200, deadline=None)
@given(legacy_expr, st.lists(texts, min_size=1, max_size=6))
def test_alert_keyword_expressions_mean_the_same(source: str, corpus: list[str]) -> None:
    old, new = legacy.parse(source), parse(source)
    for t in corpus:
        assert new.matches(t) == old.matches(t), (source, t)


def test_parentheses_and_chinese_operators() -> None:
    e = parse("(欠薪 或 讨薪) 与 农民工 非 已解决")
    assert e.matches("农民工被欠薪") and e.matches("农民工讨薪")
    assert not e.matches("农民工欠薪已解决") and not e.matches("欠薪")
    assert parse("（欠薪　讨薪）＋农民工") == parse("(欠薪 讨薪) +农民工")  # full-width works
    assert parse('"非"').matches("是非")
    assert parse("(a\n\nb) +c").matches("bc") and not parse("(a\n\nb) +c").matches("b")


@pytest.mark.parametrize(
    ("source", "line", "column", "says"),
    [
        ("欠薪 (讨薪 农民工", 1, 4, "no closing ')'"),
        ("欠薪 讨薪)", 1, 6, "without a matching '('"),
        ("欠薪\n  + 讨薪", 2, 3, "must be followed"),
        ("欠薪 与", 1, 4, "must be followed"),
        ("a +!b", 1, 4, "another operator"),
        ("a ()", 1, 3, "empty parentheses"),
        ('a "bc', 1, 3, "no closing '\"'"),
        ("ab\n\n  /x.*", 3, 3, "no closing '/'"),
        ("/[/", 1, 1, "invalid regular expression"),
        ("x /(a+)+$/", 1, 3, "exponential"),
        ("x /(.*,){20}y/", 1, 3, "exponential"),
        ("/" + "a" * 201 + "/", 1, 1, "at most 200"),
        ('x ""', 1, 3, "empty phrase"),
    ],
)
def test_errors_point_at_the_column(source: str, line: int, column: int, says: str) -> None:
    with pytest.raises(QuerySyntaxError) as err:
        parse(source)
    assert (err.value.line, err.value.column) == (line, column), str(err.value)
    assert says in str(err.value)
    assert str(err.value).startswith(f"line {line}, column {column}: ")


def test_a_slow_regex_times_out_instead_of_hanging() -> None:
    e = parse("/(a|aa)*$/")  # no nested quantifier, but exponential in backtracking engines
    before = q.regex_timeouts
    t0 = time.perf_counter()
    assert not e.matches("a" * 5000 + "!")
    assert time.perf_counter() - t0 < 2
    assert q.regex_timeouts == before + 1

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.keywords import KeywordSyntaxError, parse


def m(expr: str, title: str, content: str = "") -> bool:
    return parse(expr).matches(title, content)


def test_plain_words_are_or() -> None:
    assert m("欠薪 讨薪", "农民工讨薪无果")
    assert m("欠薪 讨薪", "", "公司欠薪半年")
    assert not m("欠薪 讨薪", "道路积水")


def test_plus_is_must_and_bang_is_must_not() -> None:
    expr = "欠薪 讨薪 +农民工 !已解决"
    assert m(expr, "农民工讨薪")
    assert not m(expr, "员工讨薪")  # +农民工 missing
    assert not m(expr, "农民工讨薪，已解决")  # !已解决 present
    assert not m(expr, "农民工进城")  # no optional word


def test_blank_line_separates_or_groups() -> None:
    expr = "+工资 +拖欠\n\n  \n+跳楼"
    assert m(expr, "拖欠工资")
    assert m(expr, "有人要跳楼")
    assert not m(expr, "工资发放")
    # a single line break is only white space: one group
    assert not m("+工资\n+跳楼", "工资")


def test_regex_terms() -> None:
    assert m("/拖欠.{0,4}工资/", "拖欠三个月工资")
    assert not m("/拖欠.{0,4}工资/", "拖欠了整整十二个月的工资")
    assert not m("讨薪 !/演[练习]/", "讨薪演练")
    assert m("+/\\d{3,}人/ 聚集", "约200人聚集")
    assert m(r"/a\/b/", "path a/b")


def test_phrases_separators_and_full_width() -> None:
    assert m('"hello world"', "say Hello World")
    assert not m('"hello world"', "hello, world")
    assert m("欠薪，讨薪、拖欠|工钱", "还我工钱")
    assert m("＋工资　！测试", "工资发放")  # full-width operators and space
    assert m("ABC", "ａｂｃ公司")  # NFKC + case-insensitive


def test_matches_across_title_and_content_not_tokens() -> None:
    # 工资拖欠 tokenises as one word; a substring search still finds 拖欠.
    assert m("+拖欠 +工资", "工资拖欠", "")
    assert m("+标题 +正文", "标题", "正文")


def test_only_negative_group_matches_everything_else() -> None:
    assert m("!测试", "正常帖子")
    assert not m("!测试", "测试帖子")


def test_blank_expression_matches_everything() -> None:
    assert m("  \n ", "任何")


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("工资 /拖欠(/", r"group 1, term 2: invalid regular expression /拖欠\(/"),
        ("工资\n\n+ 拖欠", r"group 2, term 1: '\+' must be followed"),
        ("/abc", r"group 1, term 1: regular expression /abc has no closing '/'"),
        ('"abc', r"group 1, term 1: phrase '\"abc' has no closing"),
        ("a //", r"group 1, term 2: empty regular expression"),
    ],
)
def test_syntax_errors_name_group_and_term(expr: str, message: str) -> None:
    with pytest.raises(KeywordSyntaxError, match=message):
        parse(expr)


WORD = st.text(alphabet="工资拖欠讨薪农民学校污染ab", min_size=1, max_size=3)
TEXT = st.text(alphabet="工资拖欠讨薪农民学校污染ab ", max_size=30)


@given(st.lists(WORD, min_size=1, max_size=5), TEXT)
def test_plain_group_is_any_of_its_words(words: list[str], text: str) -> None:
    assert parse(" ".join(words)).matches(text) == any(w in text for w in words)


@given(st.lists(WORD, min_size=1, max_size=3), st.lists(WORD, max_size=3), st.lists(WORD, max_size=3), TEXT)
def test_group_semantics(optional: list[str], must: list[str], never: list[str], text: str) -> None:
    expr = " ".join([*optional, *("+" + w for w in must), *("!" + w for w in never)])
    want = any(w in text for w in optional) and all(w in text for w in must) and not any(w in text for w in never)
    assert parse(expr).matches(text) == want


@given(st.lists(st.lists(WORD, min_size=1, max_size=3), min_size=1, max_size=4), TEXT)
def test_groups_are_ored(groups: list[list[str]], text: str) -> None:
    expr = "\n\n".join("+" + " +".join(g) for g in groups)
    assert parse(expr).matches(text) == any(all(w in text for w in g) for g in groups)

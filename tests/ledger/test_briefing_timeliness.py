"""The briefing's 回复时效 section, on the briefing tests' world: three cases of 县人力资源和社会保障局
through the real service, answered the day they were assigned, and board and hotline posts
without replies or a named unit."""

from __future__ import annotations

from briefings.build import Output
from tests.ledger.test_briefing import doc_tables, doc_text, made, world  # noqa: F401  (fixtures)


def test_section_with_the_units_figures(made: Output) -> None:  # noqa: F811
    r = made.briefing.timeliness
    assert r is not None
    units = {f.key: f for f in r.units}
    rs = units["县人力资源和社会保障局"]
    assert (rs.received, rs.replied) == (3, 3)
    text = doc_text(made.docx)
    assert "、回复时效" in text
    # 10 board and hotline posts in the period, none answered and no unit named, and 3 cases
    assert "本期收到需回复的留言和交办案件13条，已回复3条，回复率23.1%" in text
    assert "另有10条未回复留言的来源未注明承办单位" in text
    tables = doc_tables(made.docx)
    assert tables["各单位回复时效"][1][:4] == ["县人力资源和社会保障局", "3", "3", "100.0%"]

"""A ``Briefing`` as a Word document (python-docx), laid out as county 简报 are: a red masthead
with the issue, the compiling office and date over a red rule, then numbered sections
(一、二、…) with captioned tables (表1…) and charts (图1…), page numbers in the footer."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from briefings import policy_section, timeliness_section
from briefings.charts import Chart
from briefings.effect import write_section as write_effect
from briefings.model import SEVERITY_ORDER, Briefing, Change, pct, share, zh_date

RED = RGBColor(0xC0, 0x00, 0x00)
BLACK = RGBColor(0, 0, 0)
NO_DATA = "本期无数据：统计时段内未监测到舆情信息。"
NUMERALS = "一二三四五六七八九十"
PAGE_WIDTH, PAGE_HEIGHT, SIDE_MARGIN = Cm(21), Cm(29.7), Cm(2.4)  # A4


def _set_font(element: Any, font: Any, family: str) -> None:
    """Latin and East Asian font alike; the default template's theme fonts would otherwise win."""
    font.name = family
    rfonts = element.get_or_add_rPr().get_or_add_rFonts()
    rfonts.set(qn("w:eastAsia"), family)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)


class _Writer:
    def __init__(self, font: str, body_font: str) -> None:
        self.doc = Document()
        self.font, self.body_font = font, body_font
        self.tables = 0
        self.figures = 0
        self.sections = 0
        self._styles()

    # -- layout ---------------------------------------------------------------------------
    def _styles(self) -> None:
        sec = self.doc.sections[0]
        sec.orientation = WD_ORIENT.PORTRAIT
        sec.page_width, sec.page_height = PAGE_WIDTH, PAGE_HEIGHT
        sec.top_margin, sec.bottom_margin = Cm(2.5), Cm(2.3)
        sec.left_margin = sec.right_margin = SIDE_MARGIN
        self._chinese()
        normal = self.doc.styles["Normal"]
        _set_font(normal.element, normal.font, self.body_font)
        normal.font.size = Pt(12)
        pf = normal.paragraph_format
        pf.line_spacing = 1.4
        pf.space_after = Pt(4)
        h1 = self.doc.styles["Heading 1"]
        _set_font(h1.element, h1.font, self.font)
        h1.font.size, h1.font.bold, h1.font.color.rgb = Pt(15), True, BLACK
        h1.paragraph_format.space_before, h1.paragraph_format.space_after = Pt(12), Pt(6)
        cap = self.doc.styles["Caption"]
        _set_font(cap.element, cap.font, self.font)
        cap.font.size, cap.font.bold, cap.font.italic, cap.font.color.rgb = Pt(10.5), True, False, BLACK
        self._page_numbers()

    def _chinese(self) -> None:
        """Mark the text as Simplified Chinese: renderers pick the CJK face by language, and the
        default template says Japanese (LibreOffice then draws Noto's JP glyph forms)."""
        styles = self.doc.styles.element
        rpr = styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
        lang = rpr.find(qn("w:lang"))
        if lang is None:
            lang = OxmlElement("w:lang")
            rpr.append(lang)
        lang.set(qn("w:val"), "zh-CN")
        lang.set(qn("w:eastAsia"), "zh-CN")
        theme_lang = self.doc.settings.element.find(qn("w:themeFontLang"))
        if theme_lang is not None:
            theme_lang.set(qn("w:val"), "zh-CN")
            theme_lang.set(qn("w:eastAsia"), "zh-CN")

    def _page_numbers(self) -> None:
        p = self.doc.sections[0].footer.paragraphs[0]
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        self._run(p, "— ")
        run = self._run(p, "")
        for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
            if kind:
                el = OxmlElement("w:fldChar")
                el.set(qn("w:fldCharType"), kind)
            else:
                el = OxmlElement("w:instrText")
                el.set(qn("xml:space"), "preserve")
                el.text = text
            run._r.append(el)
        self._run(p, " —")

    def _run(self, p: Any, text: str, *, font: str | None = None, size: float | None = None, bold: bool = False, color: Any = None) -> Any:
        run = p.add_run(text)
        if font:
            _set_font(run._r, run.font, font)
        if size:
            run.font.size = Pt(size)
        run.font.bold = bold or None
        if color is not None:
            run.font.color.rgb = color
        return run

    @property
    def text_width(self) -> int:
        return int(PAGE_WIDTH - 2 * SIDE_MARGIN)

    # -- blocks ---------------------------------------------------------------------------
    def masthead(self, b: Briefing) -> None:
        p = self.doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.paragraph_format.space_before = Pt(6)
        self._run(p, b.title, font=self.font, size=24, bold=True, color=RED)
        p = self.doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        self._run(p, f"（{b.issue_year}年第{b.issue_no}期）", font=self.font, size=14)
        p = self.doc.add_paragraph()
        p.paragraph_format.tab_stops.add_tab_stop(self.text_width, WD_TAB_ALIGNMENT.RIGHT)
        self._run(p, f"编制单位：{b.organization}\t编制日期：{zh_date(b.made_at.date())}", font=self.font, size=11)
        self._rule(p)
        p = self.doc.add_paragraph()
        self._run(p, f"统计时段：{b.period.label()}", font=self.font, size=11)

    def _rule(self, p: Any) -> None:
        """A red line under the paragraph (the masthead's 红色分隔线)."""
        bdr = OxmlElement("w:pBdr")
        bottom = OxmlElement("w:bottom")
        for k, v in (("w:val", "single"), ("w:sz", "18"), ("w:space", "4"), ("w:color", "C00000")):
            bottom.set(qn(k), v)
        bdr.append(bottom)
        # Word insists on the schema's element order inside w:pPr: the border goes before these.
        p._p.get_or_add_pPr().insert_element_before(bdr, "w:shd", "w:tabs", "w:spacing", "w:ind", "w:jc", "w:outlineLvl", "w:rPr")

    def heading(self, text: str) -> None:
        self.doc.add_heading(f"{NUMERALS[self.sections]}、{text}", level=1)
        self.sections += 1

    def para(self, text: str) -> None:
        p = self.doc.add_paragraph(text)
        p.paragraph_format.first_line_indent = Pt(24)  # two characters, as Chinese prose is indented

    def caption(self, text: str, *, above: bool = True) -> None:
        p = self.doc.add_paragraph(text, style="Caption")
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.paragraph_format.keep_with_next = above  # a table's caption stays with the table

    def table(self, title: str, header: Sequence[str], rows: Sequence[Sequence[object]], weights: Sequence[float]) -> None:
        """A captioned grid; ``weights`` share the text width between the columns. Numbers are
        centred, text is left-aligned; small tables are kept on one page with their caption."""
        self.tables += 1
        self.caption(f"表{self.tables} {title}")
        t = self.doc.add_table(rows=1, cols=len(header))
        t.style = self.doc.styles["Table Grid"]
        t.alignment = WD_TABLE_ALIGNMENT.CENTER
        t.autofit = False
        for cell, text in zip(t.rows[0].cells, header, strict=True):
            self._cell(cell, text, bold=True, center=True)
            shd = OxmlElement("w:shd")
            for k, v in (("w:val", "clear"), ("w:color", "auto"), ("w:fill", "E7E6E6")):
                shd.set(qn(k), v)
            cell._tc.get_or_add_tcPr().append(shd)
        t.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))  # repeat the header on every page
        for row in rows:
            tr = t.add_row()
            tr._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
            for cell, value in zip(tr.cells, row, strict=True):
                self._cell(cell, str(value), center=not isinstance(value, str) or _numeric(value))
        unit = self.text_width / sum(weights)
        for i, wgt in enumerate(weights):
            width = int(unit * wgt)
            t.columns[i].width = width
            for cell in t.columns[i].cells:
                cell.width = width
        if len(rows) <= 12:
            for tr in t.rows[:-1]:
                for cell in tr.cells:
                    for p in cell.paragraphs:
                        p.paragraph_format.keep_with_next = True
        self.doc.add_paragraph()

    def _cell(self, cell: Any, text: str, *, bold: bool = False, center: bool = False) -> None:
        p = cell.paragraphs[0]
        p.paragraph_format.first_line_indent = None
        p.paragraph_format.space_after = Pt(0)
        p.paragraph_format.line_spacing = 1.15
        if center:
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        self._run(p, text, font=self.font, size=9.5, bold=bold)

    def chart(self, chart: Chart) -> None:
        self.figures += 1
        p = self.doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.paragraph_format.keep_with_next = True
        p.add_run().add_picture(io.BytesIO(chart.png), width=Cm(15.5))
        self.caption(f"图{self.figures} {chart.title}", above=False)

    def save(self, path: Path, b: Briefing) -> None:
        props = self.doc.core_properties
        props.title = b.heading
        props.subject = "风险研判简报"
        props.author = b.organization
        props.created = b.made_at
        self.doc.save(str(path))


_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?%?|—|新增|持平|[+-]?\d+(\.\d+)?个百分点|\d{4}-\d{2}-\d{2}|重大|高|中|低")


def _numeric(text: str) -> bool:
    """Cells centred like numbers: counts, shares, 环比 words, dates, risk levels."""
    return bool(_NUMBER.fullmatch(text))


def _trend_delta(cur: float | None, prev: float | None) -> str:
    if cur is None or prev is None:
        return "—"
    d = (cur - prev) * 100
    return "持平" if abs(d) < 0.05 else f"{d:+.1f}个百分点"


def render(b: Briefing, charts: tuple[Chart, Chart] | None, path: Path, *, font: str, body_font: str) -> Path:
    w = _Writer(font, body_font)
    w.masthead(b)
    _overview(w, b)
    _topics(w, b, charts[0] if charts else None)
    _trend(w, b, charts[1] if charts else None)
    _risks(w, b)
    _alerts(w, b)
    _ledger(w, b)
    write_effect(w, b.effects)
    timeliness_section.write(w, b)
    policy_section.write(w, b)
    _advice(w, b)
    w.save(path, b)
    return path


def _overview(w: _Writer, b: Briefing) -> None:
    w.heading("总体态势")
    if b.empty:
        prev = f"上期监测到{b.total.previous}条。" if b.total.previous else ""
        w.para(NO_DATA + prev)
        return
    cur_share, prev_share = b.negative_share, b.previous_negative_share
    prev_text = f"（上期{pct(prev_share)}）" if prev_share is not None else ""
    top = "、".join(f"{s.name}{s.count}条（{pct(share(s.count, b.total.current))}）" for s in b.sources[:3])
    w.para(
        f"本期共监测到涉及我县的网络舆情信息{b.total.current}条，{b.total.phrase()}；"
        f"其中负面信息{b.negative.current}条，占{pct(cur_share)}{prev_text}。"
        f"从信息来源看，{top}{'等' if len(b.sources) > 3 else ''}。"
    )
    w.table(
        "总体态势",
        ["指标", "本期", "上期", "环比"],
        [
            ["帖文总量（条）", b.total.current, b.total.previous, b.total.label()],
            ["负面帖文（条）", b.negative.current, b.negative.previous, b.negative.label()],
            ["负面占比", pct(cur_share), pct(prev_share), _trend_delta(cur_share, prev_share)],
        ],
        [4.5, 3.5, 3.5, 4],
    )
    w.table(
        "信息来源分布",
        ["来源", "帖文数（条）", "占比"],
        [[s.name, s.count, pct(share(s.count, b.total.current))] for s in b.sources],
        [7.5, 4, 4],
    )


def _topics(w: _Writer, b: Briefing, chart: Chart | None) -> None:
    w.heading("重点领域")
    if b.empty:
        w.para(NO_DATA)
        return
    focus = sorted((t for t in b.topics if t.topic != "其他" and t.posts.current), key=lambda t: -t.posts.current)
    if focus:
        lead = "、".join(f"{t.topic}（{t.posts.current}条）" for t in focus[:3])
        rising = [t for t in focus if (t.negative.ratio or 0) > 0]
        rise = ""
        if rising:
            r = max(rising, key=lambda t: t.negative.ratio or 0)
            rise = f"负面帖文增幅最大的是{r.topic}领域，{r.negative.phrase()}。"
        w.para(f"本期涉及七个重点领域的信息共{sum(t.posts.current for t in focus)}条，帖文较多的领域依次为{lead}。{rise}")
    else:
        w.para("本期未监测到七个重点领域的相关信息。")
    rows: list[list[object]] = [
        [t.topic, t.posts.current, t.posts.previous, t.posts.label(), t.negative.current, t.negative.previous, t.negative.label()]
        for t in b.topics
    ]
    total_neg = Change(sum(t.negative.current for t in b.topics), sum(t.negative.previous for t in b.topics))
    rows.append(["合计", b.total.current, b.total.previous, b.total.label(), total_neg.current, total_neg.previous, total_neg.label()])
    w.table(
        "重点领域舆情统计",
        ["领域", "本期", "上期", "环比", "负面（本期）", "负面（上期）", "负面环比"],
        rows,
        [3.6, 1.4, 1.4, 1.9, 2.5, 2.5, 2.1],
    )
    if chart:
        w.chart(chart)


def _trend(w: _Writer, b: Briefing, chart: Chart | None) -> None:
    w.heading("趋势")
    if b.empty:
        w.para(NO_DATA)
        return
    peak = max(b.days, key=lambda d: d.total)
    avg = b.total.current / len(b.days)
    w.para(
        f"统计时段内日均监测到信息{avg:.1f}条，峰值出现在{peak.day.month}月{peak.day.day}日（{peak.total}条，其中负面{peak.negative}条）。"
    )
    if chart:
        w.chart(chart)


def _risks(w: _Writer, b: Briefing) -> None:
    w.heading("风险研判")
    if b.empty:
        w.para(NO_DATA)
        return
    n = sum(b.event_levels.values())
    if not n:
        w.para("本期未发现中风险及以上事件。")
    else:
        levels = "、".join(f"{lvl}风险{c}个" for lvl, c in b.event_levels.items() if c)
        w.para(f"本期共识别出中风险及以上舆情事件{n}个（{levels}），按风险分值排序的重点事件如下。")
        w.table(
            "重点风险事件",
            ["序号", "事件编号", "标题", "等级", "研判依据", "帖文数", "地区"],
            [
                [i, e.event_id, e.title, e.risk_level, "\n".join(e.reasons), e.posts, (e.region or "—").replace("/", "")]
                for i, e in enumerate(b.events, start=1)
            ],
            [1.2, 2.3, 4.0, 1.1, 4.6, 1.4, 2.1],
        )
    if b.regions:
        top = "、".join(f"{r.region}（{r.negative}条）" for r in b.regions[:3])
        w.para(f"从地域分布看，负面信息较为集中的是{top}。")
        w.table(
            "负面舆情集中地区",
            ["地区", "负面帖文（条）", "占负面总数"],
            [[r.region, r.negative, pct(share(r.negative, b.negative.current))] for r in b.regions],
            [7.5, 4, 4],
        )


def _alerts(w: _Writer, b: Briefing) -> None:
    w.heading("预警情况")
    a = b.alerts
    if not a.available or a.total == 0:
        w.para("本期无预警。")
        return
    levels = "、".join(f"{lvl}{a.by_level.get(lvl, 0)}条" for lvl in SEVERITY_ORDER if a.by_level.get(lvl))
    w.para(f"本期共触发预警{a.total}条，其中{levels}；截至简报编制时，仍有{a.still_open}条预警未解除。")
    w.table("预警级别分布", ["预警级别", "数量（条）"], [[lvl, a.by_level.get(lvl, 0)] for lvl in SEVERITY_ORDER], [7.5, 4])
    w.table("预警规则分布", ["预警规则", "数量（条）", "最高级别"], [[r.rule, r.count, r.highest] for r in a.by_rule], [7.5, 4, 4])


def _ledger(w: _Writer, b: Briefing) -> None:
    w.heading("回应台账")
    lg = b.ledger
    if not lg.available or lg.at is None:
        w.para("回应台账尚未启用，本期无台账数据。")
        return
    at = f"{zh_date(lg.at.date())}{lg.at:%H:%M}"
    w.para(
        f"本期新立案{lg.opened}件，办结{lg.closed}件；承诺事项落实{lg.fulfilled}项、公开{lg.disclosed}项。"
        f"截至{at}，超期未回复案件{lg.overdue_cases}件，超期未落实承诺{lg.overdue_commitments}项。"
    )
    w.table(
        "回应台账情况",
        ["指标", "数量"],
        [
            ["本期新立案（件）", lg.opened],
            ["本期办结（件）", lg.closed],
            ["超期未回复案件（件）", lg.overdue_cases],
            ["超期未落实承诺（项）", lg.overdue_commitments],
            ["本期落实承诺（项）", lg.fulfilled],
            ["本期公开承诺（项）", lg.disclosed],
        ],
        [9, 4],
    )
    if lg.overdue_items:
        more = (
            f"（共{lg.overdue_commitments}项，列出承诺时限最早的{len(lg.overdue_items)}项）"
            if lg.overdue_commitments > len(lg.overdue_items)
            else ""
        )
        w.table(
            f"超期未落实承诺事项{more}",
            ["案件编号", "案件标题", "承诺内容", "责任单位", "承诺时限"],
            [[i.case_number, i.case_title, i.content, i.unit, f"{i.due_at:%Y-%m-%d}"] for i in lg.overdue_items],
            [2.6, 3.8, 4.6, 2.8, 2.4],
        )


def _advice(w: _Writer, b: Briefing) -> None:
    w.heading("研判建议")
    for i, r in enumerate(b.recommendations, start=1):
        w.para(f"{i}. {r.text}")

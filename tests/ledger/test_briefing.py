"""风险研判简报: figures from a store filled with known posts, the real alert engine and the real
ledger service; the Word file read back with python-docx; PDF through real LibreOffice (slow)."""

from __future__ import annotations

import re
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from docx import Document
from docx.table import Table
from docx.text.paragraph import Paragraph

from alerts.config import AlertsConfig
from app.settings import DatabaseConfig, Settings, StoreConfig, load_settings
from briefings.build import Output, make_briefing, parse_period, produce, write_pdf, write_word
from briefings.charts import charts, resolve_font
from briefings.model import Briefing, BriefingError, Change, Period
from briefings.pdf import to_pdf
from briefings.schedule import JOB_ID, run_scheduled, schedule
from ledger.briefing_config import BriefingConfig
from ledger.config import LedgerConfig
from ledger.db import Database
from ledger.schemas import CaseAction, CommitmentAction, NewCase, NewCommitment
from ledger.service import LedgerService
from ledger.states import SYSTEM, Role
from yuqing.errors import ConfigError
from yuqing.events import PostClassified, Risk, Source
from yuqing.store.sqlite import SqliteStore
from yuqing.timeutil import TZ

SINCE = datetime(2026, 11, 16, tzinfo=TZ)  # Monday of ISO week 47
UNTIL = datetime(2026, 11, 23, tzinfo=TZ)
PERIOD = Period(SINCE, UNTIL)
MADE_AT = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
HOTLINE = Source(id="hotline-12345", kind="hotline", name="12345 热线")
JIANGXI = Source(id="wenzheng-jiangxi", kind="board", name="问政江西")
WAGE_TITLE = "泉塘社区工地拖欠农民工工资"
ENV_TITLE = "马当镇化工厂偷排废水致鱼塘死鱼"


def day(d: int, h: int = 10, m: int = 0) -> datetime:
    return datetime(2026, 11, d, h, m, tzinfo=TZ)


_n = iter(range(1, 10_000))


def post(
    at: datetime,
    topic: str,
    sentiment: str,
    *,
    event: str,
    level: str = "低",
    score: int = 10,
    region: str | None = None,
    source: Source = HOTLINE,
    title: str | None = None,
    reasons: tuple[str, ...] = (),
) -> PostClassified:
    n = next(_n)
    return PostClassified(
        id=f"{source.id}:{n}",
        title=title or f"{topic}帖文{n}",
        content=f"{topic}相关的群众留言，编号{n}。",
        url=f"https://wz.example.cn/{n}",
        published_at=at,
        collected_at=at,
        classified_at=at,
        source=source,
        topic=topic,  # type: ignore[arg-type]
        sentiment=sentiment,  # type: ignore[arg-type]
        risk=Risk(score=score, level=level, reasons=list(reasons)),  # type: ignore[arg-type]
        event_id=event,
        region=region,
    )


def known_posts() -> tuple[list[PostClassified], list[PostClassified], PostClassified]:
    """(this period, the period before, one post exactly at the end: in neither)."""

    def wage(at: datetime) -> PostClassified:
        return post(at, "工资拖欠", "negative", event="ev-wage", level="高", score=60, region="彭泽县/龙城镇/泉塘社区")

    current = [
        wage(SINCE),  # exactly at the start: included
        post(
            day(17, 9),
            "工资拖欠",
            "negative",
            event="ev-wage",
            level="高",
            score=65,
            region="彭泽县/龙城镇/泉塘社区",
            title=WAGE_TITLE,
            reasons=("重点领域「工资拖欠」 +20", "负面且含「聚集」（群体） +25"),
        ),
        wage(day(17, 15)),
        post(day(18), "工资拖欠", "negative", event="ev-wage", level="高", score=55, region="彭泽县/龙城镇"),
        post(
            day(19),
            "环境污染和生态破坏",
            "negative",
            event="ev-env",
            level="重大",
            score=80,
            region="彭泽县/马当镇",
            source=JIANGXI,
            title=ENV_TITLE,
            reasons=("重点领域「环境污染和生态破坏」 +15", "负面且含「中毒」（伤亡） +25"),
        ),
        post(day(20, 8), "环境污染和生态破坏", "negative", event="ev-env", level="中", score=30, region="彭泽县/马当镇", source=JIANGXI),
        post(day(21), "环境污染和生态破坏", "neutral", event="ev-env2", source=JIANGXI),
        post(day(20, 16), "房地产金融", "neutral", event="ev-house", level="中", score=35, source=JIANGXI, title="某小区逾期交房"),
        post(day(22, 23, 59), "房地产金融", "neutral", event="ev-house", level="中", score=30, source=JIANGXI),
        post(day(21, 12), "其他", "neutral", event="ev-misc"),
    ]
    previous = [
        post(day(10), "工资拖欠", "negative", event="ev-wage-old", level="高", score=50, region="彭泽县/龙城镇"),
        *(
            post(day(d), "环境污染和生态破坏", s, event="ev-env-old", level="中", score=30, region="彭泽县/马当镇", source=JIANGXI)
            for d, s in ((11, "negative"), (12, "negative"), (13, "neutral"), (14, "neutral"))
        ),
        post(day(15, 23), "安全生产", "neutral", event="ev-safety"),
    ]
    at_end = post(UNTIL, "安全生产", "negative", event="ev-late", level="高", score=70)
    return current, previous, at_end


RULES = """
rules:
  - name: 工资拖欠投诉
    type: any
    match: {topic: 工资拖欠}
    group_wait: 0s
  - name: 重大风险事件
    type: new_event
    risk_level: 重大
    group_wait: 0s
"""


@dataclass
class World:
    settings: Settings
    store: SqliteStore
    overdue_case_number: str


class Clock:
    def __init__(self) -> None:
        self.now = SINCE

    def __call__(self) -> datetime:
        return self.now


def _fire_alerts(settings: Settings, posts: list[PostClassified]) -> None:
    """The real alert engine over the posts, in time order, its clock at each post's time."""
    from alerts.rules.registry import load_rules
    from alerts.service import build_service

    clock = Clock()
    svc = build_service(settings, clock=clock, rules=load_rules(settings.alerts.rules))
    try:
        for p in sorted(posts, key=lambda p: p.published_at):
            clock.now = p.published_at
            svc.engine.handle([p])
        env_alert = next(a for a in svc.store.find(limit=100) if a.rule == "重大风险事件")
        svc.store.resolve(env_alert.id, "jiance", "已核实处置", now=day(21))
    finally:
        svc.close()


def _fill_ledger(url: str) -> str:
    """Cases through the real service, each step at a chosen time. Returns the overdue case's number."""
    db = Database(url)
    db.migrate()
    clock = Clock()
    svc = LedgerService(db, LedgerConfig(), clock=clock)
    try:
        unit_id = svc.create_unit(SYSTEM, "县人力资源和社会保障局").id
        svc.create_user(SYSTEM, "jiance", "briefing-lamp-42", Role.MONITOR)
        svc.create_user(SYSTEM, "renshe", "briefing-lamp-42", Role.UNIT, unit_id=unit_id)
        mon, unit = svc.authenticate("jiance", "briefing-lamp-42"), svc.authenticate("renshe", "briefing-lamp-42")
        assert mon is not None and unit is not None

        def new(title: str, case_type: str = "投诉") -> Any:
            return svc.create_case(mon, NewCase(title=title, source="12345", case_type=case_type, topic="工资拖欠", unit_id=unit_id))

        def committed(title: str, due_at: datetime | None = None) -> Any:
            c = new(title)
            c = svc.act(unit, c.id, CaseAction(action="accept", version=c.version))
            svc.add_commitment(
                unit,
                c.id,
                NewCommitment(version=c.version, content=f"{title}：限期结清工资", due_at=due_at, due_workdays=None if due_at else 10),
            )
            c = svc.get_case(mon, c.id)
            c = svc.act(unit, c.id, CaseAction(action="respond", version=c.version, response="已约谈用工单位"))
            return svc.act(unit, c.id, CaseAction(action="track", version=c.version))

        clock.now = day(10)  # the week before: not opened in the period; reply due 11-13, never given
        overdue_reply = new("咨询工资发放时间", case_type="咨询")
        clock.now = day(17)
        committed("泉塘社区工地欠薪", due_at=day(19, 18))  # its commitment is overdue by the end of the period
        clock.now = day(17, 11)
        done = committed("龙城镇某厂欠薪")
        m = done.commitments[0]
        clock.now = day(18)
        m = svc.act_on_commitment(unit, m.id, CommitmentAction(action="fulfil", version=m.version, fulfilment="工资已结清"))
        clock.now = day(19)
        svc.act_on_commitment(mon, m.id, CommitmentAction(action="disclose", version=m.version, disclosure_channel="县政府网站"))
        clock.now = day(20)
        done = svc.get_case(mon, done.id)
        svc.act(mon, done.id, CaseAction(action="close", version=done.version))
        clock.now = day(18, 15)
        late = committed("马当镇某厂欠薪")
        clock.now = day(24)  # fulfilled after the period: not counted
        m = late.commitments[0]
        svc.act_on_commitment(unit, m.id, CommitmentAction(action="fulfil", version=m.version, fulfilment="已结清"))
        return str(overdue_reply.number)
    finally:
        db.close()


def _settings(tmp: Path, **briefing: Any) -> Settings:
    rules = tmp / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    return Settings(
        store=StoreConfig(url=f"sqlite:///{tmp}/store.db"),
        database=DatabaseConfig(url=f"sqlite:///{tmp}/ledger.db"),
        state_url=f"sqlite:///{tmp}/state.db",
        alerts=AlertsConfig.model_validate(
            {"rules": str(rules), "notifiers": [{"type": "inbox", "name": "inbox"}], "auto_resolve_after": "30d", "max_post_age": "30d"}
        ),
        ledger=LedgerConfig(briefing=BriefingConfig(**briefing)),
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("briefing")
    settings = _settings(tmp)
    store = SqliteStore(settings.store.url)
    current, previous, at_end = known_posts()
    store.write([*current, *previous, at_end])
    _fire_alerts(settings, [*previous, *current, at_end])
    number = _fill_ledger(settings.database.url)
    yield World(settings, store, number)
    store.close()


@pytest.fixture(scope="module")
def made(world: World, tmp_path_factory: pytest.TempPathFactory) -> Output:
    return write_word(world.settings, world.store, PERIOD, tmp_path_factory.mktemp("out"), made_at=MADE_AT)


def doc_tables(path: Path) -> dict[str, list[list[str]]]:
    """Every table of the document by its caption (表N …, without the number), as rows of cell text."""
    doc = Document(str(path))
    out: dict[str, list[list[str]]] = {}
    caption = ""
    for child in doc.element.body.iterchildren():
        if child.tag.endswith("}p"):
            text = Paragraph(child, doc).text.strip()
            if text:
                caption = re.sub(r"^表\d+\s*", "", text)
        elif child.tag.endswith("}tbl"):
            out[caption] = [[c.text for c in row.cells] for row in Table(child, doc).rows]
    return out


def doc_text(path: Path) -> str:
    return "\n".join(p.text for p in Document(str(path)).paragraphs)


# -- figures ---------------------------------------------------------------------------------
def test_figures_of_the_period_against_the_one_before(made: Output) -> None:
    b = made.briefing
    assert (b.total, b.negative) == (Change(10, 6), Change(6, 3))
    assert [(s.name, s.count) for s in b.sources] == [("12345 热线", 5), ("问政江西", 5)]
    assert [(d.day.day, d.total, d.negative) for d in b.days] == [
        (16, 1, 1),
        (17, 2, 2),
        (18, 1, 1),
        (19, 1, 1),
        (20, 2, 1),
        (21, 2, 0),
        (22, 1, 0),
    ]
    assert [(e.event_id, e.title, e.risk_level, e.posts, e.region) for e in b.events] == [
        ("ev-env", ENV_TITLE, "重大", 2, "彭泽县/马当镇"),
        ("ev-wage", WAGE_TITLE, "高", 4, "彭泽县/龙城镇/泉塘社区"),
        ("ev-house", "某小区逾期交房", "中", 2, None),
    ]
    assert b.events[1].reasons == ("重点领域「工资拖欠」 +20", "负面且含「聚集」（群体） +25")
    assert b.event_levels == {"重大": 1, "高": 1, "中": 1}
    assert [(r.region, r.negative) for r in b.regions] == [("龙城镇", 4), ("马当镇", 2)]
    assert b.alerts.by_level == {"重大": 1, "高": 1, "中": 0, "低": 0}
    assert [(r.rule, r.count, r.highest) for r in b.alerts.by_rule] == [("重大风险事件", 1, "重大"), ("工资拖欠投诉", 1, "高")]
    assert (b.alerts.total, b.alerts.still_open) == (2, 1)
    lg = b.ledger
    assert (lg.opened, lg.closed, lg.overdue_cases, lg.overdue_commitments, lg.fulfilled, lg.disclosed) == (3, 1, 1, 1, 1, 1)
    assert [(i.case_title, i.unit, i.due_at) for i in lg.overdue_items] == [("泉塘社区工地欠薪", "县人力资源和社会保障局", day(19, 18))]
    assert (b.heading, b.file_stem) == ("彭泽县政务舆情风险研判简报（2026年第47期）", "舆情风险研判简报_20261116-20261122")


def test_word_tables_hold_the_exact_figures(made: Output) -> None:
    assert made.docx.name == "舆情风险研判简报_20261116-20261122.docx"
    t = doc_tables(made.docx)
    assert t["总体态势"] == [
        ["指标", "本期", "上期", "环比"],
        ["帖文总量（条）", "10", "6", "+66.7%"],
        ["负面帖文（条）", "6", "3", "+100.0%"],
        ["负面占比", "60.0%", "50.0%", "+10.0个百分点"],
    ]
    assert t["信息来源分布"][1:] == [["12345 热线", "5", "50.0%"], ["问政江西", "5", "50.0%"]]
    assert t["重点领域舆情统计"] == [
        ["领域", "本期", "上期", "环比", "负面（本期）", "负面（上期）", "负面环比"],
        ["房地产金融", "2", "0", "新增", "0", "0", "—"],
        ["工资拖欠", "4", "1", "+300.0%", "4", "1", "+300.0%"],
        ["环境污染和生态破坏", "3", "4", "-25.0%", "2", "2", "持平"],
        ["食品药品安全", "0", "0", "—", "0", "0", "—"],
        ["教育医疗养老", "0", "0", "—", "0", "0", "—"],
        ["安全生产", "0", "1", "-100.0%", "0", "0", "—"],
        ["困难群众生活", "0", "0", "—", "0", "0", "—"],
        ["其他", "1", "0", "新增", "0", "0", "—"],
        ["合计", "10", "6", "+66.7%", "6", "3", "+100.0%"],
    ]
    events = t["重点风险事件"]
    assert events[0] == ["序号", "事件编号", "标题", "等级", "研判依据", "帖文数", "地区"]
    assert events[2] == [
        "2",
        "ev-wage",
        WAGE_TITLE,
        "高",
        "重点领域「工资拖欠」 +20\n负面且含「聚集」（群体） +25",
        "4",
        "彭泽县龙城镇泉塘社区",
    ]
    assert [r[1] for r in events[1:]] == ["ev-env", "ev-wage", "ev-house"]
    assert events[3][-1] == "—"
    assert t["负面舆情集中地区"][1:] == [["龙城镇", "4", "66.7%"], ["马当镇", "2", "33.3%"]]
    assert t["预警级别分布"][1:] == [["重大", "1"], ["高", "1"], ["中", "0"], ["低", "0"]]
    assert t["预警规则分布"][1:] == [["重大风险事件", "1", "重大"], ["工资拖欠投诉", "1", "高"]]
    assert t["回应台账情况"][1:] == [
        ["本期新立案（件）", "3"],
        ["本期办结（件）", "1"],
        ["超期未回复案件（件）", "1"],
        ["超期未落实承诺（项）", "1"],
        ["本期落实承诺（项）", "1"],
        ["本期公开承诺（项）", "1"],
    ]
    assert t["超期未落实承诺事项"][1][1:] == ["泉塘社区工地欠薪", "泉塘社区工地欠薪：限期结清工资", "县人力资源和社会保障局", "2026-11-19"]
    text = doc_text(made.docx)
    assert "彭泽县政务舆情风险研判简报" in text and "（2026年第47期）" in text
    assert "编制单位：彭泽县人民政府办公室\t编制日期：2026年11月23日" in text
    assert "统计时段：2026年11月16日至11月22日" in text
    assert "本期共监测到涉及我县的网络舆情信息10条，较上期（6条）增长66.7%；其中负面信息6条，占60.0%（上期50.0%）。" in text
    assert "本期共触发预警2条，其中重大1条、高1条；截至简报编制时，仍有1条预警未解除。" in text
    assert Document(str(made.docx)).core_properties.title == "彭泽县政务舆情风险研判简报（2026年第47期）"


def test_recommendations_follow_the_figures(made: Output) -> None:
    recs = made.briefing.recommendations
    assert [r.unit for r in recs] == [
        "县生态环境局",  # the 重大 event
        "县人力资源和社会保障局",  # the 高 event
        "县人力资源和社会保障局",  # negative wage posts 1 -> 4
        "龙城镇",
        "各责任单位",  # negative share 50% -> 60%
        "县政府办",  # an alert still open
        "县政府办",  # an overdue reply
        "县政府办",  # an overdue commitment
    ]
    assert recs[2].text == (
        "工资拖欠领域负面舆情明显上升（本期4条，较上期（1条）增长300.0%），建议县人力资源和社会保障局密切关注，深入排查问题根源并及时回应群众关切。"
    )
    assert recs[0].text.startswith(f"“{ENV_TITLE}”事件风险等级为重大（本期相关帖文2条，涉及彭泽县马当镇），建议县生态环境局立即核实情况")
    assert "（涉及县人力资源和社会保障局）" in recs[7].text
    # The environment topic held steady (2 -> 2 negative): no growth line for it.
    assert not any("环境污染和生态破坏领域负面舆情明显上升" in r.text for r in recs)
    text = doc_text(made.docx)
    assert f"1. {recs[0].text}" in text and f"8. {recs[7].text}" in text


def test_topic_units_come_from_the_ledger_settings(world: World) -> None:
    units = {**world.settings.ledger.topic_units, "工资拖欠": "县人社局"}
    settings = world.settings.model_copy(update={"ledger": world.settings.ledger.model_copy(update={"topic_units": units})})
    b = make_briefing(settings, world.store, PERIOD, made_at=MADE_AT)
    assert "工资拖欠领域负面舆情明显上升（本期4条，较上期（1条）增长300.0%），建议县人社局密切关注" in b.recommendations[2].text


def test_growth_threshold_and_minimum_are_settings(world: World) -> None:
    ledger = world.settings.ledger.model_copy(update={"briefing": BriefingConfig(growth_threshold=3.5, min_negative=5)})
    b = make_briefing(world.settings.model_copy(update={"ledger": ledger}), world.store, PERIOD, made_at=MADE_AT)
    assert not any("领域负面舆情明显上升" in r.text for r in b.recommendations)
    assert not any(r.unit == "龙城镇" for r in b.recommendations)  # 4 negative posts < 5


# -- charts ------------------------------------------------------------------------------------
def test_charts_are_embedded_and_drawn_with_a_cjk_font(made: Output) -> None:
    doc = Document(str(made.docx))
    assert len(doc.inline_shapes) == 2
    blobs = [doc.part.related_parts[s._inline.graphic.graphicData.pic.blipFill.blip.embed].blob for s in doc.inline_shapes]
    assert all(b.startswith(b"\x89PNG\r\n\x1a\n") and len(b) > 10_000 for b in blobs)
    assert "图1 重点领域帖文数（本期与上期对比）" in doc_text(made.docx) and "图2 每日帖文数走势" in doc_text(made.docx)
    drawn = charts(made.briefing, BriefingConfig().font)
    assert drawn is not None
    assert {c.font_family for c in drawn} == {"Noto Sans CJK SC"}
    assert resolve_font("Noto Sans CJK SC").startswith("Noto Sans CJK")


def test_a_missing_font_is_named(world: World, tmp_path: Path) -> None:
    with pytest.raises(BriefingError, match="Noto Sans CJK XX"):
        resolve_font("Noto Sans CJK XX")
    settings = _settings(tmp_path, font="方正小标宋简体")
    with pytest.raises(BriefingError, match=r"方正小标宋简体.*fonts-noto-cjk.*ledger\.briefing\.font"):
        write_word(settings, world.store, PERIOD, tmp_path)


# -- empty period --------------------------------------------------------------------------------
def test_an_empty_period_gives_a_valid_briefing_saying_so(world: World, tmp_path: Path) -> None:
    empty = Period(datetime(2026, 10, 5, tzinfo=TZ), datetime(2026, 10, 12, tzinfo=TZ))
    out = write_word(world.settings, world.store, empty, tmp_path, made_at=MADE_AT)
    assert out.briefing.empty and out.docx.name == "舆情风险研判简报_20261005-20261011.docx"
    doc = Document(str(out.docx))
    text = doc_text(out.docx)
    assert text.count("本期无数据") == 4  # 总体态势, 重点领域, 趋势, 风险研判
    assert "本期无预警。" in text
    assert len(doc.inline_shapes) == 0
    assert "回应台账情况" in doc_tables(out.docx)  # the ledger still reports (overdue counts are as of the end)


def test_no_alert_or_ledger_tables_says_so(tmp_path: Path) -> None:
    settings = Settings(
        store=StoreConfig(url=f"sqlite:///{tmp_path}/store.db"), database=DatabaseConfig(url=f"sqlite:///{tmp_path}/none.db")
    )
    store = SqliteStore(settings.store.url)
    try:
        current, _, _ = known_posts()
        store.write(current)
        out = write_word(settings, store, PERIOD, tmp_path, made_at=MADE_AT)
    finally:
        store.close()
    text = doc_text(out.docx)
    assert "本期无预警。" in text and "回应台账尚未启用，本期无台账数据。" in text
    assert not (tmp_path / "none.db").exists()  # reading never creates a database


# -- period, CLI, settings, schedule -------------------------------------------------------------
def test_period_from_the_command_line() -> None:
    ref = datetime(2026, 11, 25, 14, 30, tzinfo=TZ)
    assert parse_period("2026-11-16", "2026-11-22", reference=ref) == PERIOD
    assert parse_period("7d", "2026-11-22", reference=ref) == PERIOD
    assert parse_period("24h", None, reference=ref) == Period(ref - timedelta(days=1), ref)
    assert PERIOD.label() == "2026年11月16日至11月22日"
    assert Period(ref - timedelta(days=1), ref).label() == "2026年11月24日 14:30 至 2026年11月25日 14:30"
    assert PERIOD.previous == Period(datetime(2026, 11, 9, tzinfo=TZ), SINCE)
    with pytest.raises(BriefingError, match="--since"):
        parse_period("上周", None, reference=ref)
    with pytest.raises(BriefingError, match="须晚于"):
        parse_period("2026-11-22", "2026-11-16", reference=ref)


@pytest.mark.parametrize(
    ("expr", "next_run"),
    [
        ("0 8 * * 1", datetime(2026, 11, 30, 8, 0)),  # crontab 1 = Monday (APScheduler's from_crontab would say Tuesday)
        ("0 8 * * 0", datetime(2026, 11, 29, 8, 0)),
        ("0 8 * * 7", datetime(2026, 11, 29, 8, 0)),
        ("30 7 * * 1-5", datetime(2026, 11, 26, 7, 30)),
        ("0 9 * * sun,mon", datetime(2026, 11, 29, 9, 0)),
        ("0 8 1 * *", datetime(2026, 12, 1, 8, 0)),
    ],
)
def test_cron_days_are_crontab_days(expr: str, next_run: datetime) -> None:
    from ledger.briefing_config import cron_trigger

    wednesday = datetime(2026, 11, 25, 12, 0, tzinfo=TZ)
    assert cron_trigger(expr, timezone=TZ).get_next_fire_time(None, wednesday) == next_run.replace(tzinfo=TZ)


def test_bad_settings_name_the_key(tmp_path: Path) -> None:
    f = tmp_path / "y.yaml"
    f.write_text("ledger:\n  briefing:\n    cron: '61 * * * *'\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(f, environ={})
    assert err.value.key == "ledger.briefing.cron" and "crontab" in str(err.value)
    f.write_text("ledger:\n  briefing:\n    growth_threshold: 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"key ledger\.briefing\.growth_threshold"):
        load_settings(f, environ={})


def test_cli_writes_the_word_file_and_prints_its_path(world: World, tmp_path: Path) -> None:
    from app.cli import main

    config = tmp_path / "yuqing.yaml"
    config.write_text(
        f"store: {{url: '{world.settings.store.url}'}}\ndatabase: {{url: '{world.settings.database.url}'}}\n"
        f"ledger: {{briefing: {{organization: 彭泽县数字经济发展中心}}}}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        main, ["-c", str(config), "brief", "--since", "2026-11-16", "--until", "2026-11-22", "--out", "out", "--no-pdf", "--issue", "12"]
    )
    assert result.exit_code == 0, result.output + str(result.exception)
    path = Path("out/舆情风险研判简报_20261116-20261122.docx")
    assert result.stdout.splitlines() == [str(path)]
    assert [line.split(" ")[0] for line in result.stderr.splitlines()[:3]] == ["[1/3]", "[2/3]", "[3/3]"]
    text = doc_text(path)
    assert "（2026年第12期）" in text and "编制单位：彭泽县数字经济发展中心" in text
    assert doc_tables(path)["总体态势"][1] == ["帖文总量（条）", "10", "6", "+66.7%"]
    bad = CliRunner().invoke(main, ["-c", str(config), "brief", "--since", "前几天", "--no-pdf"])
    assert bad.exit_code == 2 and "--since" in bad.stderr


def test_cli_briefing_for_one_scheme(world: World, tmp_path: Path) -> None:
    """`yuqing brief --scheme`: the post figures are the scheme's posts only, in a directory and with
    a heading of their own; an unknown scheme is refused with the names there are."""
    from app.cli import main
    from schemes.backfill import backfill
    from schemes.store import SchemeStore
    from yuqing.store import Query

    store = SqliteStore(f"sqlite:///{tmp_path}/store.db")
    store.write(world.store.search(Query(limit=1000)).hits)
    table = SchemeStore(f"sqlite:///{tmp_path}/ledger.db")
    table.save_all([{"name": "欠薪", "include": "工资 欠薪 拖欠", "topics": ["工资拖欠"]}, {"name": "其他方案", "include": "小区"}])
    assert backfill(store, table).finished
    table.close()
    mine = store.search(Query(scheme="欠薪", since=SINCE, until=UNTIL, limit=0)).total
    assert 0 < mine < 10  # the period holds 10 posts
    store.close()
    config = tmp_path / "yuqing.yaml"
    config.write_text(
        f"store: {{url: 'sqlite:///{tmp_path}/store.db'}}\ndatabase: {{url: 'sqlite:///{tmp_path}/ledger.db'}}\n", encoding="utf-8"
    )
    args = ["-c", str(config), "brief", "--since", "2026-11-16", "--until", "2026-11-22", "--out", "out", "--no-pdf"]
    result = CliRunner().invoke(main, [*args, "--scheme", "欠薪"])
    assert result.exit_code == 0, result.output + str(result.exception)
    path = Path("out/欠薪/舆情风险研判简报_20261116-20261122.docx")
    assert result.stdout.splitlines() == [str(path)]
    assert "（监测方案：欠薪）" in doc_text(path)
    assert doc_tables(path)["总体态势"][1][1] == str(mine)
    bad = CliRunner().invoke(main, [*args, "--scheme", "没有这个方案"])
    assert bad.exit_code == 2 and "没有这个方案" in bad.stderr and "其他方案、欠薪" in bad.stderr
    assert not Path("out/没有这个方案").exists()


def test_scheduled_job_covers_the_whole_days_before_it_runs(world: World, tmp_path: Path) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    settings = _settings(tmp_path, cron="0 8 * * 1", out_dir=str(tmp_path / "briefings"), pdf=False)
    settings = settings.model_copy(update={"store": world.settings.store, "database": world.settings.database})
    scheduler = BackgroundScheduler(timezone="Asia/Shanghai")
    assert schedule(scheduler, settings, world.store)
    wednesday = datetime(2026, 11, 25, 12, 0, tzinfo=TZ)
    assert scheduler.get_job(JOB_ID).trigger.get_next_fire_time(None, wednesday) == datetime(2026, 11, 30, 8, 0, tzinfo=TZ)  # Monday
    assert not schedule(BackgroundScheduler(), world.settings, world.store)  # off by default
    out = run_scheduled(settings, world.store, at=datetime(2026, 11, 23, 8, 0, tzinfo=TZ))
    assert out.briefing.period == PERIOD and out.pdf is None
    assert out.docx == tmp_path / "briefings" / "舆情风险研判简报_20261116-20261122.docx"


# -- the demo ------------------------------------------------------------------------------------
def test_briefing_right_after_the_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from alerts.store import AlertStore
    from app.cli import main
    from app.demo import run_demo

    summary = run_demo(tmp_path / "demo", echo=lambda _: None)
    monkeypatch.chdir(tmp_path / "demo")
    result = CliRunner().invoke(main, ["brief", "--no-pdf"])
    assert result.exit_code == 0, result.output + str(result.exception)
    path = Path(result.stdout.strip())
    assert path.parent == Path("briefings") and path.exists()
    tables = doc_tables(path)
    assert tables["总体态势"][1][:3] == ["帖文总量（条）", str(summary["stored"]), "0"]
    fired = [a for a in AlertStore("sqlite:///yuqing-data/ledger.db").find(limit=10_000) if a.fired_at is not None]
    assert fired and sum(int(r[1]) for r in tables["预警级别分布"][1:]) == len(fired)
    assert int(tables["回应台账情况"][1][1]) >= 1 and int(tables["回应台账情况"][3][1]) == 1  # the demo's overdue case
    assert len(Document(str(path)).inline_shapes) == 2


# -- PDF -----------------------------------------------------------------------------------------
def _pages(pdf: Path) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf.read_bytes()))


@pytest.mark.slow
def test_pdf_through_libreoffice(made: Output, world: World) -> None:
    out = write_pdf(world.settings, made)
    assert out.pdf == made.docx.with_suffix(".pdf")
    data = out.pdf.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 50_000
    assert _pages(out.pdf) >= 3
    assert re.search(rb"/FontName\s*/[A-Z]{6}\+NotoS(ans|erif)CJK", data)  # the Chinese text is set in Noto CJK


@pytest.mark.slow
def test_parallel_conversions_do_not_collide(made: Output, tmp_path: Path) -> None:
    copies = []
    for i in range(2):
        d = tmp_path / f"run{i}"
        d.mkdir()
        copies.append(d / made.docx.name)
        copies[-1].write_bytes(made.docx.read_bytes())
    results: dict[int, Path | BaseException] = {}

    def convert(i: int) -> None:
        try:
            results[i] = to_pdf(copies[i])
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=convert, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for i in range(2):
        pdf = results[i]
        assert isinstance(pdf, Path) and pdf.read_bytes().startswith(b"%PDF-") and _pages(pdf) >= 3


def test_pdf_errors_name_the_program_and_the_timeout(made: Output, tmp_path: Path) -> None:
    with pytest.raises(BriefingError, match=r"no-such-soffice.*ledger\.briefing\.soffice.*--no-pdf"):
        to_pdf(made.docx, soffice="no-such-soffice")
    hang = tmp_path / "soffice-hangs"  # stands in for a LibreOffice that never finishes, with a child of its own
    hang.write_text(f"#!/bin/sh\nsleep 300 &\necho $! > {tmp_path}/child.pid\nsleep 300\n", encoding="utf-8")
    hang.chmod(hang.stat().st_mode | stat.S_IEXEC)
    with pytest.raises(BriefingError, match=r"超时（0.5 秒，见 ledger\.briefing\.pdf_timeout_seconds）"):
        to_pdf(made.docx, soffice=str(hang), timeout=0.5)
    child = int((tmp_path / "child.pid").read_text())
    for _ in range(100):  # killed with its group; wait for the kernel to take it down
        if not _alive(child):
            break
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


@pytest.mark.slow
def test_produce_writes_both(world: World, tmp_path: Path) -> None:
    out = produce(world.settings, world.store, PERIOD, tmp_path, pdf=True)
    assert out.docx.exists() and out.pdf is not None and out.pdf.read_bytes().startswith(b"%PDF-")
    assert isinstance(out.briefing, Briefing)

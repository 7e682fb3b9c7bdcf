"""The briefing's 政策舆情 section: a watched policy published in the period, posts about it on both
sides of the publication day, a case registered from one of their events; an inactive policy and
one published long before are left out."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from app.settings import DatabaseConfig, Settings, StoreConfig
from briefings.build import write_word
from briefings.model import Period
from ledger.config import LedgerConfig
from ledger.db import Database
from ledger.schemas import NewCase
from ledger.service import LedgerService
from ledger.states import SYSTEM, Role
from schemes.policies import PolicyStore
from tests.ledger.test_briefing import doc_text
from yuqing.events import PostClassified, Risk, Source
from yuqing.store.sqlite import SqliteStore
from yuqing.text import tokenize
from yuqing.timeutil import TZ

SINCE = datetime(2026, 11, 16, tzinfo=TZ)
UNTIL = datetime(2026, 11, 23, tzinfo=TZ)
SRC = Source(id="wenzheng-jiangxi", kind="board", name="问政江西")


def post(n: int, at: datetime, sentiment: str, title: str, content: str = "") -> PostClassified:
    return PostClassified(
        id=f"p{n}", title=title, content=content, published_at=at, collected_at=at, classified_at=at, source=SRC, topic="其他",
        sentiment=sentiment, risk=Risk(score=10, level="低"), event_id=f"ev-{n}", keywords=["公积金", "提取"] if "公积金" in title else [],
        region="彭泽县/芙蓉墩镇", tokens=tokenize(f"{title}\n{content}"),
    )  # fmt: skip


def test_section_for_each_watched_policy(tmp_path: Path) -> None:
    settings = Settings(
        store=StoreConfig(url=f"sqlite:///{tmp_path}/store.db"),
        database=DatabaseConfig(url=f"sqlite:///{tmp_path}/ledger.db"),
        state_url=f"sqlite:///{tmp_path}/state.db",
    )
    day = datetime(2026, 11, 19, tzinfo=TZ)  # published on Thursday of the period
    posts = [
        post(1, day - timedelta(days=5), "neutral", "公积金提取流程咨询"),
        post(2, day - timedelta(days=2), "negative", "公积金异地转移太慢"),
        post(3, day + timedelta(hours=9), "negative", "公积金新规能否异地提取？"),
        post(4, day + timedelta(days=1), "negative", "公积金新规提取门槛太高"),
        post(5, day + timedelta(days=1), "neutral", "小区停车难"),
    ]
    store = SqliteStore(settings.store.url)
    store.write(posts)
    db = Database(settings.database.url)
    db.migrate()
    svc = LedgerService(db, LedgerConfig())
    svc.create_user(SYSTEM, "jiance", "briefing-lamp-42", Role.MONITOR)
    mon = svc.authenticate("jiance", "briefing-lamp-42")
    assert mon is not None
    case = svc.create_case(mon, NewCase(title="公积金提取门槛", source="问政江西", case_type="投诉", event_id="ev-4"))
    db.close()
    table = PolicyStore(settings.database.url)
    common = {"issuer": "九江市住房公积金管理委员会", "keywords": "公积金"}
    table.save({"title": "九江市住房公积金提取管理办法", "doc_number": "九金管委〔2026〕3号", "published": "2026-11-19"} | common)
    table.save({"title": "停用的政策", "published": "2026-11-19", "active": False} | common)
    table.save({"title": "早已发布的政策", "published": "2026-06-01"} | common)
    table.close()

    out = write_word(settings, store, Period(SINCE, UNTIL), tmp_path / "out", made_at=datetime(2026, 11, 23, 9, 0, tzinfo=TZ))
    store.close()
    figures = out.briefing.policies
    assert [f.report.policy.title for f in figures] == ["九江市住房公积金提取管理办法"]
    assert [c.id for c in figures[0].cases] == [case.id]
    text = doc_text(out.docx)
    assert "、政策舆情" in text
    assert (
        "《九江市住房公积金提取管理办法》（九金管委〔2026〕3号，九江市住房公积金管理委员会，2026年11月19日发布）："
        "发布前30天有关信息2条，负面占比50.0%；发布后至11月23日2条，负面占比100.0%，负面占比上升50.0个百分点。"
        "网民主要关注：公积金（4条）、提取（4条）。提问1条，如“公积金新规能否异地提取？”。"
        f"关联回应案件1件（{case.number}）。"
    ) in text

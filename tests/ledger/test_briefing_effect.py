"""The briefing's 回应效果 section: cases answered through the real ledger service, their events'
posts in a real store, the Word file read back."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from app.settings import DatabaseConfig, Settings, StoreConfig
from briefings.build import make_briefing, write_word
from briefings.model import Period
from ledger.config import LedgerConfig
from ledger.db import Database
from ledger.schemas import CaseAction, NewCase
from ledger.service import LedgerService
from ledger.states import SYSTEM, Role
from tests.alerts.conftest import make_post
from tests.ledger.test_briefing import doc_tables, doc_text
from yuqing.store.sqlite import SqliteStore
from yuqing.timeutil import TZ

SINCE = datetime(2026, 11, 16, tzinfo=TZ)
PERIOD = Period(SINCE, SINCE + timedelta(days=7))
MADE_AT = PERIOD.until + timedelta(hours=9)


def day(d: int, h: int = 10) -> datetime:
    return datetime(2026, 11, d, h, tzinfo=TZ)


class Clock:
    now = day(1)

    def __call__(self) -> datetime:
        return self.now


def _answered(url: str, cases: list[tuple[str, str, datetime]]) -> None:
    """(title, event_id, reply time): cases replied to through the service at the given times."""
    db = Database(url)
    db.migrate()
    clock = Clock()
    svc = LedgerService(db, LedgerConfig(), clock=clock)
    try:
        unit_id = svc.create_unit(SYSTEM, "县生态环境局").id
        svc.create_user(SYSTEM, "jiance", "briefing-lamp-42", Role.MONITOR)
        svc.create_user(SYSTEM, "sthj", "briefing-lamp-42", Role.UNIT, unit_id=unit_id)
        mon, unit = svc.authenticate("jiance", "briefing-lamp-42"), svc.authenticate("sthj", "briefing-lamp-42")
        assert mon is not None and unit is not None
        for title, event_id, at in cases:
            clock.now = at - timedelta(days=1)
            c = svc.create_case(mon, NewCase(title=title, source="12345", case_type="投诉", unit_id=unit_id, event_id=event_id))
            c = svc.act(unit, c.id, CaseAction(action="accept", version=c.version))
            clock.now = at
            svc.act(unit, c.id, CaseAction(action="respond", version=c.version, response="已安排执法人员现场核查"))
    finally:
        db.close()


def _posts(event_id: str, at: datetime, before: int, after: int) -> list[Any]:
    out = [make_post(at=at - timedelta(hours=1 + i), event_id=event_id, post_id=f"{event_id}:b{i}") for i in range(before)]
    out += [make_post(at=at + timedelta(hours=1 + i), event_id=event_id, post_id=f"{event_id}:a{i}") for i in range(after)]
    return out


def test_the_briefing_judges_the_cases_answered_in_the_period(tmp_path: Path) -> None:
    settings = Settings(
        store=StoreConfig(url=f"sqlite:///{tmp_path}/store.db"),
        database=DatabaseConfig(url=f"sqlite:///{tmp_path}/ledger.db"),
        state_url=f"sqlite:///{tmp_path}/state.db",
    )
    store = SqliteStore(settings.store.url)
    answered = [
        ("梅峰河黑臭", "ev-calm", day(16)),  # 6 before, 1 after: 平息
        ("化工厂偷排", "ev-rise", day(17)),  # 2 before, 5 after: 升温
        ("噪音扰民", "ev-late", day(22)),  # the after-window ends after the period: 尚早
        ("去年的案子", "ev-old", day(1)),  # answered long before: not in this briefing
    ]
    _answered(settings.database.url, answered)
    store.write([*_posts("ev-calm", day(16), 6, 1), *_posts("ev-rise", day(17), 2, 5), *_posts("ev-late", day(22), 1, 1)])
    try:
        b = make_briefing(settings, store, PERIOD, made_at=MADE_AT)
        assert b.effects is not None and b.effects.available
        assert b.effects.counts == {"升温": 1, "平息": 1, "尚早": 1}
        out = write_word(settings, store, PERIOD, tmp_path / "out", made_at=MADE_AT)
    finally:
        store.close()
    table = doc_tables(out.docx)["回应效果"]
    assert table == [
        ["案件编号", "案件标题", "回应时间", "回应前（条/负面）", "回应后（条/负面）", "结论"],
        ["YQ-2026-00002", "化工厂偷排", "11-17 10:00", "2/2", "5/5", "升温"],
        ["YQ-2026-00001", "梅峰河黑臭", "11-16 10:00", "6/6", "1/1", "平息"],
        ["YQ-2026-00003", "噪音扰民", "11-22 10:00", "1/1", "1/1", "尚早"],
    ]
    text = doc_text(out.docx)
    assert "本期跟踪已回复或公开的舆情事件3件（比较回应前后各72小时的帖文量和负面占比），其中升温1件、平息1件、尚早1件。" in text
    assert "回应后仍在升温的有YQ-2026-00002（化工厂偷排）" in text
    assert "、回应效果" in text  # a numbered section heading


def test_no_ledger_says_so(tmp_path: Path) -> None:
    settings = Settings(
        store=StoreConfig(url=f"sqlite:///{tmp_path}/store.db"), database=DatabaseConfig(url=f"sqlite:///{tmp_path}/none.db")
    )
    store = SqliteStore(settings.store.url)
    try:
        out = write_word(settings, store, PERIOD, tmp_path, made_at=MADE_AT)
    finally:
        store.close()
    assert "回应台账或帖子库尚未启用，本期无回应效果数据。" in doc_text(out.docx)
    assert not (tmp_path / "none.db").exists()

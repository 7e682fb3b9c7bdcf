"""One briefing from settings and a store: figures -> charts -> Word -> PDF, as ``yuqing brief``
and the scheduled job run it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from briefings.charts import charts
from briefings.effect import effect_figures
from briefings.figures import compute, open_readonly
from briefings.model import Briefing, BriefingError, Period
from briefings.pdf import to_pdf
from briefings.policy_section import policy_figures
from briefings.timeliness_section import timeliness_figures
from briefings.word import render
from yuqing.duration import span
from yuqing.store import Store
from yuqing.timeutil import TZ, now, parse_datetime, parse_since

if TYPE_CHECKING:
    from app.settings import Settings  # a type only: stages do not import the application

Progress = Callable[[str], None]
_DATE_ONLY = re.compile(r"\s*\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?\s*|\s*\d{8}\s*")


@dataclass(frozen=True)
class Output:
    briefing: Briefing
    docx: Path
    pdf: Path | None = None


def midnight(dt: datetime) -> datetime:
    return dt.astimezone(TZ).replace(hour=0, minute=0, second=0, microsecond=0)


def parse_period(since: str | None, until: str | None, *, reference: datetime | None = None) -> Period:
    """``--since``/``--until`` as staff type them. ``until``: a date includes that whole day; a time
    is the exact end; none is now. ``since``: a span (``7d``, ``24h``) counts back from the end; a
    date starts at its midnight. Unreadable values raise BriefingError naming the option."""
    ref = reference or now()
    if until:
        end = parse_datetime(until, ref)
        if end is None:
            raise BriefingError(f"无法识别 --until 的时间 {until!r}：可用 2026-11-29 或 ISO 时间")
        if _DATE_ONLY.fullmatch(until):
            end = midnight(end) + timedelta(days=1)
    else:
        end = ref
    value = since or "7d"
    start = parse_since(value, end) if span(value) is not None else parse_datetime(value, ref)
    if start is None:
        raise BriefingError(f"无法识别 --since 的时间 {value!r}：可用 7d、24h、2026-11-23 或 ISO 时间")
    if _DATE_ONLY.fullmatch(value):
        start = midnight(start)
    return Period(start.astimezone(TZ), end.astimezone(TZ))


def make_briefing(
    settings: Settings, store: Store, period: Period, *, made_at: datetime | None = None, issue: int | None = None
) -> Briefing:
    """The figures, from the store and, where their tables exist, the alert and ledger databases."""
    from alerts.service import database_url

    ledger_url = settings.database.url
    alerts_url = database_url(settings)
    ledger_db = open_readonly(ledger_url)
    alerts_db = ledger_db if alerts_url == ledger_url else open_readonly(alerts_url)
    try:
        b = compute(
            store,
            period,
            settings.ledger.briefing,
            settings.ledger.topic_units,
            alerts_db=alerts_db,
            ledger_db=ledger_db,
            made_at=made_at,
            issue=issue,
        )
        at = min(period.until, b.made_at)
        effects = effect_figures(ledger_db, store, period, at, settings.ledger.effect, limit=settings.ledger.briefing.top_events)
        timeliness = timeliness_figures(store, ledger_db, settings.ledger.timeliness, period, made_at or now())
        policies = policy_figures(store, ledger_db, period, made_at or now())
        return replace(b, effects=effects, timeliness=timeliness, policies=policies)
    finally:
        for engine in {id(e): e for e in (ledger_db, alerts_db) if e is not None}.values():
            engine.dispose()


def write_word(
    settings: Settings,
    store: Store,
    period: Period,
    out_dir: Path,
    *,
    progress: Progress = lambda _: None,
    made_at: datetime | None = None,
    issue: int | None = None,
) -> Output:
    cfg = settings.ledger.briefing
    progress(f"统计数据：{period.label()}")
    b = make_briefing(settings, store, period, made_at=made_at, issue=issue)
    progress("绘制图表" if not b.empty else "绘制图表：本期无数据，不绘制")
    drawn = charts(b, cfg.font)
    progress("生成 Word 文档")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = render(b, drawn, out_dir / f"{b.file_stem}.docx", font=cfg.font, body_font=cfg.body_font)
    return Output(b, path)


def write_pdf(settings: Settings, out: Output, *, progress: Progress = lambda _: None) -> Output:
    cfg = settings.ledger.briefing
    progress("转换 PDF（LibreOffice）")
    return Output(out.briefing, out.docx, to_pdf(out.docx, soffice=cfg.soffice, timeout=cfg.pdf_timeout_seconds))


def produce(settings: Settings, store: Store, period: Period, out_dir: Path, *, pdf: bool, progress: Progress = lambda _: None) -> Output:
    out = write_word(settings, store, period, out_dir, progress=progress)
    return write_pdf(settings, out, progress=progress) if pdf else out

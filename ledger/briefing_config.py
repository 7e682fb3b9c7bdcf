"""Settings of the briefing (the ``ledger.briefing:`` section of yuqing.yaml)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab numbering: 0 (and 7) is Sunday


def _weekdays(field: str) -> str:
    """A crontab day-of-week field in day names. APScheduler 3 numbers days from Monday = 0, so
    its ``from_crontab`` would run ``0 8 * * 1`` on Tuesdays; names mean the same to both."""
    if not re.search(r"\d", field):
        return field  # *, mon-fri, ...
    days: set[int] = set()
    for item in field.split(","):
        m = re.fullmatch(r"(\*|\d+(?:-\d+)?)(?:/(\d+))?", item)
        if not m:
            raise ValueError(f"day of week {item!r}: use numbers (0-7, 0 and 7 = Sunday) or names (mon-fri), not both")
        if m[1] == "*":
            lo, hi = 0, 6
        else:
            first, _, last = m[1].partition("-")
            lo, hi = int(first), int(last or first)
        if not 0 <= lo <= hi <= 7 or (m[2] is not None and int(m[2]) < 1):
            raise ValueError(f"day of week {item!r} out of range 0-7")
        days |= {d % 7 for d in range(lo, hi + 1, int(m[2] or 1))}
    return ",".join(_CRON_DAYS[d] for d in sorted(days))


def cron_trigger(expr: str, timezone: Any = None) -> Any:
    """An APScheduler trigger for a standard 5-field crontab expression (minute hour day month weekday)."""
    from apscheduler.triggers.cron import CronTrigger

    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields (minute hour day month weekday), got {len(fields)}")
    minute, hour, day, month, weekday = fields
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=_weekdays(weekday), timezone=timezone)


KINDS = {"daily": "日报", "weekly": "周报", "monthly": "月报"}


class BriefingSchedule(BaseModel):
    """A briefing made on a schedule: 日报 covers the day before the run, 周报 the 7 days before,
    月报 the calendar month before."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["daily", "weekly", "monthly"]
    cron: str = Field(min_length=1, description="crontab expression (minute hour day month weekday), Asia/Shanghai")
    units: list[str] = Field(default_factory=list, description="units whose own channels also get it (and whose users may open it)")

    @field_validator("cron")
    @classmethod
    def _crontab(cls, v: str) -> str:
        try:
            cron_trigger(v)
        except ValueError as exc:
            raise ValueError(f"not a crontab expression (minute hour day month weekday) {v!r}: {exc}") from exc
        return v.strip()


class BriefingConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = Field("彭泽县政务舆情风险研判简报", min_length=1, description="the heading; the issue (（2026年第48期）) follows it")
    organization: str = Field("彭泽县人民政府办公室", min_length=1, description="编制单位, printed under the heading")
    out_dir: str = Field("briefings", min_length=1, description="where `yuqing brief` (without --out) and the scheduled job write")
    pdf: bool = Field(True, description="also convert to PDF with LibreOffice")
    soffice: str = Field("soffice", min_length=1, description="the LibreOffice program (name on PATH or full path)")
    pdf_timeout_seconds: float = Field(120.0, gt=0, le=3600)
    font: str = Field("Noto Sans CJK SC", min_length=1, description="charts, heading, tables; must be known to matplotlib")
    body_font: str = Field("Noto Serif CJK SC", min_length=1, description="body text of the Word document")
    top_events: int = Field(10, ge=1, le=100, description="rows in the table of riskiest events")
    top_regions: int = Field(5, ge=1, le=50, description="rows in the table of regions with the most negative posts")
    growth_threshold: float = Field(
        0.5, gt=0, description="a topic whose negative posts grew by more than this share gets a recommendation"
    )
    min_negative: int = Field(3, ge=1, description="...and has at least this many negative posts in the period")
    cron: str | None = Field(None, description="crontab expression for a scheduled briefing in `yuqing run`; null = off")
    period_days: int = Field(7, ge=1, le=366, description="days the scheduled briefing covers, ending at midnight of the day it runs")
    schedules: list[BriefingSchedule] = Field(
        default_factory=list, description="日报/周报/月报 in `yuqing run`: [{kind: weekly, cron: '0 8 * * mon'}]"
    )
    recipients: list[dict[str, Any]] = Field(
        default_factory=list,
        description="who gets every briefing run, as alerts.notifiers configs: email gets the PDF and Word files attached, "
        "robots (dingtalk/wecom/feishu) a summary with a link to the archive",
    )

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, v: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from ledger.config import _valid_channels

        return _valid_channels(v)

    @field_validator("cron")
    @classmethod
    def _crontab(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        try:
            cron_trigger(v)
        except ValueError as exc:
            raise ValueError(f"not a crontab expression (minute hour day month weekday) {v!r}: {exc}") from exc
        return v.strip()

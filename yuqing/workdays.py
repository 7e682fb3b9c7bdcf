"""Chinese working days (工作日): statutory holidays and 调休 make-up days.

The calendar comes from ``chinesecalendar`` (the State Council's annual notices, kept up to date by
its maintainers). Each year's schedule is announced in November, often before a release of the
package carries it, so an administrator can enter a year's official schedule in the settings
(``calendar.years``): it overrides the package for that year. For a year neither knows, Monday to
Friday count as working days and a warning is logged once per year.

Counting follows the usual rule of 信访 and 12345 offices: the day a case is assigned does not
count; the limit ends at the close of the N-th working day after it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

import chinese_calendar
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from yuqing.timeutil import TZ, aware

log = logging.getLogger("yuqing.workdays")

END_OF_DAY = time(23, 59, 59)
_RANGE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})\s*(?:\.\.\s*(\d{4}-\d{2}-\d{2}))?\s*$")


def _days(items: list[Any], what: str) -> list[date]:
    """``["2027-01-01", "2027-02-05..2027-02-11", date(...)]`` -> every day named."""
    out: list[date] = []
    for item in items:
        if isinstance(item, date):
            out.append(item)
            continue
        m = _RANGE.match(str(item))
        if not m:
            raise ValueError(f"{what}: {item!r} is not a date (YYYY-MM-DD) or a range (YYYY-MM-DD..YYYY-MM-DD)")
        try:
            first = date.fromisoformat(m.group(1))
            last = date.fromisoformat(m.group(2)) if m.group(2) else first
        except ValueError as exc:
            raise ValueError(f"{what}: {item!r}: {exc}") from exc
        if last < first:
            raise ValueError(f"{what}: range {item!r} ends before it starts")
        out.extend(first + timedelta(days=i) for i in range((last - first).days + 1))
    return out


class YearSchedule(BaseModel):
    """One year's official schedule: days off (节假日) and weekend days worked (调休上班)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    holidays: list[date] = Field(default_factory=list, description="days off: dates or ranges YYYY-MM-DD..YYYY-MM-DD")
    workdays: list[date] = Field(default_factory=list, description="调休: Saturdays or Sundays that are working days")

    @field_validator("holidays", "workdays", mode="before")
    @classmethod
    def _expand(cls, v: Any, info: Any) -> Any:
        if v is None:
            return []
        if not isinstance(v, list):
            raise ValueError("expected a list of dates")
        return _days(v, info.field_name)

    @field_validator("workdays")
    @classmethod
    def _weekend(cls, v: list[date]) -> list[date]:
        for d in v:
            if d.weekday() < 5:
                raise ValueError(f"{d.isoformat()} is a {d.strftime('%A')}, already a working day: 调休 days are Saturdays or Sundays")
        return v

    @model_validator(mode="after")
    def _disjoint(self) -> YearSchedule:
        both = sorted(set(self.holidays) & set(self.workdays))
        if both:
            raise ValueError(f"{both[0].isoformat()} is listed both as a holiday and as a working day")
        return self


class CalendarConfig(BaseModel):
    """The ``calendar:`` section: official schedules the installed chinesecalendar does not know."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    years: dict[int, YearSchedule] = Field(
        default_factory=dict, description="year -> {holidays: [...], workdays: [...]}; overrides chinesecalendar for that year"
    )

    @field_validator("years", mode="before")
    @classmethod
    def _none(cls, v: Any) -> Any:
        return {} if v is None else v

    @field_validator("years")
    @classmethod
    def _same_year(cls, v: dict[int, YearSchedule]) -> dict[int, YearSchedule]:
        for year, sched in v.items():
            for d in (*sched.holidays, *sched.workdays):
                if d.year != year:
                    raise ValueError(f"{year}: {d.isoformat()} is not in {year}")
        return v


class WorkCalendar:
    """Working days from the configured schedules, else chinesecalendar, else Monday-Friday."""

    def __init__(self, years: Mapping[int, YearSchedule] | None = None) -> None:
        self._years = {y: (frozenset(s.holidays), frozenset(s.workdays)) for y, s in (years or {}).items()}
        self._warned: set[int] = set()

    def source(self, year: int) -> str:
        """Where ``year``'s schedule comes from: ``settings``, ``chinesecalendar`` or ``weekdays``."""
        if year in self._years:
            return "settings"
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
        except NotImplementedError:
            return "weekdays"
        return "chinesecalendar"

    def is_workday(self, day: date) -> bool:
        sched = self._years.get(day.year)
        if sched is not None:
            holidays, workdays = sched
            if day in holidays:
                return False
            return day in workdays or day.weekday() < 5
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            if day.year not in self._warned:
                self._warned.add(day.year)
                log.warning(
                    "no holiday schedule for %d: counting Monday-Friday as working days; "
                    "enter the year's official schedule under calendar.years in the settings, or upgrade chinesecalendar",
                    day.year,
                )
            return day.weekday() < 5


_calendar = WorkCalendar()


def configure(cfg: CalendarConfig) -> None:
    """Use ``cfg``'s schedules in this process (called when the settings are loaded)."""
    global _calendar
    _calendar = WorkCalendar(cfg.years)


def calendar() -> WorkCalendar:
    return _calendar


def schedule_warning(today: date) -> str | None:
    """From December on, a warning in Chinese when next year's schedule is unknown, else None."""
    if today.month != 12:
        return None
    nxt = today.year + 1
    if _calendar.source(nxt) != "weekdays":
        return None
    return (
        f"尚未录入{nxt}年法定节假日和调休安排：{nxt}年的办理期限暂按周一至周五计算。"
        f"请在配置 calendar.years.{nxt} 中录入国务院办公厅公布的安排，或升级 chinesecalendar。"
    )


def is_workday(day: date) -> bool:
    return _calendar.is_workday(day)


def add_workdays(start: date, days: int) -> date:
    """The ``days``-th working day after ``start`` (``start`` itself not counted); ``days`` >= 0.

    ``add_workdays(d, 0)`` is ``d`` when it is a working day, else the next working day.
    """
    if days < 0:
        raise ValueError("days must be >= 0")
    day = start
    if days == 0:
        while not is_workday(day):
            day += timedelta(days=1)
        return day
    left = days
    while left:
        day += timedelta(days=1)
        if is_workday(day):
            left -= 1
    return day


def due_at(assigned: datetime, days: int) -> datetime:
    """The deadline of a case assigned at ``assigned`` with a limit of ``days`` working days:
    the end of the ``days``-th working day after the assignment day, Shanghai time."""
    local = aware(assigned)
    return datetime.combine(add_workdays(local.date(), days), END_OF_DAY, tzinfo=TZ)


def extend(deadline: datetime, days: int) -> datetime:
    """A deadline moved on by ``days`` working days (an approved 延期)."""
    local = aware(deadline)
    return datetime.combine(add_workdays(local.date(), days), local.timetz().replace(tzinfo=None), tzinfo=TZ)


def workdays_between(start: date, end: date) -> int:
    """Working days in (start, end]: how many working days pass from ``start`` to ``end``.
    Negative when ``end`` is before ``start``."""
    if end < start:
        return -workdays_between(end, start)
    n = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        if is_workday(day):
            n += 1
    return n


def workdays_left(deadline: datetime, at: datetime) -> int:
    """Working days from ``at``'s day to the deadline's day; 0 on the due day, negative once late."""
    return workdays_between(aware(at).date(), aware(deadline).date())

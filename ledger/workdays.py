"""Deadlines in Chinese working days (工作日), with statutory holidays and 调休 make-up days.

The calendar comes from ``chinesecalendar`` (the State Council's annual notices, kept up to
date by its maintainers). Counting follows the usual rule of 信访 and 12345 offices: the day a
case is assigned does not count; the limit ends at the close of the N-th working day after it.

For a year the installed calendar does not know yet (each year's holidays are announced in
November), Monday to Friday are taken as working days and a warning is logged once per year:
deadlines keep working, and upgrading chinesecalendar makes them exact.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta

import chinese_calendar

from yuqing.timeutil import TZ, aware

log = logging.getLogger("ledger.workdays")
_warned: set[int] = set()

END_OF_DAY = time(23, 59, 59)


def is_workday(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        if day.year not in _warned:
            _warned.add(day.year)
            log.warning(
                "chinesecalendar has no holiday data for %d: counting Monday-Friday as working days; upgrade chinesecalendar", day.year
            )
        return day.weekday() < 5


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

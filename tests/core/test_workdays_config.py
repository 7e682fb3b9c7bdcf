"""A year's holiday schedule entered by an administrator (``calendar.years``) overrides the
installed chinesecalendar, which knows holidays only up to the year it was released for."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest

from app.settings import load_settings
from yuqing import workdays
from yuqing.errors import ConfigError
from yuqing.timeutil import TZ

# A hand-made 2027 schedule (not the official one, which this test does not need): a Spring
# Festival from Friday 5 Feb to Thursday 11 Feb with two make-up Saturdays, and New Year's Day.
SCHEDULE_2027 = """
calendar:
  years:
    2027:
      holidays: ["2027-01-01", "2027-02-05..2027-02-11"]
      workdays: ["2027-01-30", "2027-02-20"]
"""


@pytest.fixture
def restore_calendar() -> Iterator[None]:
    saved = workdays.calendar()
    yield
    workdays._calendar = saved


def _load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    f = tmp_path / "yuqing.yaml"
    f.write_text(text, encoding="utf-8")
    return load_settings(f, environ={})


def test_a_schedule_entered_by_hand_overrides_the_package(tmp_path: Path, restore_calendar: None) -> None:
    assert workdays.calendar().source(2027) == "weekdays"  # chinesecalendar 1.11 stops at 2026
    assert workdays.is_workday(date(2027, 2, 8))  # a Monday, counted as a working day without the schedule
    _load(tmp_path, SCHEDULE_2027)
    cal = workdays.calendar()
    assert cal.source(2027) == "settings"
    assert cal.source(2026) == "chinesecalendar"
    assert not workdays.is_workday(date(2027, 1, 1))
    assert not workdays.is_workday(date(2027, 2, 8))  # inside the Spring Festival
    assert workdays.is_workday(date(2027, 1, 30))  # make-up Saturday
    assert not workdays.is_workday(date(2027, 1, 23))  # an ordinary Saturday
    # A complaint assigned on Thursday 4 Feb 2027 with 3 working days: 12 Feb (Fri), 15 (Mon), 16 (Tue).
    assert workdays.due_at(datetime(2027, 2, 4, 10, 0, tzinfo=TZ), 3) == datetime(2027, 2, 16, 23, 59, 59, tzinfo=TZ)
    # Across the year boundary: from Wednesday 30 Dec 2026, 2 working days -> Thu 31 Dec, (1 Jan off) Mon 4 Jan.
    assert workdays.add_workdays(date(2026, 12, 30), 2) == date(2027, 1, 4)
    # The make-up Saturday 20 Feb counts: 19 Feb (Fri) -> 20 Feb.
    assert workdays.add_workdays(date(2027, 2, 19), 1) == date(2027, 2, 20)
    # The ledger counts with the same calendar.
    from ledger import workdays as ledger_workdays

    assert not ledger_workdays.is_workday(date(2027, 2, 8))


def test_workdays_between_counts_make_up_days(restore_calendar: None, tmp_path: Path) -> None:
    _load(tmp_path, SCHEDULE_2027)
    # (4 Feb, 20 Feb]: 12, 15, 16, 17, 18, 19 and the make-up Saturday 20 = 7.
    assert workdays.workdays_between(date(2027, 2, 4), date(2027, 2, 20)) == 7


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('calendar:\n  years:\n    2027:\n      holidays: ["2027-02-30"]\n', "2027-02-30"),
        ('calendar:\n  years:\n    2027:\n      holidays: ["2028-01-01"]\n', "2028-01-01 is not in 2027"),
        ('calendar:\n  years:\n    2027:\n      workdays: ["2027-02-08"]\n', "already a working day"),
        ('calendar:\n  years:\n    2027:\n      holidays: ["2027-02-11..2027-02-05"]\n', "ends before it starts"),
        ('calendar:\n  years:\n    2027:\n      holidays: ["2027-01-30"]\n      workdays: ["2027-01-30"]\n', "both as a holiday"),
        ('calendar:\n  years:\n    2027:\n      holiday: ["2027-01-01"]\n', "unknown setting"),
    ],
)
def test_bad_schedules_are_refused_naming_the_key(tmp_path: Path, text: str, message: str, restore_calendar: None) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    assert message in str(info.value)
    assert "calendar.years" in str(info.value)


def test_december_warns_when_next_year_is_unknown(tmp_path: Path, restore_calendar: None) -> None:
    workdays.configure(workdays.CalendarConfig())
    warning = workdays.schedule_warning(date(2026, 12, 4))
    assert warning is not None and "2027" in warning and "calendar.years.2027" in warning
    assert workdays.schedule_warning(date(2026, 11, 30)) is None  # before December: not yet announced
    assert workdays.schedule_warning(date(2025, 12, 1)) is None  # 2026 is in the package
    _load(tmp_path, SCHEDULE_2027)
    assert workdays.schedule_warning(date(2026, 12, 4)) is None


def test_doctor_warns_in_december(tmp_path: Path, restore_calendar: None) -> None:
    from app.doctor import calendar_lines

    workdays.configure(workdays.CalendarConfig())
    lines = calendar_lines(date(2026, 12, 4))
    assert any(line.startswith("  warn  calendar:") and "2027" in line for line in lines)
    _load(tmp_path, SCHEDULE_2027)
    assert calendar_lines(date(2026, 12, 4)) == ["  ok    calendar: 2026 chinesecalendar, 2027 settings"]

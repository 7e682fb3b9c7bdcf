"""Working-day arithmetic across the 2025 and 2026 holidays, 调休 make-up days included.

Dates are from the State Council's notices (国办发明电〔2024〕12号 for 2025, 〔2025〕7号 for 2026).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.workdays import add_workdays, due_at, extend, is_workday, workdays_between, workdays_left
from yuqing.timeutil import TZ


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 1, 26), True),  # Sunday, 调休: worked for the Spring Festival
        (date(2025, 1, 28), False),  # 除夕, Spring Festival 1.28-2.4
        (date(2025, 2, 4), False),
        (date(2025, 2, 8), True),  # Saturday, 调休
        (date(2025, 5, 1), False),  # Labour Day 5.1-5.5
        (date(2025, 4, 27), True),  # Sunday, 调休
        (date(2025, 9, 28), True),  # Sunday, 调休 for National Day
        (date(2025, 10, 1), False),  # National Day + Mid-Autumn 10.1-10.8
        (date(2025, 10, 8), False),
        (date(2025, 10, 11), True),  # Saturday, 调休
        (date(2026, 1, 1), False),  # New Year 1.1-1.3
        (date(2026, 1, 4), True),  # Sunday, 调休
        (date(2026, 2, 14), True),  # Saturday, 调休 before the Spring Festival 2.15-2.23
        (date(2026, 2, 16), False),
        (date(2026, 2, 23), False),
        (date(2026, 2, 28), True),  # Saturday, 调休
        (date(2026, 9, 20), True),  # Sunday, 调休 for National Day 10.1-10.7
        (date(2026, 9, 25), False),  # Mid-Autumn Festival, a Friday
        (date(2026, 10, 7), False),
        (date(2026, 10, 10), True),  # Saturday, 调休
        (date(2026, 3, 7), False),  # an ordinary Saturday
        (date(2026, 3, 9), True),  # an ordinary Monday
    ],
)
def test_known_days(day: date, working: bool) -> None:
    assert is_workday(day) is working


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (date(2025, 1, 24), 1, date(2025, 1, 26)),  # Friday -> the make-up Sunday
        (date(2025, 1, 27), 1, date(2025, 2, 5)),  # over the whole Spring Festival
        (date(2025, 2, 7), 1, date(2025, 2, 8)),  # -> the make-up Saturday
        (date(2025, 9, 26), 1, date(2025, 9, 28)),
        (date(2025, 9, 30), 1, date(2025, 10, 9)),  # over National Day
        (date(2025, 10, 10), 1, date(2025, 10, 11)),
        (date(2025, 9, 26), 13, date(2025, 10, 21)),  # a complaint assigned before National Day
        (date(2025, 4, 30), 1, date(2025, 5, 6)),  # over Labour Day
        (date(2025, 12, 31), 1, date(2026, 1, 4)),  # over New Year, to the make-up Sunday
        (date(2026, 2, 13), 1, date(2026, 2, 14)),
        (date(2026, 2, 13), 5, date(2026, 2, 27)),  # 2.14, 2.24, 2.25, 2.26, 2.27
        (date(2026, 2, 27), 1, date(2026, 2, 28)),
        (date(2026, 9, 30), 1, date(2026, 10, 8)),
        (date(2026, 10, 9), 1, date(2026, 10, 10)),
        (date(2026, 3, 6), 3, date(2026, 3, 11)),  # an ordinary weekend
        (date(2026, 2, 15), 0, date(2026, 2, 24)),  # 0 days from a holiday: the next working day
        (date(2026, 3, 9), 0, date(2026, 3, 9)),
    ],
)
def test_add_workdays(start: date, days: int, expected: date) -> None:
    assert add_workdays(start, days) == expected


def test_due_at_is_end_of_the_nth_working_day_in_shanghai() -> None:
    # A consultation (3 working days) assigned on the Monday before the 2025 Spring Festival.
    assert due_at(datetime(2025, 1, 27, 10, 30, tzinfo=TZ), 3) == datetime(2025, 2, 7, 23, 59, 59, tzinfo=TZ)
    # Assigned 2026-02-13 17:00 UTC is already 2026-02-14 01:00 in Shanghai: counting starts from the 14th.
    from datetime import UTC

    assert due_at(datetime(2026, 2, 13, 17, 0, tzinfo=UTC), 1) == datetime(2026, 2, 24, 23, 59, 59, tzinfo=TZ)


def test_extension_and_days_left() -> None:
    deadline = datetime(2026, 9, 30, 23, 59, 59, tzinfo=TZ)
    assert extend(deadline, 2) == datetime(2026, 10, 9, 23, 59, 59, tzinfo=TZ)
    assert workdays_between(date(2025, 1, 27), date(2025, 2, 8)) == 4  # 2.5, 2.6, 2.7 and the make-up Saturday 2.8
    assert workdays_between(date(2025, 2, 8), date(2025, 1, 27)) == -4
    assert workdays_left(deadline, datetime(2026, 9, 29, 9, 0, tzinfo=TZ)) == 1
    assert workdays_left(deadline, datetime(2026, 9, 30, 9, 0, tzinfo=TZ)) == 0
    assert workdays_left(deadline, datetime(2026, 10, 8, 9, 0, tzinfo=TZ)) == -1


def test_a_year_the_calendar_does_not_know_counts_weekdays_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    from yuqing import workdays

    workdays.calendar()._warned.discard(2031)
    with caplog.at_level(logging.WARNING, logger="yuqing.workdays"):
        assert add_workdays(date(2031, 1, 3), 1) == date(2031, 1, 6)  # Friday -> Monday
        assert add_workdays(date(2031, 1, 6), 1) == date(2031, 1, 7)
    assert [r.getMessage() for r in caplog.records] == [
        "no holiday schedule for 2031: counting Monday-Friday as working days; "
        "enter the year's official schedule under calendar.years in the settings, or upgrade chinesecalendar"
    ]


def test_negative_days_refused() -> None:
    with pytest.raises(ValueError, match="days must be >= 0"):
        add_workdays(date(2026, 1, 5), -1)


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 11, 30)), st.integers(min_value=1, max_value=25))
def test_add_then_count_round_trips(start: date, days: int) -> None:
    end = add_workdays(start, days)
    assert is_workday(end)
    assert workdays_between(start, end) == days
    # No working day is skipped: the day before the result is fewer working days away.
    assert workdays_between(start, end - timedelta(days=1)) == days - 1

from __future__ import annotations

from datetime import datetime

import pytest

from yuqing.timeutil import TZ, parse_datetime


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12/27/2016", datetime(2016, 12, 27, tzinfo=TZ)),  # the 12345 export's US order
        ("12/07/2006", datetime(2006, 12, 7, tzinfo=TZ)),
        ("27/12/2016 10:05", datetime(2016, 12, 27, 10, 5, tzinfo=TZ)),  # day first when it cannot be a month
        ("13/13/2016", None),
    ],
)
def test_slashed_dates(text: str, expected: datetime | None) -> None:
    assert parse_datetime(text) == expected


def test_parse_since_spans_and_dates() -> None:
    from yuqing.timeutil import parse_since

    ref = datetime(2026, 11, 27, 12, 0, tzinfo=TZ)
    assert parse_since("24h", ref) == datetime(2026, 11, 26, 12, 0, tzinfo=TZ)
    assert parse_since("7d", ref) == datetime(2026, 11, 20, 12, 0, tzinfo=TZ)
    assert parse_since("30m", ref) == datetime(2026, 11, 27, 11, 30, tzinfo=TZ)
    assert parse_since("2026-11-01", ref) == datetime(2026, 11, 1, tzinfo=TZ)
    assert parse_since("soon", ref) is None

"""Time helpers: everything yuqing stores is timezone-aware, in Asia/Shanghai."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")

_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y",
    "%Y%m%d%H%M%S",
    "%Y%m%d",
)


def now() -> datetime:
    return datetime.now(TZ)


def aware(dt: datetime) -> datetime:
    """Naive datetimes are taken as Shanghai local time (as Chinese sites publish them)."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=TZ)
    return dt.astimezone(TZ)


def parse_datetime(value: object) -> datetime | None:
    """Parse the date formats Chinese sites and feeds use; None when unparsable.

    Accepts datetimes, epoch seconds or milliseconds, ISO 8601, RFC 2822 and the common
    ``2019/5/27 10:50:37`` / ``2020年1月6日`` forms.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return aware(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, TZ)
        except (OverflowError, OSError, ValueError):
            return None
    text = str(value).strip()
    if not text:
        return None
    if re.fullmatch(r"\d{10}(\d{3})?", text):
        return parse_datetime(int(text))
    try:
        return aware(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        pass
    for fmt in _FORMATS:
        try:
            return aware(datetime.strptime(text, fmt))
        except ValueError:
            continue
    try:
        return aware(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        return None


def clamp_future(dt: datetime, reference: datetime, slack: timedelta = timedelta(hours=1)) -> datetime:
    """A publication date in the future is a source's clock or parsing error: use the reference."""
    return reference if dt > reference + slack else dt


__all__ = ["TZ", "aware", "clamp_future", "now", "parse_datetime", "timezone"]

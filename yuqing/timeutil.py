"""Time helpers: everything yuqing stores is timezone-aware, in Asia/Shanghai."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import overload
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")

# Dates before this are placeholders (epoch 0, ``0001-01-01``), not real publication times.
EARLIEST = datetime(1990, 1, 1, tzinfo=TZ)
LATEST = datetime(2100, 1, 1, tzinfo=TZ)

# 2019-05-27 10:50:37, 2019/5/27 10:50, 2019.05.27, 2020年1月6日 12时09分, 2021-03-02T21:41:26.000+0800
_NUMERIC = re.compile(
    r"(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:(?:\s*|T)(?P<H>\d{1,2})\s*[:时點点]\s*(?P<M>\d{1,2})\s*分?(?:\s*[:]?\s*(?P<S>\d{1,2})(?:[.,]\d+)?\s*秒?)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2}|GMT[+-]\d{1,2}|UTC[+-]\d{1,2})?",
    re.I,
)
# 12/27/2016 and 12/27/2016 10:50 (US order, as Excel exports of 12345 records print it); 27/12/2016
# when the first number cannot be a month.
_SLASHED = re.compile(r"(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>\d{4})(?:\s+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?")
_COMPACT = re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})?)?")
# 昨天 12:30, 今天 08:00, 前天 9:05
_DAY_WORD = re.compile(r"(?P<w>今天|昨天|前天)\s*(?:(?P<H>\d{1,2})\s*[:时点]\s*(?P<M>\d{1,2})(?:\s*:\s*(?P<S>\d{1,2}))?)?")
# 5分钟前, 3 小时前, 2天前, 30秒前, 刚刚
_AGO = re.compile(r"(?P<n>\d+)\s*(?P<u>秒|分钟|小时|天|周|个月)前")
_AGO_UNITS = {"秒": 1, "分钟": 60, "小时": 3600, "天": 86400, "周": 7 * 86400, "个月": 30 * 86400}
# 03-02 21:41 (no year: the most recent such date not after the reference)
_NO_YEAR = re.compile(r"(?P<m>\d{1,2})\s*[-/月]\s*(?P<d>\d{1,2})\s*日?\s+(?P<H>\d{1,2})\s*:\s*(?P<M>\d{1,2})(?:\s*:\s*(?P<S>\d{1,2}))?")
_FULLWIDTH = str.maketrans("０１２３４５６７８９：－／．　", "0123456789:-/. ")


def now() -> datetime:
    return datetime.now(TZ)


@overload
def from_epoch(ts: float) -> datetime: ...
@overload
def from_epoch(ts: None) -> None: ...
@overload
def from_epoch(ts: float | None) -> datetime | None: ...
def from_epoch(ts: float | None) -> datetime | None:
    """Epoch seconds as kept in the alert, notify and briefing tables, as an aware datetime in
    Asia/Shanghai (None stays None): the one conversion those stores make at their boundary."""
    return None if ts is None else datetime.fromtimestamp(ts, TZ)


def aware(dt: datetime) -> datetime:
    """Naive datetimes are taken as Shanghai local time (as Chinese sites publish them)."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=TZ)
    return dt.astimezone(TZ)


def _tz(text: str | None) -> timezone | ZoneInfo:
    if not text:
        return TZ
    t = text.upper()
    if t == "Z":
        return UTC
    if t.startswith(("GMT", "UTC")):
        return timezone(timedelta(hours=int(t[3:])))
    sign = -1 if t[0] == "-" else 1
    digits = t[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _build(g: dict[str, str | None], tz: timezone | ZoneInfo = TZ) -> datetime | None:
    try:
        dt = datetime(
            int(g["y"] or 0),
            int(g["m"] or 0),
            int(g["d"] or 0),
            int(g.get("H") or 0),
            int(g.get("M") or 0),
            int(g.get("S") or 0),
            tzinfo=tz,
        )
    except (ValueError, OverflowError, TypeError):
        return None
    return _in_range(dt)


def _in_range(dt: datetime) -> datetime | None:
    try:
        dt = dt.astimezone(TZ)
    except (OverflowError, ValueError):
        return None
    return dt if EARLIEST <= dt < LATEST else None


def _epoch(value: float) -> datetime | None:
    seconds = value / 1000 if abs(value) > 1e11 else value
    try:
        return _in_range(datetime.fromtimestamp(seconds, TZ))
    except (OverflowError, OSError, ValueError):
        return None


def parse_datetime(value: object, reference: datetime | None = None) -> datetime | None:
    """Parse the date formats Chinese sites and feeds use; None when unparsable or implausible.

    Accepts datetimes, epoch seconds or milliseconds, ISO 8601, RFC 2822, ``2019/5/27 10:50:37``,
    ``2020年1月6日 12时09分``, ``20200106120938``, full-width digits, and the relative forms boards
    print (``刚刚``, ``5分钟前``, ``昨天 12:30``, ``03-02 21:41``) counted from ``reference``
    (default: now). Times without a zone are Shanghai time. Dates before 1990 or from 2100 on are
    placeholders and give None. Never raises.
    """
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return _in_range(aware(value)) if value.year > 1 else None
    if isinstance(value, (int, float)):
        return _epoch(value) if value == value else None  # NaN
    text = str(value).translate(_FULLWIDTH).strip()
    if not text or len(text) > 100:
        return None
    if re.fullmatch(r"\d{8}(\d{4}(\d{2})?)?", text):  # 20200106, 202001061209, 20200106120938
        m = _COMPACT.fullmatch(text)
        compact = _build(m.groupdict()) if m else None
        if compact is not None or len(text) not in (9, 10, 11, 12, 13):
            return compact
    if re.fullmatch(r"-?\d{9,13}(\.\d+)?", text):  # epoch seconds (9-10 digits) or milliseconds (12-13)
        return _epoch(float(text))
    try:
        return _in_range(aware(datetime.fromisoformat(text.replace("Z", "+00:00"))))
    except ValueError:
        pass
    m = _NUMERIC.fullmatch(text)
    if m:
        g = m.groupdict()
        try:
            tz = _tz(g["tz"])
        except ValueError:
            return None
        return _build(g, tz)
    m = _SLASHED.fullmatch(text)
    if m:
        g = m.groupdict()
        month, day = (g["a"], g["b"]) if int(g["a"]) <= 12 else (g["b"], g["a"])
        return _build({"y": g["y"], "m": month, "d": day, "H": g["H"], "M": g["M"], "S": g["S"]})
    ref = aware(reference) if reference else now()
    if text == "刚刚":
        return ref
    m = _AGO.fullmatch(text)
    if m:
        try:
            return _in_range(ref - timedelta(seconds=int(m["n"]) * _AGO_UNITS[m["u"]]))
        except OverflowError:
            return None
    m = _DAY_WORD.fullmatch(text)
    if m:
        day = (ref - timedelta(days=("今天", "昨天", "前天").index(m["w"]))).date()
        return _build({"y": str(day.year), "m": str(day.month), "d": str(day.day), "H": m["H"], "M": m["M"], "S": m["S"]})
    m = _NO_YEAR.fullmatch(text)
    if m:
        g = {**m.groupdict(), "y": str(ref.year)}
        dt = _build(g)
        if dt is not None and dt > ref + timedelta(days=1):
            dt = _build({**g, "y": str(ref.year - 1)})
        return dt
    try:
        return _in_range(aware(parsedate_to_datetime(text)))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def clamp_future(dt: datetime, reference: datetime, slack: timedelta = timedelta(hours=1)) -> datetime:
    """A publication date in the future is a source's clock or parsing error: use the reference."""
    return reference if dt > reference + slack else dt


__all__ = ["TZ", "aware", "clamp_future", "now", "parse_datetime", "timezone"]


def parse_since(value: str, reference: datetime | None = None) -> datetime | None:
    """A point in time as staff type it on the command line: a duration ago (``30m``, ``24h``,
    ``7d``, ``2w``, ``1h30m``: the grammar of ``yuqing.duration``), or any date ``parse_datetime``
    reads (``2026-11-01``). None when unreadable."""
    from yuqing.duration import span

    ago = span(value)
    if ago is not None:
        return (reference or now()) - ago
    return parse_datetime(value, reference)

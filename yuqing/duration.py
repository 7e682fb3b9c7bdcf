"""The one duration grammar: ``30s``, ``5m``, ``4h``, ``1d``, ``2w``, ``1h30m`` (or plain seconds in
settings and rule files). ``--since 24h`` on the command line (``timeutil.parse_since``) and the
briefing periods read the same grammar (``span``)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"a duration cannot be negative: {value!r}")
        return timedelta(seconds=float(value))
    if isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        if re.fullmatch(r"\d+(\.\d+)?", text):
            return timedelta(seconds=float(text))
        pos, total = 0, 0.0
        for m in _PART.finditer(text):
            if m.start() != pos:
                break
            total += float(m.group(1)) * _UNITS[m.group(2)]
            pos = m.end()
        if text and pos == len(text):
            return timedelta(seconds=total)
    raise ValueError(f"not a duration: {value!r} (use 30s, 5m, 4h, 1d, 1h30m or seconds)")


def span(value: str) -> timedelta | None:
    """A duration written with its units (``30m``, ``24h``, ``7d``, ``2w``, ``1h30m``), as ``--since``
    takes it; None for anything else, plain numbers included (``2026`` is a year, not seconds)."""
    text = value.strip().lower().replace(" ", "")
    if not text or re.fullmatch(r"\d+(\.\d+)?", text):
        return None
    try:
        return parse_duration(text)
    except ValueError:
        return None


def format_duration(td: timedelta) -> str:
    secs = int(td.total_seconds())
    if secs and secs % 86400 == 0:
        return f"{secs // 86400}d"
    if secs and secs % 3600 == 0:
        return f"{secs // 3600}h"
    if secs and secs % 60 == 0:
        return f"{secs // 60}m"
    return f"{td.total_seconds():g}s"


def chinese_duration(td: timedelta) -> str:
    """For notifications: ``1 小时``, ``30 分钟``, ``2 天``."""
    secs = int(td.total_seconds())
    if secs and secs % 86400 == 0:
        return f"{secs // 86400} 天"
    if secs and secs % 3600 == 0:
        return f"{secs // 3600} 小时"
    if secs >= 60 and secs % 60 == 0:
        return f"{secs // 60} 分钟"
    return f"{secs} 秒"


Duration = Annotated[timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)]

"""Health per source, and flatline detection: a source that went silent is itself a signal.

``assess`` is pure: from a source's configuration, its stored health and its items per day it
says whether the source is fine, failing, spooling or silent for longer than it should be.

Flatline threshold (hours without a new post), unless the source sets ``flatline_hours``:
``max(5 x 24 / typical daily items, 3 x interval, 12 h)``, where the typical daily volume is the
mean over the last 14 days the source ran (today excluded) and at least 3 such days are needed.
Five mean gaps: for a source whose posts arrive at random at its usual rate, five gaps without a
post happen by chance less than 1% of the time. The 12-hour floor keeps quiet nights (county
boards are silent from midnight to morning) from raising alarms. Until a source has 3 days of
history and no ``flatline_hours``, no flatline is judged ("数据不足").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from collectors.config import SourceConfig
from collectors.state import Health

FACTOR = 5.0
FLOOR_HOURS = 12.0
MIN_DAYS = 3
STATUS_ZH = {
    "ok": "正常",
    "error": "错误",
    "flatline": "静默",
    "spooling": "暂存待发",
    "never": "未运行",
    "disabled": "已停用",
}


@dataclass(frozen=True)
class SourceStatus:
    id: str
    kind: str
    name: str
    enabled: bool
    status: str  # ok | error | flatline | spooling | never | disabled
    last_run: datetime | None
    last_success: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    last_new_at: datetime | None
    items_today: int
    items_total: int
    typical_daily: float | None
    silence_hours: float | None
    flatline_hours: float | None  # the threshold in force; None when it cannot be judged yet
    failures: int
    spooled: int
    last_problems: int

    @property
    def status_zh(self) -> str:
        return STATUS_ZH[self.status]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for k, v in out.items():
            if isinstance(v, datetime):
                out[k] = v.isoformat()
        out["status_zh"] = self.status_zh
        return out


def typical_daily(daily: dict[str, int], today: str, days: int = 14) -> float | None:
    past = [n for day, n in sorted(daily.items()) if day < today][-days:]
    return sum(past) / len(past) if len(past) >= MIN_DAYS else None


def threshold_hours(src: SourceConfig, typical: float | None) -> float | None:
    if src.flatline_hours:
        return src.flatline_hours
    if not typical:
        return None
    return max(FACTOR * 24.0 / typical, 3 * src.interval / 3600.0, FLOOR_HOURS)


def assess(src: SourceConfig, h: Health | None, daily: dict[str, int], ref: datetime, override_hours: float | None = None) -> SourceStatus:
    today = ref.strftime("%Y-%m-%d")
    typical = typical_daily(daily, today)
    limit = override_hours or threshold_hours(src, typical)
    since = (h.last_new_at or h.first_run or h.last_success) if h else None
    silence = (ref - since).total_seconds() / 3600.0 if since else None
    if not src.enabled:
        status = "disabled"
    elif h is None:
        status = "never"
    elif h.failures > 0:
        status = "error"
    elif h.spooled > 0:
        status = "spooling"
    elif limit is not None and silence is not None and silence > limit:
        status = "flatline"
    else:
        status = "ok"
    return SourceStatus(
        id=src.id,
        kind=src.kind,
        name=src.display_name,
        enabled=src.enabled,
        status=status,
        last_run=h.last_run if h else None,
        last_success=h.last_success if h else None,
        last_error=h.last_error if h else None,
        last_error_at=h.last_error_at if h else None,
        last_new_at=h.last_new_at if h else None,
        items_today=h.items_today if h else 0,
        items_total=h.items_total if h else 0,
        typical_daily=round(typical, 2) if typical is not None else None,
        silence_hours=round(silence, 2) if silence is not None else None,
        flatline_hours=limit,
        failures=h.failures if h else 0,
        spooled=h.spooled if h else 0,
        last_problems=h.last_problems if h else 0,
    )


def snapshot(
    sources: list[SourceConfig], state: Any, ref: datetime | None = None, override_hours: float | None = None
) -> list[SourceStatus]:
    """Status of every configured source from a ``collectors.state.StateStore``."""
    from yuqing.timeutil import now

    ref = ref or now()
    health = {h.source: h for h in state.health()}
    return [assess(src, health.get(src.id), state.daily(src.id, 15), ref, override_hours) for src in sources]

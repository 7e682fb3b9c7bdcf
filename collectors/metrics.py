"""Source health as Prometheus metrics (text exposition format 0.0.4).

``render(settings)`` returns the exposition text; serve it at ``/metrics`` with content type
``CONTENT_TYPE``. The figures are the ones ``yuqing sources`` shows (``collectors.health``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from collectors.health import SourceStatus, snapshot

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _ts(v: Any) -> float | None:
    return v.timestamp() if v is not None else None


# name, type, help, value
METRICS: list[tuple[str, str, str, Callable[[SourceStatus], float | None]]] = [
    ("yuqing_source_enabled", "gauge", "1 when the source is enabled in the settings", lambda s: float(s.enabled)),
    ("yuqing_source_up", "gauge", "1 when the source's last run succeeded", lambda s: float(s.status in ("ok", "flatline", "spooling"))),
    (
        "yuqing_source_flatline",
        "gauge",
        "1 when the source published nothing new for longer than its threshold",
        lambda s: float(s.status == "flatline"),
    ),
    ("yuqing_source_last_run_timestamp_seconds", "gauge", "time of the last run", lambda s: _ts(s.last_run)),
    ("yuqing_source_last_success_timestamp_seconds", "gauge", "time of the last successful run", lambda s: _ts(s.last_success)),
    ("yuqing_source_last_error_timestamp_seconds", "gauge", "time of the last error", lambda s: _ts(s.last_error_at)),
    ("yuqing_source_last_new_post_timestamp_seconds", "gauge", "time of the last run that found a new post", lambda s: _ts(s.last_new_at)),
    ("yuqing_source_posts_total", "counter", "new posts collected since the state was created", lambda s: float(s.items_total)),
    ("yuqing_source_posts_today", "gauge", "new posts collected today (Asia/Shanghai)", lambda s: float(s.items_today)),
    ("yuqing_source_typical_daily_posts", "gauge", "mean new posts per day over the last 14 days with runs", lambda s: s.typical_daily),
    (
        "yuqing_source_silence_seconds",
        "gauge",
        "seconds since the last new post",
        lambda s: None if s.silence_hours is None else s.silence_hours * 3600,
    ),
    (
        "yuqing_source_flatline_threshold_seconds",
        "gauge",
        "silence after which the source is flagged",
        lambda s: None if s.flatline_hours is None else s.flatline_hours * 3600,
    ),
    ("yuqing_source_consecutive_failures", "gauge", "failed runs since the last success", lambda s: float(s.failures)),
    ("yuqing_source_spooled_posts", "gauge", "posts waiting in the spool for the bus", lambda s: float(s.spooled)),
    ("yuqing_source_last_run_problems", "gauge", "items skipped or repaired in the last successful run", lambda s: float(s.last_problems)),
]


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(float(v))


def render_statuses(statuses: list[SourceStatus]) -> str:
    lines: list[str] = []
    for name, kind, help_text, value in METRICS:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for s in statuses:
            v = value(s)
            if v is None:
                continue
            lines.append(f'{name}{{source="{_label(s.id)}",kind="{_label(s.kind)}"}} {_num(v)}')
    return "\n".join(lines) + "\n"


def render(settings: Any, state: Any = None) -> str:
    """Prometheus text for every configured source. ``state`` is an open
    ``collectors.state.StateStore`` (e.g. ``runtime.state``); without it the state database of
    ``settings.state_url`` is opened and closed again."""
    from collectors.state import StateStore

    own = state is None
    store = StateStore(settings.state_url) if own else state
    try:
        return render_statuses(snapshot(list(settings.sources), store))
    finally:
        if own:
            store.close()

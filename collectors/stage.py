"""Schedule every enabled source with APScheduler: its own interval plus jitter; one failing
source never stops the others (``run_source`` records the error in the source's health)."""

from __future__ import annotations

import threading
from typing import Any

from collectors.registry import make_collector
from collectors.service import run_source
from collectors.state import runtime_state
from yuqing.runtime import Runtime


def start(runtime: Runtime, scheduler: Any, stop: threading.Event) -> list[threading.Thread]:
    for src in runtime.settings.sources:
        if not src.enabled:
            continue
        collector = make_collector(src)
        scheduler.add_job(
            run_source,
            "interval",
            args=(collector, runtime.bus, runtime_state(runtime)),
            seconds=src.interval,
            jitter=src.interval * src.jitter,
            id=f"collect:{src.id}",
            name=f"collect {src.id}",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,  # the first run is due at start-up, before the scheduler runs
            next_run_time=_now(),
        )
    return []


def _now() -> Any:
    from yuqing.timeutil import now

    return now()

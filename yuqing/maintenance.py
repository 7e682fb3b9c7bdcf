"""Housekeeping that ``yuqing run`` schedules: retention of the embedded bus's log.

Kafka's retention is the broker's (``log.retention.hours`` in docker-compose.yml); the embedded
bus deletes messages older than ``bus.retention_days`` that every consumer group has committed.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from yuqing.runtime import Runtime

log = logging.getLogger("yuqing.maintenance")


def purge_bus(runtime: Runtime) -> int:
    bus = runtime.bus
    purge = getattr(bus, "purge", None)
    if purge is None:
        return 0
    n = int(purge(runtime.settings.bus.retention_days * 86400))
    if n:
        log.info("bus retention: deleted %d messages older than %g days", n, runtime.settings.bus.retention_days)
    return n


def start(runtime: Runtime, scheduler: Any, stop: threading.Event) -> list[threading.Thread]:
    if runtime.settings.bus.url.startswith("sqlite:"):
        scheduler.add_job(purge_bus, "interval", args=(runtime,), hours=6, id="bus-retention", name="bus retention", coalesce=True)
    return []

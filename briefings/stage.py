"""The briefings inside ``yuqing run``: the scheduled 日报/周报/月报 (``ledger.briefing.schedules``),
recorded in the archive and delivered through the ledger's durable deliveries (``ledger.channels``)."""

from __future__ import annotations

import threading
from typing import Any

from yuqing.runtime import Runtime


def start(runtime: Runtime, scheduler: Any, stop: threading.Event) -> list[threading.Thread]:
    from briefings.schedule import schedule
    from ledger.channels import open_ledger_deliveries

    settings = runtime.settings
    if not settings.ledger.enabled:
        return []
    schedule(scheduler, settings, runtime.store, ledger_deliveries=open_ledger_deliveries(settings))
    return []

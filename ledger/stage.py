"""The ledger inside ``yuqing run``: scheduled jobs for reminders, the outbox and deliveries.
The web app that serves it is the ``web`` package's (``web.stage``), the scheduled briefings the
``briefings`` package's (``briefings.stage``)."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from ledger.db import Database
from ledger.service import LedgerService
from yuqing.bus import Bus
from yuqing.runtime import Runtime

if TYPE_CHECKING:
    from app.settings import Settings  # a type only: stages do not import the application

log = logging.getLogger("ledger")


def open_service(settings: Settings, *, bus: Bus | None = None, migrate: bool = True) -> LedgerService:
    db = Database(settings.database.url)
    if migrate:
        db.migrate()
    return LedgerService(db, settings.ledger, bus=bus)


def start(runtime: Runtime, scheduler: Any, stop: threading.Event) -> list[threading.Thread]:
    from ledger.channels import open_ledger_deliveries
    from ledger.reminders import deliver_pending, run_reminders

    settings = runtime.settings
    cfg = settings.ledger
    if not cfg.enabled:
        return []
    service = open_service(settings, bus=runtime.bus)
    ledger_deliveries = open_ledger_deliveries(settings)
    scheduler.add_job(
        run_reminders,
        "interval",
        args=(service, []),
        kwargs={"ledger_deliveries": ledger_deliveries},
        minutes=cfg.reminder_interval_minutes,
        id="ledger:reminders",
        name="ledger reminders",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        service.flush_pending, "interval", seconds=30, id="ledger:outbox", name="ledger outbox", max_instances=1, coalesce=True
    )
    scheduler.add_job(
        deliver_pending,
        "interval",
        args=(service, ledger_deliveries),
        seconds=15,
        id="ledger:deliveries",
        name="ledger deliveries (reminders, briefings): retries",
        max_instances=1,
        coalesce=True,
    )
    return []

"""The ledger inside ``yuqing run``: the web service in a thread (uvicorn, bound to
``ledger.host:ledger.port``), and scheduled jobs for reminders and for the outbox."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import uvicorn

from ledger.config import LedgerConfig
from ledger.db import Database
from ledger.service import LedgerService
from yuqing.bus import Bus
from yuqing.runtime import Runtime
from yuqing.settings import Settings

if TYPE_CHECKING:
    from alerts.store import AlertStore

log = logging.getLogger("ledger")


class ThreadServer(uvicorn.Server):
    """uvicorn without its signal handlers: the process that embeds it owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def open_service(settings: Settings, *, bus: Bus | None = None, migrate: bool = True) -> LedgerService:
    db = Database(settings.database.url)
    if migrate:
        db.migrate()
    return LedgerService(db, settings.ledger, bus=bus)


def alert_store(settings: Settings) -> AlertStore | None:
    """Where the alert engine keeps its alerts, for the alert pages; None when alerts are off."""
    if not settings.alerts.enabled:
        return None
    from alerts.service import database_url
    from alerts.store import AlertStore

    return AlertStore(database_url(settings))


def serve_in_thread(
    app: Any, config: LedgerConfig, stop: threading.Event, *, name: str = "ledger-web"
) -> tuple[ThreadServer, threading.Thread]:
    server = ThreadServer(
        uvicorn.Config(
            app,
            host=config.host,
            port=config.port,
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=5,
            proxy_headers=True,
            forwarded_allow_ips=config.forwarded_allow_ips,
        )
    )

    def run() -> None:
        server.run()
        if not server.started:
            log.error("ledger web service could not start on %s:%d", config.host, config.port)

    def watch() -> None:
        stop.wait()
        server.should_exit = True

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    threading.Thread(target=watch, name=f"{name}-stop", daemon=True).start()
    return server, thread


def start(runtime: Runtime, scheduler: Any, stop: threading.Event) -> list[threading.Thread]:
    from ledger.channels import open_outbox
    from ledger.reminders import deliver_pending, run_reminders
    from web import create_app

    settings = runtime.settings
    cfg = settings.ledger
    if not cfg.enabled:
        return []
    service = open_service(settings, bus=runtime.bus)
    outbox = open_outbox(settings)
    app = create_app(service, store=runtime.store, alerts=alert_store(settings))
    from ledger.briefing.schedule import open_archive

    app.state.briefings = open_archive(settings, outbox)
    from web.scheme_pages import start_backfill

    job = start_backfill(app)  # re-tags stored posts after scheme changes; resumes an interrupted run

    def stop_backfill() -> None:
        stop.wait()
        job.stop()

    threading.Thread(target=stop_backfill, name="schemes-backfill-stop", daemon=True).start()
    _, thread = serve_in_thread(app, cfg, stop)
    scheduler.add_job(
        run_reminders,
        "interval",
        args=(service, []),
        kwargs={"outbox": outbox},
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
        args=(service, outbox),
        seconds=15,
        id="ledger:deliveries",
        name="ledger deliveries (reminders, briefings): retries",
        max_instances=1,
        coalesce=True,
    )
    from ledger.briefing.schedule import schedule

    schedule(scheduler, settings, runtime.store, outbox=outbox)
    log.info("ledger web UI on http://%s:%d", cfg.host, cfg.port)
    return [thread]

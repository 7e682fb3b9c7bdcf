"""The web app inside ``yuqing run``: uvicorn in a thread, bound to ``ledger.host:ledger.port``."""

from __future__ import annotations

import logging
import threading
from typing import Any

from web.serve import alert_store, open_service, serve_in_thread
from yuqing.runtime import Runtime

log = logging.getLogger("web")


def start(runtime: Runtime, scheduler: Any, stop: threading.Event) -> list[threading.Thread]:
    from briefings.schedule import open_archive
    from ledger.channels import open_ledger_deliveries
    from web import create_app

    settings = runtime.settings
    cfg = settings.ledger
    if not cfg.enabled:
        return []
    service = open_service(settings, bus=runtime.bus)
    app = create_app(service, store=runtime.store, alerts=alert_store(settings))
    app.state.briefings = open_archive(settings, open_ledger_deliveries(settings))
    from web.scheme_pages import start_backfill

    job = start_backfill(app)  # re-tags stored posts after scheme changes; resumes an interrupted run

    def stop_backfill() -> None:
        stop.wait()
        job.stop()

    threading.Thread(target=stop_backfill, name="schemes-backfill-stop", daemon=True).start()
    _, thread = serve_in_thread(app, cfg, stop)
    log.info("web UI on http://%s:%d", cfg.host, cfg.port)
    return [thread]

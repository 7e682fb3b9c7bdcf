"""Serving the web app: uvicorn in a thread (``yuqing web``, ``yuqing ledger serve`` and inside
``yuqing run``), bound to ``ledger.host:ledger.port``."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import uvicorn

from ledger.config import LedgerConfig
from ledger.stage import open_service

if TYPE_CHECKING:
    from alerts.store import AlertStore

log = logging.getLogger("web")


class ThreadServer(uvicorn.Server):
    """uvicorn without its signal handlers: the process that embeds it owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def alert_store(settings: Any) -> AlertStore | None:
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
            log.error("web service could not start on %s:%d", config.host, config.port)

    def watch() -> None:
        stop.wait()
        server.should_exit = True

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    threading.Thread(target=watch, name=f"{name}-stop", daemon=True).start()
    return server, thread


def serve_forever(settings: Any, host: str | None, port: int | None, echo: Any) -> bool:
    """``yuqing web``: serve the app until SIGINT/SIGTERM; False when it could not start."""
    from web import create_app
    from yuqing.clikit import on_signals
    from yuqing.runtime import Runtime

    runtime = Runtime(settings)
    service = open_service(settings)
    service.bus = runtime.bus
    cfg = settings.ledger.model_copy(update={k: v for k, v in {"host": host, "port": port}.items() if v is not None})
    stop = threading.Event()
    on_signals(stop)
    app = create_app(service, store=runtime.store, alerts=alert_store(settings))
    from web.scheme_pages import start_backfill

    job = start_backfill(app)  # re-tags stored posts after scheme changes; resumes an interrupted run
    server, thread = serve_in_thread(app, cfg, stop)
    echo(f"台账服务：http://{cfg.host}:{cfg.port}/  （Ctrl-C 停止）")
    try:
        while thread.is_alive() and not stop.wait(0.5):
            pass
        thread.join(timeout=10)
    finally:
        job.stop()
        runtime.close()
        service.db.close()
    return bool(server.started)

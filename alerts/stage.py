"""Run the alert engine in ``yuqing run`` or ``yuqing alerts run``: consume ``posts.classified``
as group ``alerts``, tick the timers every ``alerts.tick_interval``, deliver on one thread per
channel.

Several engines may run (``docker-compose.yml`` runs two): one holds the lease in the alerts
database and is active; the others wait as hot standbys, outside the consumer group, and the
first to find the lease expired takes over from the windows and offsets the active one committed
(``alerts.lease``: why a lease rather than partitioned windows, and how fencing works).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from alerts import db
from alerts.lease import Fenced, Lease
from alerts.service import AlertService, build_service
from yuqing.errors import BackendError
from yuqing.events import POSTS_CLASSIFIED, PostClassified, decode
from yuqing.runtime import Runtime
from yuqing.worker import Stage

log = logging.getLogger("yuqing.alerts")

GROUP = "alerts"
LEDGER_GROUP = "alerts-ledger"  # the ledger's case events, for rules that follow responses (rebound)


def make_stage(svc: AlertService, runtime: Runtime) -> Stage[PostClassified]:
    cfg = runtime.settings.alerts
    return Stage(
        name="alerts",
        bus=runtime.bus,
        topic=POSTS_CLASSIFIED,
        group=GROUP,
        decode=lambda data: decode(data, PostClassified),
        handle=svc.engine.handle,
        batch_size=cfg.batch_size,
        linger=cfg.linger_ms / 1000,
    )


def make_ledger_stage(svc: AlertService, runtime: Runtime) -> Stage[Any]:
    """The ledger's events (topic ``ledger``) for rules that follow a case's response (``rebound``)."""
    from yuqing.ledger_events import TOPIC as LEDGER_TOPIC
    from yuqing.ledger_events import decode as decode_ledger

    return Stage(
        name="alerts-ledger",
        bus=runtime.bus,
        topic=LEDGER_TOPIC,
        group=LEDGER_GROUP,
        decode=decode_ledger,
        handle=svc.engine.handle_ledger,
        batch_size=runtime.settings.alerts.batch_size,
        linger=0.0,
    )


def _active(
    svc: AlertService,
    stage: Stage[PostClassified],
    stop: threading.Event,
    tick_interval: float,
    lease: Lease | None,
    ledger_stage: Stage[Any] | None = None,
) -> None:
    """Consume and tick until ``stop``; with a lease, renew it a few times per lease period (every
    engine transaction renews it too) and raise Fenced when it was lost. The ledger's events, when
    a rule follows them, are read on the same thread between batches of posts."""
    next_tick = 0.0
    next_renew = 0.0
    while not stop.is_set():
        if lease is not None and time.monotonic() >= next_renew:
            try:
                lease.renew()
            except BackendError as exc:  # pragma: no cover - database down: the commit below fails too and is retried
                log.error("alerts: could not renew the lease: %s", exc)
            next_renew = time.monotonic() + lease.seconds / 3
        stage._run_with_retry(timeout=min(stage.linger, tick_interval), stop=stop)
        if ledger_stage is not None:
            ledger_stage._run_with_retry(timeout=0.0, stop=stop)
        if time.monotonic() >= next_tick:
            next_tick = time.monotonic() + tick_interval
            try:
                svc.engine.tick()
            except BackendError as exc:
                log.error("alerts: tick failed (retried next tick): %s", exc)


def run_loop(
    svc: AlertService,
    new_stage: Callable[[], Stage[PostClassified]],
    stop: threading.Event,
    tick_interval: float,
    lease: Lease | None = None,
    new_ledger_stage: Callable[[], Stage[Any]] | None = None,
) -> None:
    waiting_logged = False
    try:
        while not stop.is_set():
            if lease is not None:
                try:
                    got = lease.acquire()
                except Exception as exc:  # the database may be down: keep trying, one line per attempt
                    log.error("alerts: lease check failed: %s", exc)
                    got = False
                if not got:
                    if not waiting_logged:
                        log.info("alerts: another engine is active; this one (%s) is on standby", lease.holder)
                        waiting_logged = True
                    stop.wait(max(0.2, lease.seconds / 5))
                    continue
                waiting_logged = False
                svc.engine.reload()
            stage = new_stage()
            ledger_stage = new_ledger_stage() if new_ledger_stage is not None and svc.engine.follows_ledger else None
            log.info("alerts: consuming %s as group %s", stage.topic, stage.group)
            if ledger_stage is not None:
                log.info("alerts: consuming %s as group %s (rebound rules)", ledger_stage.topic, ledger_stage.group)
            try:
                _active(svc, stage, stop, tick_interval, lease, ledger_stage)
            except Fenced as exc:
                log.warning("%s", exc)
            finally:
                stage.close()
                if ledger_stage is not None:
                    ledger_stage.close()
    finally:
        if lease is not None and lease.held:
            try:
                lease.release()
            except Exception as exc:  # shutting down anyway; the lease expires on its own
                log.warning("alerts: could not release the lease: %s", exc)
        svc.deliverer.wake(set(svc.notifiers))


def start(runtime: Runtime, scheduler: Any, stop: threading.Event) -> list[threading.Thread]:
    cfg = runtime.settings.alerts
    if not cfg.enabled:
        return []
    svc = build_service(runtime.settings, bus=runtime.bus)
    lease = Lease(db.get_engine(svc.store.url), seconds=cfg.lease_seconds)
    svc.engine.fence = lease.renew_in
    svc.deliverer.gate = lambda: lease.held
    threads = svc.deliverer.start(stop)
    t = threading.Thread(
        target=run_loop,
        args=(
            svc,
            lambda: make_stage(svc, runtime),
            stop,
            cfg.tick_interval.total_seconds(),
            lease,
            lambda: make_ledger_stage(svc, runtime),
        ),
        name="alerts",
        daemon=True,
    )
    t.start()
    return [t, *threads]

"""Run the alert engine in ``yuqing run``: consume ``posts.classified`` as group ``alerts``,
tick the timers every ``alerts.tick_interval``, deliver on one thread per channel.

Run one alerts process per deployment: the engine's windows live in its memory (and the
database), so two engines sharing the consumer group would each see only part of the stream.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from alerts.service import AlertService, build_service
from yuqing.errors import BackendError
from yuqing.events import POSTS_CLASSIFIED, PostClassified, decode
from yuqing.runtime import Runtime
from yuqing.worker import Stage

log = logging.getLogger("yuqing.alerts")

GROUP = "alerts"


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


def run_loop(svc: AlertService, stage: Stage[PostClassified], stop: threading.Event, tick_interval: float) -> None:
    log.info("alerts: consuming %s as group %s", stage.topic, stage.group)
    next_tick = 0.0
    try:
        while not stop.is_set():
            stage._run_with_retry(timeout=min(stage.linger, tick_interval), stop=stop)
            if time.monotonic() >= next_tick:
                next_tick = time.monotonic() + tick_interval
                try:
                    svc.engine.tick()
                except BackendError as exc:
                    log.error("alerts: tick failed (retried next tick): %s", exc)
    finally:
        stage.close()
        svc.deliverer.wake(set(svc.notifiers))


def start(runtime: Runtime, scheduler: Any, stop: threading.Event) -> list[threading.Thread]:
    cfg = runtime.settings.alerts
    if not cfg.enabled:
        return []
    svc = build_service(runtime.settings, bus=runtime.bus)
    stage = make_stage(svc, runtime)
    threads = svc.deliverer.start(stop)
    t = threading.Thread(target=run_loop, args=(svc, stage, stop, cfg.tick_interval.total_seconds()), name="alerts", daemon=True)
    t.start()
    return [t, *threads]

"""What ``yuqing run`` runs: each part contributes a ``start(runtime, scheduler, stop)`` that
schedules its jobs and returns its threads. The application composes them here: the processing
stage gets the 监测方案 tagger with the corrections re-applied, the web app is served beside the
ledger's jobs.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from yuqing.runtime import Runtime

log = logging.getLogger("yuqing.run")

StartFn = Callable[[Runtime, Any, threading.Event], list[threading.Thread]]

# Listed by import path so that a part that fails to import is reported by name.
STAGES: list[str] = [
    "collectors.stage:start",
    "app.run:start_processing",
    "alerts.stage:start",
    "ledger.stage:start",
    "briefings.stage:start",
    "web.stage:start",
    "yuqing.maintenance:start",
]


def processing_tagger(settings: Any) -> Any:
    """The processing stage's tagger: the 监测方案 (``schemes``), with the people's corrections
    (``corrections``) put back on every re-processed post."""
    from corrections.apply import with_corrections
    from schemes.tagger import Tagger

    return with_corrections(Tagger(settings.database.url), settings.database.url)


def start_processing(runtime: Runtime, scheduler: Any, stop: threading.Event) -> list[threading.Thread]:
    from processors.stage import start

    return start(runtime, scheduler, stop, tagger=processing_tagger(runtime.settings))


def start_all(runtime: Runtime, scheduler: Any, stop: threading.Event, stages: list[str] | None = None) -> list[threading.Thread]:
    threads: list[threading.Thread] = []
    for target in stages or STAGES:
        module, _, name = target.partition(":")
        fn: StartFn = getattr(importlib.import_module(module), name)
        threads += fn(runtime, scheduler, stop)
        log.info("started %s", target)
    return threads

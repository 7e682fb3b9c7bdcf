"""What ``yuqing run`` runs: each package contributes a ``start(runtime, scheduler, stop)``.

Stages are listed by import path so that a package that is not installed or fails to import is
reported by name instead of breaking the others.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from yuqing.runtime import Runtime

log = logging.getLogger("yuqing.run")

STAGES: list[str] = [
    "collectors.stage:start",
    "processors.stage:start",
    "alerts.stage:start",
    "ledger.stage:start",
    "yuqing.maintenance:start",
]

StartFn = Callable[[Runtime, Any, threading.Event], list[threading.Thread]]


def start_all(runtime: Runtime, scheduler: Any, stop: threading.Event, stages: list[str] | None = None) -> list[threading.Thread]:
    threads: list[threading.Thread] = []
    for target in stages or STAGES:
        module, _, name = target.partition(":")
        fn: StartFn = getattr(importlib.import_module(module), name)
        threads += fn(runtime, scheduler, stop)
        log.info("started %s", module.split(".")[0])
    return threads

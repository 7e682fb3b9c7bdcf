"""Run the processing stage in a thread of ``yuqing run``."""

from __future__ import annotations

import threading
from typing import Any

from processors.classify import Classifier
from processors.worker import make_stage
from yuqing.runtime import Runtime


def start(runtime: Runtime, scheduler: Any, stop: threading.Event, *, tagger: Any = None) -> list[threading.Thread]:
    """``tagger`` adds the 监测方案 (and whatever else the application composes in) to each post."""
    cfg = runtime.settings.processors
    classifier = Classifier(cfg)
    stage = make_stage(runtime.bus, runtime.store, classifier, batch_size=cfg.batch_size, linger=cfg.linger_ms / 1000, tagger=tagger)
    thread = threading.Thread(target=stage.run_forever, args=(stop,), name="process", daemon=True)
    thread.start()
    return [thread]

"""Run the processing stage in a thread of ``yuqing run``."""

from __future__ import annotations

import threading
from typing import Any

from processors.classify import Classifier
from processors.worker import make_stage
from yuqing.runtime import Runtime


def start(runtime: Runtime, scheduler: Any, stop: threading.Event) -> list[threading.Thread]:
    cfg = runtime.settings.processors
    classifier = Classifier(cfg)
    from corrections.apply import with_corrections
    from schemes.tagger import Tagger

    tagger = with_corrections(Tagger(runtime.settings.database.url), runtime.settings.database.url)
    stage = make_stage(runtime.bus, runtime.store, classifier, batch_size=cfg.batch_size, linger=cfg.linger_ms / 1000, tagger=tagger)
    thread = threading.Thread(target=stage.run_forever, args=(stop,), name="process", daemon=True)
    thread.start()
    return [thread]

"""The scheduled briefing inside ``yuqing run`` (``ledger.briefing.cron``; off by default).

Each run covers the ``period_days`` whole days before the day it runs (a job at Monday 08:00
with the default 7 days reports Monday to Sunday of the week before) and writes to
``ledger.briefing.out_dir``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from yuqing.settings import Settings
from yuqing.store import Store
from yuqing.timeutil import TZ, now

log = logging.getLogger("ledger.briefing")
JOB_ID = "ledger:briefing"


def schedule(scheduler: Any, settings: Settings, store: Store) -> bool:
    """Add the job when ``ledger.briefing.cron`` is set; says whether it did."""
    cfg = settings.ledger.briefing
    if not cfg.cron:
        return False
    from ledger.briefing.config import cron_trigger

    scheduler.add_job(
        run_scheduled,
        cron_trigger(cfg.cron, timezone=TZ),
        args=(settings, store),
        id=JOB_ID,
        name="risk briefing",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=3600,  # a briefing an hour late is still wanted
    )
    log.info("risk briefing scheduled: %s (the %d days before each run) -> %s", cfg.cron, cfg.period_days, cfg.out_dir)
    return True


def run_scheduled(settings: Settings, store: Store, at: datetime | None = None) -> Any:
    from ledger.briefing.build import midnight, produce
    from ledger.briefing.model import Period

    cfg = settings.ledger.briefing
    end = midnight(at or now())
    period = Period(end - timedelta(days=cfg.period_days), end)
    out = produce(settings, store, period, Path(cfg.out_dir), pdf=cfg.pdf, progress=lambda step: log.debug("briefing: %s", step))
    log.info("risk briefing written: %s", ", ".join(str(p) for p in (out.docx, out.pdf) if p))
    return out

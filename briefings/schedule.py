"""Scheduled briefings inside ``yuqing run``: 日报/周报/月报 (``ledger.briefing.schedules``) and
the older single job (``ledger.briefing.cron`` with ``period_days``; off by default).

A 日报 covers the day before the day it runs, a 周报 the 7 days before, a 月报 the calendar month
before; the single job covers the ``period_days`` whole days before the day it runs (a job at
Monday 08:00 with the default 7 days reports Monday to Sunday of the week before). Every run is
recorded and delivered (``briefings.runs``) and written under ``ledger.briefing.out_dir``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from yuqing.store import Store
from yuqing.timeutil import TZ, now

if TYPE_CHECKING:
    from app.settings import Settings  # a type only: stages do not import the application

log = logging.getLogger("briefings")
JOB_ID = "ledger:briefing"


def open_archive(settings: Settings, ledger_deliveries: Any = None) -> Any:
    from alerts.service import database_url
    from briefings.runs import Archive

    return Archive(database_url(settings), settings.ledger.briefing.out_dir, ledger_deliveries, settings.ledger.base_url, settings=settings)


def schedule(scheduler: Any, settings: Settings, store: Store, *, ledger_deliveries: Any = None) -> bool:
    """Add the jobs that are configured; says whether there was any."""
    from ledger.briefing_config import KINDS, cron_trigger

    cfg = settings.ledger.briefing
    archive = open_archive(settings, ledger_deliveries) if (cfg.schedules or cfg.cron) else None
    for s in cfg.schedules:
        scheduler.add_job(
            run_kind,
            cron_trigger(s.cron, timezone=TZ),
            args=(settings, store, archive, s.kind),
            kwargs={"units": list(s.units)},
            id=f"{JOB_ID}:{s.kind}",
            name=f"briefing {s.kind}",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,  # a briefing an hour late is still wanted
        )
        log.info("%s scheduled: %s -> %s", KINDS[s.kind], s.cron, cfg.out_dir)
    if cfg.cron:
        scheduler.add_job(
            run_scheduled,
            cron_trigger(cfg.cron, timezone=TZ),
            args=(settings, store),
            kwargs={"archive": archive},
            id=JOB_ID,
            name="risk briefing",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,
        )
        log.info("risk briefing scheduled: %s (the %d days before each run) -> %s", cfg.cron, cfg.period_days, cfg.out_dir)
    return bool(cfg.schedules or cfg.cron)


def run_kind(settings: Settings, store: Store, archive: Any, kind: str, at: datetime | None = None, *, units: Sequence[str] = ()) -> Any:
    """One scheduled 日报/周报/月报; a failure is recorded on the run (and logged), not raised into the scheduler."""
    from briefings.runs import period_for, run_briefing

    try:
        run = run_briefing(settings, store, archive, kind, period_for(kind, at or now()), units=units)
    except Exception:
        log.exception("scheduled %s briefing failed (recorded on /briefings)", kind)
        return None
    log.info("briefing run %d (%s) %s: %s", run.id, kind, run.status_zh, ", ".join(run.files))
    return run


def run_scheduled(settings: Settings, store: Store, at: datetime | None = None, *, archive: Any = None) -> Any:
    from pathlib import Path

    from briefings.build import midnight, produce
    from briefings.model import Period

    cfg = settings.ledger.briefing
    end = midnight(at or now())
    period = Period(end - timedelta(days=cfg.period_days), end)
    if archive is not None:
        from briefings.runs import run_briefing

        try:
            return run_briefing(settings, store, archive, "weekly" if cfg.period_days == 7 else "manual", period)
        except Exception:
            log.exception("scheduled briefing failed (recorded on /briefings)")
            return None
    out = produce(settings, store, period, Path(cfg.out_dir), pdf=cfg.pdf, progress=lambda step: log.debug("briefing: %s", step))
    log.info("risk briefing written: %s", ", ".join(str(p) for p in (out.docx, out.pdf) if p))
    return out

"""Reply timeliness per unit (回复时效): who replied, how fast in working days, what is still
unanswered. ``figures`` is the pure computation, ``attribution`` reads the replying unit,
``sources`` reads posts and cases, ``export`` writes Excel. Documented in docs/timeliness.md."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ledger.timeliness.config import TimelinessConfig
from ledger.timeliness.figures import Report, compute

if TYPE_CHECKING:  # SQLAlchemy is imported only where the ledger's database is read: not by every
    # command that loads the settings (``yuqing classify`` starts 0.3 s sooner)
    from sqlalchemy import Engine

    from yuqing.store import Store


def report(
    store: Store | None,
    engine: Engine | None,
    cfg: TimelinessConfig,
    since: datetime,
    until: datetime,
    at: datetime,
    *,
    unit: str | None = None,
) -> Report:
    """The figures of [since, until) from the store and the ledger database; ``unit``: that unit's only."""
    from ledger.timeliness.sources import gather, only_unit

    items = gather(store, engine, cfg, since, until)
    if unit is not None:
        items = only_unit(items, unit)
    return compute(items, since, until, at, rank_min_received=cfg.rank_min_received)


__all__ = ["Report", "TimelinessConfig", "compute", "report"]

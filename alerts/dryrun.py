"""Dry run: replay posts through the real engine in a private in-memory database.

The clock follows the posts: before each post, every timer that fell due earlier (end of a
group wait, a repeat, an escalation) runs at its own time, so the result is what the live
engine would have done had the posts arrived as published. Nothing is sent: the notifications
are recorded as deliveries and reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from alerts import db
from alerts.config import AlertsConfig
from alerts.engine import Engine
from alerts.render import Renderer
from alerts.rules.base import Rule
from alerts.store import OPEN, Alert, AlertStore
from notify.store import Delivery
from yuqing.events import PostClassified
from yuqing.store import Query, Store

MAX_TIMER_STEPS = 100_000


@dataclass
class DryRunResult:
    posts: int
    start: datetime | None
    end: datetime | None
    alerts: list[Alert] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    events: list[dict[str, object]] = field(default_factory=list)
    store: AlertStore | None = None

    def deliveries_of(self, alert_id: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.alert_id == alert_id]


def dry_run(
    rules: Sequence[Rule], config: AlertsConfig, posts: Iterable[PostClassified], *, renderer: Renderer, until: datetime | None = None
) -> DryRunResult:
    ordered = sorted(posts, key=lambda p: (p.published_at, p.id))
    store = AlertStore("sqlite://", engine=db.create("sqlite://"))
    first = ordered[0].published_at if ordered else until
    clock: list[datetime] = [first] if first else []
    if not clock:
        return DryRunResult(0, None, None)
    engine = Engine(rules, config, store, renderer, clock=lambda: clock[0])

    def advance(target: datetime) -> None:
        for _ in range(MAX_TIMER_STEPS):
            with store.engine.connect() as conn:
                nxt = conn.execute(select(func.min(db.alerts.c.next_action_at)).where(db.alerts.c.status.in_(OPEN))).scalar()
            if nxt is None or nxt > target.timestamp():
                break
            clock[0] = max(clock[0], datetime.fromtimestamp(nxt, target.tzinfo))
            engine.tick()
        clock[0] = max(clock[0], target)

    for post in ordered:
        advance(post.published_at)
        engine.handle([post])
    end = max(until, clock[0]) if until else clock[0]
    advance(end)
    engine.tick()
    alerts = sorted(store.find(limit=1_000_000), key=lambda a: (a.created_at, a.id))
    return DryRunResult(len(ordered), ordered[0].published_at if ordered else None, end, alerts, store.deliveries(), store.events(), store)


def recent_posts(store: Store, since: datetime, until: datetime | None = None, page: int = 500) -> list[PostClassified]:
    """Every post published in [since, until) from the search store."""
    out: list[PostClassified] = []
    offset = 0
    while True:
        result = store.search(Query(since=since, until=until, limit=page, offset=offset))
        out += result.hits
        offset += len(result.hits)
        if not result.hits or offset >= result.total:
            return out

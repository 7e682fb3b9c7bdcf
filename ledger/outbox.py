"""The ledger's outbox (table ``ledger_outbox``) on the shared implementation (``yuqing.outbox``):
events written by committed changes (``ledger.audit``) are published to the bus in order; with the
bus down they wait in the table and nothing the user saved is lost."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ledger.context import LedgerContext
from ledger.events import TOPIC
from ledger.tables import OutboxMessage
from yuqing.outbox import Outbox, OutboxTable

# The ledger's columns are the common set's own names (id, topic, key, payload, created_at,
# published_at), times as aware datetimes.
TABLE = OutboxTable(OutboxMessage.__table__)  # type: ignore[arg-type]


class EventOutbox:
    """The ledger's binding of the shared outbox to its context: the database, bus and clock of
    ``LedgerContext`` as they are at each call (tests and ``yuqing run`` swap them)."""

    def __init__(self, ctx: LedgerContext) -> None:
        self.ctx = ctx
        self.outbox = Outbox(TABLE, read=lambda: ctx.db.read(), write=lambda: ctx.db.write(), name="ledger", clock=lambda: ctx.clock())

    def append_in(self, s: Session, case_id: int, payload: str, at: datetime) -> None:
        """One event on the topic ``ledger``, in the caller's transaction."""
        self.outbox.append_in(s, str(case_id), payload, at=at, topic=TOPIC)

    def flush_after_commit(self) -> None:
        """Publish what a committed change put in the outbox. The change stands whether or not the
        bus answers: with the bus down its events wait for the scheduled ``flush_pending`` job
        (every 30 s, ``ledger.stage``), and the user is not told that a saved change failed."""
        self.outbox.flush_after_commit(self.ctx.bus)

    def flush_pending(self) -> int:
        """The scheduled job: publish everything waiting; re-opens the path after an outage."""
        return self.outbox.flush_pending(self.ctx.bus)

    def flush_outbox(self, limit: int = 500) -> int:
        """Publish pending events in order; returns how many. Without a bus, events wait in the
        outbox; with the bus down, BusError is raised."""
        bus = self.ctx.bus
        return 0 if bus is None else self.outbox.flush(bus, limit)

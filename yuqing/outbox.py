"""The transactional outbox: events a stage must tell the bus about are written in the same
database transaction as the change they describe, and published after the commit, in order.

A change is thus never lost from the bus (a crash or an outage between the commit and the publish
leaves its events waiting in the table) and the bus never tells of a change that rolled back. An
event may be published twice (a crash between the publish and marking it published): readers key
on the event's subject (a case id, an alert id).

The ledger (``ledger_outbox``) and the alert engine (``alert_outbox``) each keep their own table,
in their own database; this module is the one implementation both use. The tables share one
column set, named per table by ``OutboxTable``:

    seq           integer primary key, autoincrement: the order events are published in
    topic         the bus topic (or none: every row goes to ``OutboxTable.topic``)
    key           the message key (the subject's id: one subject's events stay on one partition)
    payload       the event, JSON text
    created_at    when the event was written
    published_at  when it was published; NULL while it waits (indexed)

Times are aware datetimes at this module's boundary; a table that stores them as epoch seconds
(the alerts' ``Float`` columns) says ``epoch=True`` and gets floats written.

With the bus down: the first failed publish after a commit logs one warning and latches the path
shut, so later commits do not wait for the bus; the stage's scheduled ``flush_pending`` keeps
trying quietly and, when the bus answers again, publishes everything waiting and logs one line.
One outage, two log lines.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from yuqing.bus import Bus, OutMessage
from yuqing.errors import BusError
from yuqing.timeutil import now as wall_now

log = logging.getLogger("yuqing.outbox")

# Something with ``execute(statement, parameters)``: a SQLAlchemy Connection or ORM Session.
Transaction = Callable[[], AbstractContextManager[Any]]


@dataclass(frozen=True)
class OutboxTable:
    """An outbox table and the names its columns have for the common set (module docstring)."""

    table: Table
    seq: str = "id"
    key: str = "key"
    payload: str = "payload"
    created_at: str = "created_at"
    published_at: str = "published_at"
    topic_column: str | None = "topic"
    topic: str | None = None  # the one topic of a table without a topic column
    epoch: bool = False  # times stored as epoch seconds rather than aware datetimes

    def __post_init__(self) -> None:
        if (self.topic_column is None) == (self.topic is None):
            raise ValueError("an outbox table names either a topic column or its one topic")
        names = [self.seq, self.key, self.payload, self.created_at, self.published_at]
        missing = [n for n in [*names, self.topic_column] if n is not None and n not in self.table.c]
        if missing:
            raise ValueError(f"outbox table {self.table.name} has no column(s) {missing}")

    def stamp(self, at: datetime) -> Any:
        return at.timestamp() if self.epoch else at


class Outbox:
    """One stage's outbox: ``append_in`` inside the caller's transaction, then ``flush_after_commit``
    after it committed; ``flush_pending`` is the scheduled retry (e.g. every 30 s).

    ``read`` and ``write`` open a read and a write transaction on the outbox's database (each a
    context manager giving a Connection or Session); the bus is passed to each flush, so a stage
    whose bus is attached or swapped later needs no callback. ``name`` prefixes the log lines."""

    def __init__(
        self, table: OutboxTable, *, read: Transaction, write: Transaction, name: str, clock: Callable[[], datetime] = wall_now
    ) -> None:
        self.spec = table
        self.read = read
        self.write = write
        self.name = name
        self.clock = clock
        self._lock = threading.Lock()
        self._bus_down = False  # set by a failed publish, cleared when one gets through again
        t, c = table.table, table.table.c
        self._insert = insert(t)
        cols = [c[table.seq], c[table.key], c[table.payload]]
        if table.topic_column is not None:
            cols.append(c[table.topic_column])
        self._pending = select(*cols).where(c[table.published_at].is_(None)).order_by(c[table.seq])
        self._seq = c[table.seq]
        self._published = t.c[table.published_at]

    @property
    def bus_down(self) -> bool:
        """Whether the last publish failed (commits then leave their events to ``flush_pending``)."""
        return self._bus_down

    # -- writing ----------------------------------------------------------------------------
    def append_in(self, tx: Any, key: str, payload: str, *, at: datetime | None = None, topic: str | None = None) -> None:
        """Write one event in the caller's transaction ``tx`` (a Connection or Session)."""
        spec = self.spec
        row: dict[str, Any] = {
            spec.key: key,
            spec.payload: payload,
            spec.created_at: spec.stamp(at if at is not None else self.clock()),
            spec.published_at: None,
        }
        if spec.topic_column is not None:
            if topic is None:
                raise ValueError(f"outbox {spec.table.name}: an event needs its topic")
            row[spec.topic_column] = topic
        elif topic is not None and topic != spec.topic:
            raise ValueError(f"outbox {spec.table.name} publishes to {spec.topic!r} only, not {topic!r}")
        tx.execute(self._insert, row)

    # -- publishing -------------------------------------------------------------------------
    def flush_after_commit(self, bus: Bus | None) -> int:
        """Publish what a committed change put in the outbox; returns how many were sent. The change
        stands whether or not the bus answers: with the bus down its events wait for
        ``flush_pending``, nothing is raised, and the caller is not told that a saved change failed.
        After one failure, commits stop trying until ``flush_pending`` gets through again, so an
        outage costs one caller one slow answer, not every caller every time."""
        if bus is None or self._bus_down:
            return 0
        try:
            return self.flush(bus)
        except BusError as exc:
            self._went_down(exc)
        except SQLAlchemyError as exc:
            log.warning("%s: events wait in the outbox (database: %s)", self.name, str(exc).splitlines()[0][:200])
        return 0

    def flush_pending(self, bus: Bus | None) -> int:
        """The scheduled job: publish everything waiting; re-opens the path after an outage. A bus
        still down is said once per outage (raising nothing); a database error is raised."""
        if bus is None:
            return 0
        try:
            sent = self.flush(bus)
        except BusError as exc:
            self._went_down(exc)
            return 0
        if self._bus_down:
            self._bus_down = False
            log.warning("%s: the bus is back; %d waiting events published", self.name, sent)
        return sent

    def _went_down(self, exc: BusError) -> None:
        if not self._bus_down:
            self._bus_down = True
            log.warning("%s: the bus is unavailable; events wait in the outbox until it is back: %s", self.name, exc)

    def flush(self, bus: Bus, limit: int = 500) -> int:
        """Publish pending events in order (per topic, in ``seq`` order), ``limit`` per round trip,
        until none is left; returns how many. Each topic's messages are marked published as soon as
        the bus has them, so a failure on one topic does not send another's twice. Raises BusError
        with the bus down: what was not published stays pending. One flush at a time per outbox."""
        spec = self.spec
        sent = 0
        with self._lock:
            while True:
                with self.read() as tx:
                    rows = list(tx.execute(self._pending.limit(limit)))
                if not rows:
                    return sent
                by_topic: dict[str, list[Any]] = {}
                for row in rows:
                    topic = str(row[3] if spec.topic_column is not None else spec.topic)
                    by_topic.setdefault(topic, []).append(row)
                for topic, group in by_topic.items():
                    bus.publish(topic, [OutMessage(key=r[1], value=r[2].encode("utf-8")) for r in group])
                    with self.write() as tx:
                        tx.execute(
                            update(spec.table)
                            .where(self._seq.in_([r[0] for r in group]))
                            .values({self._published: spec.stamp(self.clock())})
                        )
                    sent += len(group)

    def pending(self) -> int:
        """How many events wait to be published."""
        with self.read() as tx:
            return int(tx.execute(select(func.count()).select_from(self.spec.table).where(self._published.is_(None))).scalar_one())

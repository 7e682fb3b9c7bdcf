"""Outbox -> bus: events written by committed changes (``ledger.audit``) are published to the bus
in order; with the bus down they wait in the outbox table and nothing the user saved is lost."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from ledger.context import LedgerContext
from ledger.events import TOPIC
from ledger.tables import OutboxMessage
from yuqing.bus import OutMessage
from yuqing.errors import BusError

log = logging.getLogger("ledger")


class EventOutbox:
    def __init__(self, ctx: LedgerContext) -> None:
        self.ctx = ctx
        self._flush_lock = threading.Lock()
        self._bus_down = False  # set by a failed publish after a commit, cleared by flush_pending
        self._topic_ready = False

    def flush_after_commit(self) -> None:
        """Publish what a committed change put in the outbox. The change stands whether or not
        the bus answers: with the bus down its events wait in the outbox for the scheduled
        ``flush_outbox`` job (every 30 s), and the user is not told that a saved change failed.
        After one failure, requests stop trying until the scheduled job gets through again, so an
        outage costs one user one slow answer, not every user every time."""
        if self._bus_down:
            return
        try:
            self.flush_outbox()
        except BusError as exc:
            self._bus_down = True
            log.warning("ledger: the bus is unavailable; events wait in the outbox until it is back: %s", exc)
        except SQLAlchemyError as exc:
            log.warning("ledger: events wait in the outbox (database: %s)", str(exc).splitlines()[0][:200])

    def flush_pending(self) -> int:
        """The scheduled job: publish everything waiting; re-opens the path after an outage."""
        sent = self.flush_outbox()
        if self._bus_down:
            self._bus_down = False
            log.warning("ledger: the bus is back; %d waiting events published", sent)
        return sent

    def flush_outbox(self, limit: int = 500) -> int:
        """Publish pending events in order; returns how many. Without a bus, events wait in the outbox."""
        bus = self.ctx.bus
        if bus is None:
            return 0
        sent = 0
        with self._flush_lock:
            if not self._topic_ready:
                bus.ensure_topic(TOPIC)
                self._topic_ready = True
            while True:
                with self.ctx.db.read() as s:
                    rows = list(
                        s.execute(
                            select(OutboxMessage.id, OutboxMessage.topic, OutboxMessage.key, OutboxMessage.payload)
                            .where(OutboxMessage.published_at.is_(None))
                            .order_by(OutboxMessage.id)
                            .limit(limit)
                        )
                    )
                if not rows:
                    return sent
                by_topic: dict[str, list[OutMessage]] = {}
                for _, topic, key, payload in rows:
                    by_topic.setdefault(topic, []).append(OutMessage(key=key, value=payload.encode("utf-8")))
                for topic, msgs in by_topic.items():
                    bus.publish(topic, msgs)
                with self.ctx.db.write() as s:
                    s.execute(update(OutboxMessage).where(OutboxMessage.id.in_([r[0] for r in rows])).values(published_at=self.ctx.clock()))
                sent += len(rows)

"""One active alert engine at a time: a lease in the alerts database, with a fencing token.

Why a lease and not partitioned windows: rules count over the whole classified stream (a spike of
negative posts on any topic, a flatline of a source, a negative share across towns), so splitting
posts between engines by Kafka partition would give each engine a part of every window; keying
the topic by each rule's group key is impossible when rules group differently. Alert evaluation
is cheap (one engine keeps up with tens of thousands of posts a second), so the second engine is a
hot standby: it holds no consumer-group membership, and takes over within ``lease_seconds`` of
the active engine's death, from the windows and offsets the dead one committed.

Fencing: the lease's ``epoch`` grows at every change of holder. Every engine transaction (windows,
alerts, deliveries to make) renews the lease in the same transaction with ``WHERE holder = me AND
epoch = mine``; when that matches no row the transaction rolls back and the engine steps down
(:class:`Fenced`), so an engine that stalled past its lease (a long pause, a lost network) cannot
write after its successor started. The compare-and-set is a single conditional UPDATE, which both
SQLite (one writer at a time) and PostgreSQL (row lock, WHERE re-checked on the new row version)
apply atomically.

Time is the machines' wall clock; engines on different machines need NTP (a skew shortens or
lengthens the take-over delay, it does not let two engines write: fencing does not use the clock).
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from alerts import db

log = logging.getLogger("yuqing.alerts.lease")


class Fenced(Exception):
    """This engine no longer holds the lease: it must stop writing and step down.

    Deliberately not a BackendError, so that the consume loop neither retries nor commits."""


class Lease:
    def __init__(
        self,
        engine: Engine,
        name: str = "alerts",
        *,
        seconds: float = 15.0,
        clock: Callable[[], float] = time.time,
        holder: str | None = None,
    ) -> None:
        self.engine = engine
        self.name = name
        self.seconds = seconds
        self.clock = clock
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.epoch: int | None = None

    @property
    def held(self) -> bool:
        return self.epoch is not None

    def acquire(self) -> bool:
        """Take the lease if it is free or expired; True when this engine holds it now."""
        now = self.clock()
        c = db.leases.c
        with db.begin(self.engine) as conn:
            res = conn.execute(
                update(db.leases)
                .where(c.name == self.name, (c.expires_at < now) | (c.holder == self.holder))
                .values(holder=self.holder, epoch=c.epoch + 1, expires_at=now + self.seconds)
            )
            if res.rowcount == 0:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(db.leases).values(name=self.name, holder=self.holder, epoch=1, expires_at=now + self.seconds))
                except IntegrityError:
                    pass  # another engine holds it (or inserted it just now)
            row = conn.execute(select(c.holder, c.epoch).where(c.name == self.name)).one_or_none()
        if row is not None and row.holder == self.holder:
            if self.epoch != row.epoch:
                log.info("alerts: this engine (%s) is active now (lease %s, epoch %d)", self.holder, self.name, row.epoch)
            self.epoch = int(row.epoch)
            return True
        self.epoch = None
        return False

    def renew_in(self, conn: Connection) -> None:
        """Extend the lease inside the caller's transaction, or raise Fenced (the caller's
        transaction then rolls back: nothing it wrote is kept)."""
        if self.epoch is None:
            raise Fenced(f"alerts: lease {self.name} is not held by {self.holder}")
        c = db.leases.c
        res = conn.execute(
            update(db.leases)
            .where(c.name == self.name, c.holder == self.holder, c.epoch == self.epoch)
            .values(expires_at=self.clock() + self.seconds)
        )
        if res.rowcount != 1:
            lost = self.epoch
            self.epoch = None
            raise Fenced(f"alerts: lease {self.name} epoch {lost} was taken over; this engine ({self.holder}) steps down")

    def renew(self) -> None:
        with db.begin(self.engine) as conn:
            self.renew_in(conn)

    def release(self) -> None:
        """Give the lease up (a clean shutdown), so the standby need not wait for it to expire."""
        if self.epoch is None:
            return
        c = db.leases.c
        with db.begin(self.engine) as conn:
            conn.execute(
                update(db.leases).where(c.name == self.name, c.holder == self.holder, c.epoch == self.epoch).values(expires_at=0.0)
            )
        self.epoch = None

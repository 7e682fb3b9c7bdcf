"""Durable delivery: every message is written as a pending delivery per channel before the first
attempt (once per key and channel), each attempt is recorded, and the delivery's state goes
pending -> sent | failed. The tables are ``notify.db``'s.

Time: everything this module hands out or takes is an aware ``datetime`` (``Delivery``'s
``next_attempt_at``/``created_at``/``sent_at``, ``Attempt.at``, every ``now``/``at`` parameter),
read back in Asia/Shanghai. The tables keep epoch seconds (``Float`` columns); the conversion
happens here, at the store's boundary, as in ``alerts.store``. A naive datetime (its zone would be
the host's) or a number is refused at once, as the ledger's tables refuse naive datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from notify import db
from yuqing.timeutil import from_epoch

_INSERT_ATTEMPT = insert(db.attempts)
_UPDATE_DELIVERY = update(db.deliveries).where(db.deliveries.c.id == bindparam("delivery_id"))


@dataclass(frozen=True)
class Delivery:
    id: int
    alert_id: str | None
    key: str
    kind: str
    notifier: str
    notification: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    sent_at: datetime | None
    last_status: str | None

    @classmethod
    def from_row(cls, r: Any) -> Delivery:
        """From a row of ``alert_deliveries`` (epoch seconds)."""
        sent = r["sent_at"]
        return cls(
            r["id"], r["alert_id"], r["key"], r["kind"], r["notifier"], r["notification"], r["status"], r["attempts"],
            from_epoch(r["next_attempt_at"]), from_epoch(r["created_at"]),
            from_epoch(sent), r["last_status"],
        )  # fmt: skip


@dataclass(frozen=True)
class Attempt:
    delivery_id: int
    notifier: str
    attempt: int
    at: datetime
    ok: bool
    retryable: bool
    status: str
    duration_ms: float

    @classmethod
    def from_row(cls, r: Any) -> Attempt:
        """From a row of ``alert_attempts`` (epoch seconds)."""
        return cls(
            r["delivery_id"], r["notifier"], r["attempt"], from_epoch(r["at"]), r["ok"], r["retryable"], r["status"],
            r["duration_ms"],
        )  # fmt: skip


def _epoch(value: datetime, name: str = "time") -> float:
    """``value`` in the tables' epoch seconds; a naive datetime or anything but a datetime is a bug
    upstream, refused."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name}: the delivery store takes aware datetimes, not {type(value).__name__} {value!r}")
    if value.utcoffset() is None:
        raise ValueError(f"{name}: naive datetime {value!r}; the delivery store takes aware datetimes only")
    return value.timestamp()


class DeliveryStore:
    def __init__(self, database_url: str, *, engine: Any = None) -> None:
        self.url = database_url
        self.engine = engine if engine is not None else db.get_engine(database_url)

    def begin(self) -> Any:
        return db.begin(self.engine)

    # -- deliveries -------------------------------------------------------------------------
    def add_delivery_in(
        self, conn: Connection, alert_id: str | None, key: str, kind: str, notifier: str, notification: dict[str, Any], now: datetime
    ) -> None:
        ts = _epoch(now, "now")
        row = {
            "alert_id": alert_id, "key": key, "kind": kind, "notifier": notifier, "notification": notification, "status": "pending",
            "attempts": 0, "next_attempt_at": ts, "created_at": ts, "sent_at": None, "last_status": None,
        }  # fmt: skip
        conn.execute(db.insert_ignore(conn, db.deliveries), row)

    def due_deliveries(self, now: datetime, notifier: str | None = None, limit: int = 100) -> list[Delivery]:
        ts, c = _epoch(now, "now"), db.deliveries.c
        q = select(db.deliveries).where(c.status == "pending", c.next_attempt_at <= ts).order_by(c.next_attempt_at, c.id).limit(limit)
        if notifier is not None:
            q = q.where(c.notifier == notifier)
        with self.engine.connect() as conn:
            return [Delivery.from_row(r) for r in conn.execute(q).mappings()]

    def next_delivery_at(self, notifier: str) -> datetime | None:
        c = db.deliveries.c
        with self.engine.connect() as conn:
            ts = conn.execute(select(func.min(c.next_attempt_at)).where(c.status == "pending", c.notifier == notifier)).scalar()
        return from_epoch(ts)

    def record_attempt(
        self, d: Delivery, ok: bool, retryable: bool, status: str, duration_ms: float, at: datetime, next_attempt_at: datetime | None
    ) -> str:
        """Record one attempt made ``at``; returns the delivery's new status (pending again, due
        ``next_attempt_at``, when the failure is retryable and that is given)."""
        at_ts = _epoch(at, "at")
        next_ts = None if next_attempt_at is None else _epoch(next_attempt_at, "next_attempt_at")
        attempt = d.attempts + 1
        new_status = "sent" if ok else ("pending" if retryable and next_ts is not None else "failed")
        attempt_row = {
            "delivery_id": d.id, "notifier": d.notifier, "attempt": attempt, "at": at_ts, "ok": ok, "retryable": retryable,
            "status": status, "duration_ms": duration_ms,
        }  # fmt: skip
        delivery_row = {
            "delivery_id": d.id, "attempts": attempt, "status": new_status, "last_status": status, "sent_at": at_ts if ok else None,
            "next_attempt_at": next_ts if new_status == "pending" else _epoch(d.next_attempt_at, "next_attempt_at"),
        }  # fmt: skip
        with self.begin() as conn:
            conn.execute(_INSERT_ATTEMPT, attempt_row)
            conn.execute(_UPDATE_DELIVERY, delivery_row)
        return new_status

    def claim(self, d: Delivery, until: datetime) -> bool:
        """Move a pending delivery's next attempt to ``until`` if it is still as ``d`` saw it (same
        attempts, same next attempt); False when another process got there first. The next attempt
        is compared within its microsecond: ``d`` has it as a datetime, the table as epoch seconds,
        which rows written before the store took datetimes may hold to a finer fraction."""
        seen = _epoch(d.next_attempt_at, "next_attempt_at")
        c = db.deliveries.c
        with self.begin() as conn:
            claimed = conn.execute(
                update(db.deliveries)
                .where(c.id == d.id, c.status == "pending", c.attempts == d.attempts, c.next_attempt_at.between(seen - 1e-6, seen + 1e-6))
                .values(next_attempt_at=_epoch(until, "until"))
            ).rowcount
        return bool(claimed)

    def deliveries(self, alert_id: str | None = None, *, kind: str | None = None) -> list[Delivery]:
        c = db.deliveries.c
        q = select(db.deliveries).order_by(c.id)
        if alert_id is not None:
            q = q.where(c.alert_id == alert_id)
        if kind is not None:
            q = q.where(c.kind == kind)
        with self.engine.connect() as conn:
            return [Delivery.from_row(r) for r in conn.execute(q).mappings()]

    def attempts(self, delivery_id: int | None = None) -> list[Attempt]:
        c = db.attempts.c
        q = select(db.attempts).order_by(c.id)
        if delivery_id is not None:
            q = q.where(c.delivery_id == delivery_id)
        with self.engine.connect() as conn:
            return [Attempt.from_row(r) for r in conn.execute(q).mappings()]

"""Durable delivery: every message is written as a pending delivery per channel before the first
attempt (once per key and channel), each attempt is recorded, and the delivery's state goes
pending -> sent | failed. The tables are ``notify.db``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from notify import db

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
    next_attempt_at: float
    created_at: float
    sent_at: float | None
    last_status: str | None


@dataclass(frozen=True)
class Attempt:
    delivery_id: int
    notifier: str
    attempt: int
    at: float
    ok: bool
    retryable: bool
    status: str
    duration_ms: float


class DeliveryStore:
    def __init__(self, database_url: str, *, engine: Any = None) -> None:
        self.url = database_url
        self.engine = engine if engine is not None else db.get_engine(database_url)

    def begin(self) -> Any:
        return db.begin(self.engine)

    # -- deliveries -------------------------------------------------------------------------
    def add_delivery_in(
        self, conn: Connection, alert_id: str | None, key: str, kind: str, notifier: str, notification: dict[str, Any], now: float
    ) -> None:
        row = {
            "alert_id": alert_id, "key": key, "kind": kind, "notifier": notifier, "notification": notification, "status": "pending",
            "attempts": 0, "next_attempt_at": now, "created_at": now, "sent_at": None, "last_status": None,
        }  # fmt: skip
        conn.execute(db.insert_ignore(conn, db.deliveries), row)

    def due_deliveries(self, now: float, notifier: str | None = None, limit: int = 100) -> list[Delivery]:
        c = db.deliveries.c
        q = select(db.deliveries).where(c.status == "pending", c.next_attempt_at <= now).order_by(c.next_attempt_at, c.id).limit(limit)
        if notifier is not None:
            q = q.where(c.notifier == notifier)
        with self.engine.connect() as conn:
            return [Delivery(**dict(r)) for r in conn.execute(q).mappings()]

    def next_delivery_at(self, notifier: str) -> float | None:
        c = db.deliveries.c
        with self.engine.connect() as conn:
            return conn.execute(select(func.min(c.next_attempt_at)).where(c.status == "pending", c.notifier == notifier)).scalar()

    def record_attempt(
        self, d: Delivery, ok: bool, retryable: bool, status: str, duration_ms: float, at: float, next_attempt_at: float | None
    ) -> str:
        """Record one attempt; returns the delivery's new status."""
        attempt = d.attempts + 1
        new_status = "sent" if ok else ("pending" if retryable and next_attempt_at is not None else "failed")
        attempt_row = {
            "delivery_id": d.id, "notifier": d.notifier, "attempt": attempt, "at": at, "ok": ok, "retryable": retryable,
            "status": status, "duration_ms": duration_ms,
        }  # fmt: skip
        delivery_row = {
            "delivery_id": d.id, "attempts": attempt, "status": new_status, "last_status": status, "sent_at": at if ok else None,
            "next_attempt_at": next_attempt_at if new_status == "pending" else d.next_attempt_at,
        }  # fmt: skip
        with self.begin() as conn:
            conn.execute(_INSERT_ATTEMPT, attempt_row)
            conn.execute(_UPDATE_DELIVERY, delivery_row)
        return new_status

    def deliveries(self, alert_id: str | None = None, *, kind: str | None = None) -> list[Delivery]:
        c = db.deliveries.c
        q = select(db.deliveries).order_by(c.id)
        if alert_id is not None:
            q = q.where(c.alert_id == alert_id)
        if kind is not None:
            q = q.where(c.kind == kind)
        with self.engine.connect() as conn:
            return [Delivery(**dict(r)) for r in conn.execute(q).mappings()]

    def attempts(self, delivery_id: int | None = None) -> list[Attempt]:
        c = db.attempts.c
        q = select(db.attempts).order_by(c.id)
        if delivery_id is not None:
            q = q.where(c.delivery_id == delivery_id)
        with self.engine.connect() as conn:
            return [Attempt(**{k: v for k, v in dict(r).items() if k != "id"}) for r in conn.execute(q).mappings()]

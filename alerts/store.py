"""Alerts, their posts, deliveries, attempts, silences and outgoing events in the database.

The engine calls the ``*_in`` helpers inside its own transaction; the lifecycle calls
(``acknowledge``, ``resolve``, ``add_silence``) run their own and are what the CLI and the ledger's
web UI use. Every state change that others must hear about writes an event to ``alert_outbox``
in the same transaction; ``AlertStore.outbox`` (the shared ``yuqing.outbox``) sends them to the bus
afterwards, so an event is never lost between the database and the bus (it may be sent twice:
readers key on alert id).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Integer, bindparam, cast, delete, func, insert, inspect, select, update

from alerts import db
from alerts.events import ALERTS_TOPIC, AlertAcknowledged, AlertResolved, _AlertEvent
from alerts.model import PostRef, ts_to_dt
from notify.store import DeliveryStore
from yuqing.errors import YuqingError
from yuqing.outbox import Outbox, OutboxTable

log = logging.getLogger("yuqing.alerts")

OPEN = ("pending", "firing", "acknowledged")
STATUS_ZH = {"pending": "等待中", "firing": "告警中", "acknowledged": "已确认", "resolved": "已解除"}


class AlertNotFound(YuqingError):
    pass


class LifecycleError(YuqingError):
    """An acknowledgement or resolution that the alert's status does not allow."""


@dataclass
class Alert:
    id: str
    fingerprint: str
    rule: str
    rule_type: str
    status: str
    severity: str
    labels: dict[str, str]
    title: str
    metric: str
    reasons: list[str]
    post_count: int
    negative_count: int
    created_at: float
    fired_at: float | None
    first_seen: float | None
    last_seen: float | None
    last_hit_at: float
    notify_at: float
    notifications: int
    first_notified_at: float | None
    last_notified_at: float | None
    notified_post_count: int
    notified_severity: str | None
    suppressed: str | None
    notifiers: list[str]
    escalations: list[list[Any]]
    escalation_level: int
    group_wait: float
    repeat_interval: float
    clears_itself: bool
    next_action_at: float | None
    acked_by: str | None = None
    acked_at: float | None = None
    ack_note: str | None = None
    resolved_by: str | None = None
    resolved_at: float | None = None
    resolve_note: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> Alert:
        return cls(**{f.name: row[f.name] for f in fields(cls)})

    def to_row(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def dt(self, name: str) -> datetime | None:
        v = getattr(self, name)
        return ts_to_dt(v) if v is not None else None


@dataclass(frozen=True)
class Silence:
    id: str
    matchers: dict[str, str]
    starts_at: float
    ends_at: float
    created_by: str
    comment: str

    def active(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at


# Built once: a fixed statement executed with parameters skips SQLAlchemy's per-call construction.
_INSERT_ALERT = insert(db.alerts)
_UPDATE_ALERT = update(db.alerts).where(db.alerts.c.id == bindparam("alert_id"))

# ``alert_outbox`` in the shared outbox's terms: ``seq`` orders, ``event`` is the payload, every row
# goes to the topic ``alerts``, times are epoch seconds.
EVENTS = OutboxTable(db.outbox, seq="seq", payload="event", topic_column=None, topic=ALERTS_TOPIC, epoch=True)


def new_alert_id() -> str:
    return "al-" + uuid.uuid4().hex[:12]


class FiredAlert(NamedTuple):
    rule: str
    severity: str
    status: str


class AlertStore(DeliveryStore):
    """The alert engine's tables; the deliveries of its notifications are ``DeliveryStore``'s."""

    def __init__(self, database_url: str, *, engine: Any = None) -> None:
        super().__init__(database_url, engine=engine if engine is not None else db.get_engine(database_url))
        self.outbox = Outbox(EVENTS, read=self.engine.connect, write=self.begin, name="alerts")

    def fired_between(self, since: datetime, until: datetime) -> list[FiredAlert] | None:
        """Alerts opened in [since, until) that fired (left the group wait), for the briefings. An
        alert's time is when its first post hit the rule (``created_at``): that is when the
        situation arose, whereas ``fired_at`` lies a group wait later and may fall after a period
        that has just ended. None when this database has no alert tables (the engine never ran
        there); the store reads them without creating them when given a read-only ``engine``."""
        table = db.alerts
        if not inspect(self.engine).has_table(table.name):
            return None
        cond = (table.c.created_at >= since.timestamp()) & (table.c.created_at < until.timestamp()) & table.c.fired_at.is_not(None)
        with self.engine.connect() as conn:
            rows = conn.execute(select(table.c.rule, table.c.severity, table.c.status).where(cond)).all()
        return [FiredAlert(*r) for r in rows]

    # -- windows ----------------------------------------------------------------------------
    def load_windows(self, rule: str) -> dict[str, dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(db.windows.c.key, db.windows.c.state).where(db.windows.c.rule == rule)).all()
        return {k: s for k, s in rows}

    def save_windows_in(self, conn: Connection, rule: str, changes: dict[str, dict[str, Any] | None]) -> None:
        for key, state in changes.items():
            if state is None:
                conn.execute(delete(db.windows).where(db.windows.c.rule == rule, db.windows.c.key == key))
            else:
                conn.execute(db.upsert(conn, db.windows, ["rule", "key"]), {"rule": rule, "key": key, "state": state})

    # -- alerts -----------------------------------------------------------------------------
    def open_alert_in(self, conn: Connection, fingerprint: str) -> Alert | None:
        row = (
            conn.execute(
                select(db.alerts)
                .where(db.alerts.c.fingerprint == fingerprint, db.alerts.c.status.in_(OPEN))
                .order_by(db.alerts.c.created_at.desc())
            )
            .mappings()
            .first()
        )
        return Alert.from_row(row) if row else None

    def insert_in(self, conn: Connection, alert: Alert) -> None:
        conn.execute(_INSERT_ALERT, alert.to_row())

    def save_in(self, conn: Connection, alert: Alert) -> None:
        row = alert.to_row()
        row["alert_id"] = row.pop("id")
        conn.execute(_UPDATE_ALERT, row)

    def due_in(self, conn: Connection, now: float) -> list[Alert]:
        rows = conn.execute(
            select(db.alerts)
            .where(db.alerts.c.status.in_(OPEN), db.alerts.c.next_action_at.is_not(None), db.alerts.c.next_action_at <= now)
            .order_by(db.alerts.c.next_action_at)
        ).mappings()
        return [Alert.from_row(r) for r in rows]

    def open_with_severity_in(self, conn: Connection, severity: str, exclude: str) -> list[Alert]:
        rows = conn.execute(
            select(db.alerts).where(db.alerts.c.status.in_(OPEN), db.alerts.c.severity == severity, db.alerts.c.id != exclude)
        ).mappings()
        return [Alert.from_row(r) for r in rows]

    def attach_in(self, conn: Connection, alert_id: str, posts: tuple[PostRef, ...] | list[PostRef], now: float) -> None:
        if not posts:
            return
        rows = [
            {
                "alert_id": alert_id,
                "post_id": p.id,
                "published_ts": p.ts,
                "title": p.title,
                "url": p.url,
                "risk_score": p.risk_score,
                "risk_level": p.risk_level,
                "negative": p.negative,
                "reasons": list(p.reasons),
                "source": p.source,
                "added_at": now,
            }
            for p in posts
        ]
        conn.execute(db.insert_ignore(conn, db.alert_posts), rows)

    def post_stats_in(self, conn: Connection, alert_id: str) -> tuple[int, int, float | None, float | None, list[str]]:
        """(posts, negative posts, first published, last published, distinct risk levels)."""
        c = db.alert_posts.c
        n, neg, first, last = conn.execute(
            select(
                func.count(), func.coalesce(func.sum(cast(c.negative, Integer)), 0), func.min(c.published_ts), func.max(c.published_ts)
            ).where(c.alert_id == alert_id)
        ).one()
        levels = [r[0] for r in conn.execute(select(c.risk_level).where(c.alert_id == alert_id).distinct())]
        return int(n), int(neg), first, last, levels

    def top_posts_in(self, conn: Connection, alert_id: str, n: int = 3) -> list[dict[str, Any]]:
        c = db.alert_posts.c
        rows = conn.execute(
            select(db.alert_posts).where(c.alert_id == alert_id).order_by(c.risk_score.desc(), c.published_ts.desc(), c.post_id).limit(n)
        ).mappings()
        return [dict(r) for r in rows]

    # -- silences ---------------------------------------------------------------------------
    def silences_in(self, conn: Connection, now: float) -> list[Silence]:
        c = db.silences.c
        rows = conn.execute(select(db.silences).where(c.starts_at <= now, c.ends_at > now)).mappings()
        return [Silence(r["id"], r["matchers"], r["starts_at"], r["ends_at"], r["created_by"], r["comment"]) for r in rows]

    def add_silence(
        self, matchers: dict[str, str], starts_at: float, ends_at: float, created_by: str, comment: str = "", silence_id: str | None = None
    ) -> Silence:
        sid = silence_id or "si-" + uuid.uuid4().hex[:10]
        values = {
            "id": sid,
            "matchers": matchers,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "created_by": created_by,
            "comment": comment,
            "created_at": time.time(),
        }
        with self.begin() as conn:
            conn.execute(db.upsert(conn, db.silences, ["id"]), values)
            # Held alerts are re-judged at once rather than at their next recheck.
            conn.execute(
                update(db.alerts).where(db.alerts.c.status.in_(OPEN), db.alerts.c.suppressed.is_not(None)).values(next_action_at=0.0)
            )
        return Silence(sid, matchers, starts_at, ends_at, created_by, comment)

    def expire_silence(self, silence_id: str, now: float) -> bool:
        with self.begin() as conn:
            res = conn.execute(update(db.silences).where(db.silences.c.id == silence_id, db.silences.c.ends_at > now).values(ends_at=now))
            conn.execute(
                update(db.alerts).where(db.alerts.c.status.in_(OPEN), db.alerts.c.suppressed.is_not(None)).values(next_action_at=0.0)
            )
        return bool(res.rowcount)

    def list_silences(self, *, include_expired: bool = False, now: float | None = None) -> list[Silence]:
        q = select(db.silences).order_by(db.silences.c.ends_at.desc())
        if not include_expired:
            q = q.where(db.silences.c.ends_at > (now if now is not None else time.time()))
        with self.engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
        return [Silence(r["id"], r["matchers"], r["starts_at"], r["ends_at"], r["created_by"], r["comment"]) for r in rows]

    # -- outbox -----------------------------------------------------------------------------
    def add_event_in(self, conn: Connection, event: _AlertEvent) -> None:
        """An event for the bus, written in the caller's transaction (published by ``outbox``)."""
        self.outbox.append_in(conn, event.alert_id, event.model_dump_json(), at=event.at)

    def events(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [json.loads(r[0]) for r in conn.execute(select(db.outbox.c.event).order_by(db.outbox.c.seq))]

    # -- reading and the lifecycle ----------------------------------------------------------
    def get(self, alert_id: str) -> Alert:
        """By full id or an unambiguous prefix."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(db.alerts).where(db.alerts.c.id.startswith(alert_id, autoescape=True)).limit(2)).mappings().all()
        if not rows:
            raise AlertNotFound(f"no alert {alert_id!r}")
        if len(rows) > 1:
            exact = [r for r in rows if r["id"] == alert_id]
            if not exact:
                raise AlertNotFound(f"alert id prefix {alert_id!r} is ambiguous")
            rows = exact
        return Alert.from_row(rows[0])

    def find(self, status: str | None = None, *, limit: int = 50, since: float | None = None) -> list[Alert]:
        c = db.alerts.c
        # Newest first by the time shown for an alert (when it fired, else when it was created).
        q = select(db.alerts).order_by(func.coalesce(c.fired_at, c.created_at).desc(), c.id.desc()).limit(limit)
        if status == "open":
            q = q.where(c.status.in_(OPEN))
        elif status:
            q = q.where(c.status == status)
        if since is not None:
            q = q.where(c.created_at >= since)
        with self.engine.connect() as conn:
            return [Alert.from_row(r) for r in conn.execute(q).mappings()]

    def count(self, status: str | None = None) -> int:
        q = select(func.count()).select_from(db.alerts)
        if status:
            q = q.where(db.alerts.c.status == status)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())

    def post_ids(self, alert_ids: list[str]) -> dict[str, list[str]]:
        """The ids of the posts attached to each of these alerts (alerts without posts are absent)."""
        out: dict[str, list[str]] = {}
        c = db.alert_posts.c
        with self.engine.connect() as conn:
            for i in range(0, len(alert_ids), 500):
                rows = conn.execute(select(c.alert_id, c.post_id).where(c.alert_id.in_(alert_ids[i : i + 500])))
                for alert_id, post_id in rows:
                    out.setdefault(alert_id, []).append(post_id)
        return out

    def top_posts(self, alert_id: str, n: int = 3) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return self.top_posts_in(conn, alert_id, n)

    def acknowledge(self, alert_id: str, by: str, note: str = "", now: float | None = None) -> Alert:
        if not by.strip():
            raise LifecycleError("an acknowledgement needs the name of who acknowledges")
        at = now if now is not None else time.time()
        alert = self.get(alert_id)
        with self.begin() as conn:
            current = self.open_alert_in(conn, alert.fingerprint)
            if current is None or current.id != alert.id or current.status not in ("pending", "firing"):
                raise LifecycleError(
                    f"alert {alert.id} is {STATUS_ZH.get(alert.status, alert.status)}; only a firing alert can be acknowledged"
                )
            current.status, current.acked_by, current.acked_at, current.ack_note = "acknowledged", by, at, note
            current.next_action_at = at  # the engine re-plans: no more repeats or escalation
            self.save_in(conn, current)
            self.add_event_in(conn, AlertAcknowledged(alert_id=current.id, rule=current.rule, at=ts_to_dt(at), by=by, note=note))
        return current

    def resolve(self, alert_id: str, by: str, note: str = "", now: float | None = None, *, automatic: bool = False) -> Alert:
        if not by.strip():
            raise LifecycleError("a resolution needs the name of who resolves")
        at = now if now is not None else time.time()
        alert = self.get(alert_id)
        with self.begin() as conn:
            current = self.open_alert_in(conn, alert.fingerprint)
            if current is None or current.id != alert.id:
                raise LifecycleError(f"alert {alert.id} is already {STATUS_ZH.get(alert.status, alert.status)}")
            self.resolve_in(conn, current, by, note, at, automatic=automatic)
        return current

    def resolve_in(self, conn: Connection, alert: Alert, by: str, note: str, at: float, *, automatic: bool = False) -> None:
        alert.status, alert.resolved_by, alert.resolved_at, alert.resolve_note = "resolved", by, at, note
        alert.next_action_at = None
        self.save_in(conn, alert)
        self.add_event_in(conn, AlertResolved(alert_id=alert.id, rule=alert.rule, at=ts_to_dt(at), by=by, note=note, automatic=automatic))

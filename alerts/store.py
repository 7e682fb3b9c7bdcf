"""Alerts, their posts, deliveries, attempts, silences and outgoing events in the database.

The engine calls the ``*_in`` helpers inside its own transaction; the lifecycle calls
(``acknowledge``, ``resolve``, ``add_silence``) run their own and are what the CLI and the ledger's
web UI use. Every state change that others must hear about writes an event to ``alert_outbox``
in the same transaction; ``AlertStore.outbox`` (the shared ``yuqing.outbox``) sends them to the bus
afterwards, so an event is never lost between the database and the bus (it may be sent twice:
readers key on alert id).

Time: everything this module hands out or takes is an aware ``datetime`` (``Alert``, ``Silence``,
the rows of ``top_posts``, every ``now``/``since``/``at`` parameter), durations are ``timedelta``.
The tables keep epoch seconds (``Float`` columns) and the rules' windows count in epoch seconds
(``PostRef.ts``, hot arithmetic per post); the conversion happens here, at the store's boundary.
The deliveries and attempts it inherits from ``notify.store.DeliveryStore`` are converted there alike.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection, Integer, bindparam, cast, delete, func, insert, inspect, select, update

from alerts import db
from alerts.events import ALERTS_TOPIC, AlertAcknowledged, AlertResolved, _AlertEvent
from alerts.model import PostRef
from notify.store import DeliveryStore
from yuqing.errors import YuqingError
from yuqing.outbox import Outbox, OutboxTable
from yuqing.timeutil import TZ, from_epoch
from yuqing.timeutil import now as wall_now

log = logging.getLogger("yuqing.alerts")

OPEN = ("pending", "firing", "acknowledged")
STATUS_ZH = {"pending": "等待中", "firing": "告警中", "acknowledged": "已确认", "resolved": "已解除"}


class AlertNotFound(YuqingError):
    pass


class LifecycleError(YuqingError):
    """An acknowledgement or resolution that the alert's status does not allow."""


@dataclass
class Alert:
    """An alert as the engine keeps it. Points in time are aware datetimes (Asia/Shanghai),
    ``group_wait`` and ``repeat_interval`` timedeltas; ``escalations`` keeps the stored shape,
    ``[[after_seconds, [notifier, ...]], ...]``."""

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
    created_at: datetime
    fired_at: datetime | None
    first_seen: datetime | None
    last_seen: datetime | None
    last_hit_at: datetime
    notify_at: datetime
    notifications: int
    first_notified_at: datetime | None
    last_notified_at: datetime | None
    notified_post_count: int
    notified_severity: str | None
    suppressed: str | None
    notifiers: list[str]
    escalations: list[list[Any]]
    escalation_level: int
    group_wait: timedelta
    repeat_interval: timedelta
    clears_itself: bool
    next_action_at: datetime | None
    acked_by: str | None = None
    acked_at: datetime | None = None
    ack_note: str | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    resolve_note: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> Alert:
        values = {name: row[name] for name in _FIELDS}
        for name in _TIMES:
            v = values[name]
            values[name] = from_epoch(v)
        for name in _SPANS:
            values[name] = timedelta(seconds=values[name])
        return cls(**values)

    def to_row(self) -> dict[str, Any]:
        row = {name: getattr(self, name) for name in _FIELDS}
        for name in _TIMES:
            v = row[name]
            row[name] = None if v is None else v.timestamp()
        for name in _SPANS:
            row[name] = row[name].total_seconds()
        return row

    @property
    def is_open(self) -> bool:
        return self.status in OPEN


_FIELDS = tuple(f.name for f in fields(Alert))
# The alert's points in time and durations: epoch seconds in ``alert_alerts``.
_TIMES = (
    "created_at", "fired_at", "first_seen", "last_seen", "last_hit_at", "notify_at",
    "first_notified_at", "last_notified_at", "next_action_at", "acked_at", "resolved_at",
)  # fmt: skip
_SPANS = ("group_wait", "repeat_interval")


@dataclass(frozen=True)
class Silence:
    id: str
    matchers: dict[str, str]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    @classmethod
    def from_row(cls, r: Any) -> Silence:
        return cls(r["id"], r["matchers"], from_epoch(r["starts_at"]), from_epoch(r["ends_at"]), r["created_by"], r["comment"])


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

    def due_in(self, conn: Connection, now: datetime) -> list[Alert]:
        rows = conn.execute(
            select(db.alerts)
            .where(db.alerts.c.status.in_(OPEN), db.alerts.c.next_action_at.is_not(None), db.alerts.c.next_action_at <= now.timestamp())
            .order_by(db.alerts.c.next_action_at)
        ).mappings()
        return [Alert.from_row(r) for r in rows]

    def open_with_severity_in(self, conn: Connection, severity: str, exclude: str) -> list[Alert]:
        rows = conn.execute(
            select(db.alerts).where(db.alerts.c.status.in_(OPEN), db.alerts.c.severity == severity, db.alerts.c.id != exclude)
        ).mappings()
        return [Alert.from_row(r) for r in rows]

    def attach_in(self, conn: Connection, alert_id: str, posts: tuple[PostRef, ...] | list[PostRef], now: datetime) -> None:
        if not posts:
            return
        added = now.timestamp()
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
                "added_at": added,
            }
            for p in posts
        ]
        conn.execute(db.insert_ignore(conn, db.alert_posts), rows)

    def post_stats_in(self, conn: Connection, alert_id: str) -> tuple[int, int, datetime | None, datetime | None, list[str]]:
        """(posts, negative posts, first published, last published, distinct risk levels)."""
        c = db.alert_posts.c
        n, neg, first, last = conn.execute(
            select(
                func.count(), func.coalesce(func.sum(cast(c.negative, Integer)), 0), func.min(c.published_ts), func.max(c.published_ts)
            ).where(c.alert_id == alert_id)
        ).one()
        levels = [r[0] for r in conn.execute(select(c.risk_level).where(c.alert_id == alert_id).distinct())]
        return int(n), int(neg), from_epoch(first), from_epoch(last), levels

    def top_posts_in(self, conn: Connection, alert_id: str, n: int = 3) -> list[dict[str, Any]]:
        """The alert's riskiest posts, newest first among equals: the columns of ``alert_posts``,
        but ``published_at`` (for ``published_ts``) and ``added_at`` as datetimes."""
        c = db.alert_posts.c
        rows = conn.execute(
            select(db.alert_posts).where(c.alert_id == alert_id).order_by(c.risk_score.desc(), c.published_ts.desc(), c.post_id).limit(n)
        ).mappings()
        out = []
        for r in rows:
            d = dict(r)
            d["published_at"] = from_epoch(d.pop("published_ts"))
            d["added_at"] = from_epoch(d["added_at"])
            out.append(d)
        return out

    # -- silences ---------------------------------------------------------------------------
    def silences_in(self, conn: Connection, now: datetime) -> list[Silence]:
        c = db.silences.c
        ts = now.timestamp()
        rows = conn.execute(select(db.silences).where(c.starts_at <= ts, c.ends_at > ts)).mappings()
        return [Silence.from_row(r) for r in rows]

    def add_silence(
        self,
        matchers: dict[str, str],
        starts_at: datetime,
        ends_at: datetime,
        created_by: str,
        comment: str = "",
        silence_id: str | None = None,
    ) -> Silence:
        sid = silence_id or "si-" + uuid.uuid4().hex[:10]
        values = {
            "id": sid,
            "matchers": matchers,
            "starts_at": starts_at.timestamp(),
            "ends_at": ends_at.timestamp(),
            "created_by": created_by,
            "comment": comment,
            "created_at": wall_now().timestamp(),
        }
        with self.begin() as conn:
            conn.execute(db.upsert(conn, db.silences, ["id"]), values)
            # Held alerts are re-judged at once rather than at their next recheck.
            conn.execute(
                update(db.alerts).where(db.alerts.c.status.in_(OPEN), db.alerts.c.suppressed.is_not(None)).values(next_action_at=0.0)
            )
        return Silence(sid, matchers, starts_at, ends_at, created_by, comment)

    def expire_silence(self, silence_id: str, now: datetime | None = None) -> bool:
        ts = (now or wall_now()).timestamp()
        with self.begin() as conn:
            res = conn.execute(update(db.silences).where(db.silences.c.id == silence_id, db.silences.c.ends_at > ts).values(ends_at=ts))
            conn.execute(
                update(db.alerts).where(db.alerts.c.status.in_(OPEN), db.alerts.c.suppressed.is_not(None)).values(next_action_at=0.0)
            )
        return bool(res.rowcount)

    def list_silences(self, *, include_expired: bool = False, now: datetime | None = None) -> list[Silence]:
        q = select(db.silences).order_by(db.silences.c.ends_at.desc())
        if not include_expired:
            q = q.where(db.silences.c.ends_at > (now or wall_now()).timestamp())
        with self.engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
        return [Silence.from_row(r) for r in rows]

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

    def find(self, status: str | None = None, *, limit: int = 50, since: datetime | None = None) -> list[Alert]:
        c = db.alerts.c
        # Newest first by the time shown for an alert (when it fired, else when it was created).
        q = select(db.alerts).order_by(func.coalesce(c.fired_at, c.created_at).desc(), c.id.desc()).limit(limit)
        if status == "open":
            q = q.where(c.status.in_(OPEN))
        elif status:
            q = q.where(c.status == status)
        if since is not None:
            q = q.where(c.created_at >= since.timestamp())
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

    def acknowledge(self, alert_id: str, by: str, note: str = "", now: datetime | None = None) -> Alert:
        if not by.strip():
            raise LifecycleError("an acknowledgement needs the name of who acknowledges")
        at = (now or wall_now()).astimezone(TZ)
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
            self.add_event_in(conn, AlertAcknowledged(alert_id=current.id, rule=current.rule, at=at, by=by, note=note))
        return current

    def resolve(self, alert_id: str, by: str, note: str = "", now: datetime | None = None, *, automatic: bool = False) -> Alert:
        if not by.strip():
            raise LifecycleError("a resolution needs the name of who resolves")
        at = (now or wall_now()).astimezone(TZ)
        alert = self.get(alert_id)
        with self.begin() as conn:
            current = self.open_alert_in(conn, alert.fingerprint)
            if current is None or current.id != alert.id:
                raise LifecycleError(f"alert {alert.id} is already {STATUS_ZH.get(alert.status, alert.status)}")
            self.resolve_in(conn, current, by, note, at, automatic=automatic)
        return current

    def resolve_in(self, conn: Connection, alert: Alert, by: str, note: str, at: datetime, *, automatic: bool = False) -> None:
        alert.status, alert.resolved_by, alert.resolved_at, alert.resolve_note = "resolved", by, at, note
        alert.next_action_at = None
        self.save_in(conn, alert)
        self.add_event_in(conn, AlertResolved(alert_id=alert.id, rule=alert.rule, at=at, by=by, note=note, automatic=automatic))

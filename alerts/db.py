"""Alert tables in the database (``alerts.database_url``, default ``database.url``), SQLAlchemy 2 Core.

All tables are prefixed ``alert_`` so they sit beside the ledger's without clashing (the ledger's
migrations must ignore that prefix). SQLite (the default) runs in WAL mode and every transaction
takes the write lock up front (``BEGIN IMMEDIATE``), so the engine thread, the delivery threads
and a ``yuqing alerts ack`` in another process queue instead of failing with "database is locked".
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
)
from sqlalchemy.pool import StaticPool

from yuqing.sqlite_util import sqlalchemy_engine

metadata = MetaData()

# One row per engine role: who may evaluate rules and notify now (see alerts.lease). ``epoch``
# grows by one at every change of holder: it is the fencing token every commit checks.
leases = Table(
    "alert_leases",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("epoch", Integer, nullable=False),
    Column("expires_at", Float, nullable=False),
)

windows = Table(
    "alert_windows",
    metadata,
    Column("rule", String(200), primary_key=True),
    Column("key", String(500), primary_key=True),
    Column("state", JSON, nullable=False),
)

alerts = Table(
    "alert_alerts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("fingerprint", String(700), nullable=False),
    Column("rule", String(200), nullable=False),
    Column("rule_type", String(100), nullable=False),
    Column("status", String(20), nullable=False),  # pending | firing | acknowledged | resolved
    Column("severity", String(10), nullable=False),
    Column("labels", JSON, nullable=False),
    Column("title", Text, nullable=False),
    Column("metric", Text, nullable=False, default=""),
    Column("reasons", JSON, nullable=False),
    Column("post_count", Integer, nullable=False, default=0),
    Column("negative_count", Integer, nullable=False, default=0),
    Column("created_at", Float, nullable=False),
    Column("fired_at", Float),
    Column("first_seen", Float),
    Column("last_seen", Float),
    Column("last_hit_at", Float, nullable=False),
    Column("notify_at", Float, nullable=False),  # end of the group wait
    Column("notifications", Integer, nullable=False, default=0),
    Column("first_notified_at", Float),
    Column("last_notified_at", Float),
    Column("notified_post_count", Integer, nullable=False, default=0),
    Column("notified_severity", String(10)),
    Column("suppressed", String(200)),  # why the last due notification was held, if it was
    Column("notifiers", JSON, nullable=False),
    Column("escalations", JSON, nullable=False),  # [[after_seconds, [notifier, ...]], ...]
    Column("escalation_level", Integer, nullable=False, default=0),
    Column("group_wait", Float, nullable=False),
    Column("repeat_interval", Float, nullable=False),
    Column("clears_itself", Boolean, nullable=False, default=False),
    Column("next_action_at", Float),
    Column("acked_by", String(200)),
    Column("acked_at", Float),
    Column("ack_note", Text),
    Column("resolved_by", String(200)),
    Column("resolved_at", Float),
    Column("resolve_note", Text),
    Index("alert_alerts_open", "fingerprint", "status"),
    Index("alert_alerts_next", "next_action_at"),
    Index("alert_alerts_created", "created_at"),
)

alert_posts = Table(
    "alert_posts",
    metadata,
    Column("alert_id", String(40), primary_key=True),
    Column("post_id", String(300), primary_key=True),
    Column("published_ts", Float, nullable=False),
    Column("title", Text, nullable=False),
    Column("url", Text),
    Column("risk_score", Integer, nullable=False),
    Column("risk_level", String(10), nullable=False),
    Column("negative", Boolean, nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("source", String(200), nullable=False, default=""),
    Column("added_at", Float, nullable=False),
)

deliveries = Table(
    "alert_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", String(40)),
    Column("key", String(200), nullable=False),
    Column("kind", String(20), nullable=False),  # first | repeat | escalation | upgrade | test
    Column("notifier", String(200), nullable=False),
    Column("notification", JSON, nullable=False),
    Column("status", String(20), nullable=False),  # pending | sent | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Float, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("sent_at", Float),
    Column("last_status", Text),
    UniqueConstraint("key", "notifier", name="alert_deliveries_once"),
    Index("alert_deliveries_due", "notifier", "status", "next_attempt_at"),
)

attempts = Table(
    "alert_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", Integer, nullable=False, index=True),
    Column("notifier", String(200), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", Float, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("retryable", Boolean, nullable=False),
    Column("status", Text, nullable=False),
    Column("duration_ms", Float, nullable=False),
)

silences = Table(
    "alert_silences",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("matchers", JSON, nullable=False),
    Column("starts_at", Float, nullable=False),
    Column("ends_at", Float, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("comment", Text, nullable=False, default=""),
    Column("created_at", Float, nullable=False),
)

outbox = Table(
    "alert_outbox",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("key", String(100), nullable=False),
    Column("event", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("published_at", Float),
    Index("alert_outbox_unpublished", "published_at", "seq"),
)

inbox = Table(
    "alert_inbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("box", String(200), nullable=False),
    Column("key", String(200), nullable=False),
    Column("title", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("html", Text),
    Column("url", Text),
    Column("severity", String(10), nullable=False),
    Column("data", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("read_at", Float),
    Column("read_by", String(200)),
    UniqueConstraint("box", "key", name="alert_inbox_once"),
    Index("alert_inbox_recent", "box", "created_at"),
)

_engines: dict[str, Engine] = {}
_lock = threading.Lock()
_write_locks: dict[int, threading.RLock] = {}


@contextlib.contextmanager
def begin(engine: Engine) -> Iterator[Connection]:
    """A write transaction. On SQLite, threads of this process queue on a mutex first: SQLite's own
    busy handler polls with sleeps of up to 100 ms, which turns a briefly held lock into a stall."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    with _lock:
        lock = _write_locks.setdefault(id(engine), threading.RLock())
    with lock, engine.begin() as conn:
        yield conn


def get_engine(url: str) -> Engine:
    """One engine per URL per process, tables created on first use."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = create(url)
        return engine


def create(url: str) -> Engine:
    """A new engine (``sqlite://`` gives a private in-memory database, as dry runs want)."""
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = sqlalchemy_engine(url, **({"poolclass": StaticPool} if memory else {}))
    else:
        engine = create_engine(url, pool_pre_ping=True)
    metadata.create_all(engine)
    return engine


def dispose(url: str | None = None) -> None:
    """Close pooled connections (tests and ``Runtime.close``)."""
    with _lock:
        for u in [url] if url else list(_engines):
            engine = _engines.pop(u, None) if u else None
            if engine is not None:
                engine.dispose()


_statements: dict[tuple[str, str, str], Any] = {}


def _dialect(engine_or_conn: Any) -> str:
    return str(engine_or_conn.dialect.name)


def insert_ignore(engine_or_conn: Any, table: Table) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING for the dialect; values go in as execute() parameters,
    so the statement is built and compiled once (building ``.values(**row)`` per call dominated
    the engine's CPU time)."""
    name = _dialect(engine_or_conn)
    key = ("ignore", name, table.name)
    stmt = _statements.get(key)
    if stmt is None:
        if name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
        stmt = _statements[key] = dialect_insert(table).on_conflict_do_nothing()
    return stmt


def upsert(engine_or_conn: Any, table: Table, keys: list[str]) -> Any:
    """INSERT ... ON CONFLICT (keys) DO UPDATE every other column; values as execute() parameters."""
    name = _dialect(engine_or_conn)
    key = ("upsert", name, table.name)
    stmt = _statements.get(key)
    if stmt is None:
        if name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
        ins = dialect_insert(table)
        stmt = _statements[key] = ins.on_conflict_do_update(
            index_elements=keys, set_={c.name: ins.excluded[c.name] for c in table.columns if c.name not in keys}
        )
    return stmt

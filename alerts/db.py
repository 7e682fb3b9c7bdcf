"""Alert tables in the database (``alerts.database_url``, default ``database.url``), SQLAlchemy 2 Core.

All tables are prefixed ``alert_`` so they sit beside the ledger's without clashing (the ledger's
migrations must ignore that prefix). SQLite (the default) runs in WAL mode and every transaction
takes the write lock up front (``BEGIN IMMEDIATE``), so the engine thread, the delivery threads
and a ``yuqing alerts ack`` in another process queue instead of failing with "database is locked".
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Engine,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from notify.db import attempts, deliveries, inbox, metadata
from yuqing import sqldb
from yuqing.sqldb import begin, dispose, insert_ignore, upsert

__all__ = ["attempts", "begin", "deliveries", "dispose", "inbox", "insert_ignore", "metadata", "upsert"]


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


def get_engine(url: str) -> Engine:
    """One engine per URL per process, tables created on first use."""
    return sqldb.get_engine(url, metadata)


def create(url: str) -> Engine:
    """A new engine with the tables (``sqlite://`` gives a private in-memory database, as dry runs want)."""
    engine = sqldb.open_engine(url)
    metadata.create_all(engine)
    return engine

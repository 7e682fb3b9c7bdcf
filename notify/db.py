"""The tables of durable delivery and of the in-app inbox, in the alerts database
(``alerts.database_url``, default ``database.url``). Their names keep the ``alert_`` prefix they
always had, so existing databases need no migration; the alert engine's own tables are defined on
the same ``metadata`` (``alerts.db``).
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Engine, Float, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

from yuqing import sqldb
from yuqing.sqldb import begin, dispose, insert_ignore, upsert

__all__ = ["attempts", "begin", "deliveries", "dispose", "get_engine", "inbox", "insert_ignore", "metadata", "upsert"]

metadata = MetaData()

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


def get_engine(url: str) -> Engine:
    """One engine per URL per process, these tables (and any defined on ``metadata``) created on first use."""
    return sqldb.get_engine(url, metadata)

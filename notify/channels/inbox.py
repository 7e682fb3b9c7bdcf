"""In-app inbox: notifications stored in the database (table ``alert_inbox``) for the web UI.

Idempotent by (box, notification key): delivering the same notification twice keeps one row.
``Inbox`` reads and marks messages for the web UI and ``yuqing alerts inbox``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from notify import db
from notify.base import DeliveryResult, Notification, Notifier, NotifierContext
from notify.channels.inbox_config import InboxConfig
from yuqing.timeutil import from_epoch

__all__ = ["Inbox", "InboxConfig", "InboxMessage", "InboxNotifier"]


@dataclass(frozen=True)
class InboxMessage:
    id: int
    box: str
    key: str
    title: str
    text: str
    html: str | None
    url: str | None
    severity: str
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None
    read_by: str | None


class Inbox:
    def __init__(self, database_url: str) -> None:
        self.engine = db.get_engine(database_url)

    def add(self, box: str, n: Notification, at: float | None = None) -> bool:
        """False when this notification was already in the box."""
        row = {
            "box": box,
            "key": n.key or f"anon-{time.time_ns()}",
            "title": n.title,
            "text": n.text,
            "html": n.html,
            "url": n.url,
            "severity": n.severity,
            "data": n.data,
            "created_at": at if at is not None else time.time(),
        }
        try:
            with db.begin(self.engine) as conn:
                conn.execute(insert(db.inbox).values(**row))
        except IntegrityError:
            return False
        return True

    def messages(self, box: str | None = None, *, unread: bool = False, limit: int = 50) -> list[InboxMessage]:
        q = select(db.inbox).order_by(db.inbox.c.created_at.desc(), db.inbox.c.id.desc()).limit(limit)
        if box is not None:
            q = q.where(db.inbox.c.box == box)
        if unread:
            q = q.where(db.inbox.c.read_at.is_(None))
        with self.engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
        return [
            InboxMessage(
                r["id"],
                r["box"],
                r["key"],
                r["title"],
                r["text"],
                r["html"],
                r["url"],
                r["severity"],
                r["data"],
                from_epoch(r["created_at"]),
                from_epoch(r["read_at"] or None),
                r["read_by"],
            )
            for r in rows
        ]

    def unread_count(self, box: str | None = None) -> int:
        q = select(func.count()).select_from(db.inbox).where(db.inbox.c.read_at.is_(None))
        if box is not None:
            q = q.where(db.inbox.c.box == box)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())

    def mark_read(self, message_id: int, by: str) -> bool:
        with db.begin(self.engine) as conn:
            res = conn.execute(
                update(db.inbox).where(db.inbox.c.id == message_id, db.inbox.c.read_at.is_(None)).values(read_at=time.time(), read_by=by)
            )
        return bool(res.rowcount)


class InboxNotifier(Notifier):
    type = "inbox"
    Config = InboxConfig

    def __init__(self, config: InboxConfig, context: NotifierContext | None = None) -> None:
        super().__init__(config, context)
        self.cfg = config
        url = config.database_url or self.context.database_url
        if not url:
            raise ValueError(f"inbox notifier {config.name!r}: no database (set its database_url or alerts.database_url)")
        self.inbox = Inbox(url)
        self.box = config.box or config.name

    def send(self, notification: Notification) -> DeliveryResult:
        try:
            added = self.inbox.add(self.box, notification)
        except SQLAlchemyError as exc:
            return DeliveryResult(False, f"database error: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}", retryable=True)
        return DeliveryResult(True, "stored" if added else "already in the inbox")

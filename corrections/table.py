"""Table ``yuqing_corrections`` in the ledger's database (``database.url``): SQLite or PostgreSQL.

Like ``schemes.store``: the web pages write it and the processing stage reads it, and stages do
not import each other, so this shared package owns the table and creates it (``CREATE TABLE IF
NOT EXISTS``). Rows are only ever inserted: each is one person's correction of one post — who
(user name and role), when, the model's values, the values before and after, which fields were
changed and how (``via``: the post page, a whole event, the API) — so the table is the audit
trail of corrections, as ``ledger_audit`` is of cases (whose rows belong to a case).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Integer, MetaData, String, Table, Text, create_engine, select
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from corrections.model import FIELDS
from yuqing.errors import BackendError
from yuqing.sqlite_util import sqlalchemy_engine
from yuqing.timeutil import TZ

metadata = MetaData()
corrections_table = Table(
    "yuqing_corrections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("post_id", String(200), nullable=False),
    Column("event_id", String(200), nullable=False, default=""),
    Column("title", Text, nullable=False, default=""),  # the post as it was read, for the labelled export
    Column("content", Text, nullable=False, default=""),
    Column("model", JSON, nullable=False),  # the model's values (before any correction of this post)
    Column("old", JSON, nullable=False),  # the stored values before this correction
    Column("new", JSON, nullable=False),  # the values after it
    Column("reviewed", JSON, nullable=False),  # fields the person judged (all four on the post page)
    Column("changed", JSON, nullable=False),  # fields whose value this correction changed
    Column("via", String(20), nullable=False),  # post | event | api
    Column("batch", String(40), nullable=False, default=""),  # one event-wide correction's rows share it
    Column("actor_id", Integer, nullable=True),
    Column("actor_name", String(64), nullable=False),
    Column("actor_role", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("yuqing_corrections_post", "post_id", "id"),
    Index("yuqing_corrections_created", "created_at"),
)


class CorrectionStoreError(BackendError):
    """The corrections table cannot be read or written (retryable: the database may come back)."""


@dataclass(frozen=True)
class Correction:
    id: int
    post_id: str
    event_id: str
    title: str
    content: str
    model: dict[str, str | None]
    old: dict[str, str | None]
    new: dict[str, str | None]
    reviewed: list[str]
    changed: list[str]
    via: str
    batch: str
    actor_name: str
    actor_role: str
    created_at: datetime

    @classmethod
    def of(cls, r: Any) -> Correction:
        at = r["created_at"]
        at = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(TZ)  # SQLite keeps no zone
        return cls(**{k: r[k] for k in cls.__dataclass_fields__ if k != "created_at"}, created_at=at)


def _engine(url: str) -> Engine:
    if make_url(url).get_backend_name() == "sqlite":
        return sqlalchemy_engine(url)
    return create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=2)


def _where(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


class CorrectionTable:
    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = _engine(url)
            metadata.create_all(self.engine)
        except (SQLAlchemyError, OSError) as exc:
            raise CorrectionStoreError(f"cannot open the corrections table in {_where(url)}: {exc}") from exc

    def close(self) -> None:
        self.engine.dispose()

    def insert(self, c: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Insert rows in the caller's transaction (``engine.begin()``)."""
        if rows:
            c.execute(corrections_table.insert(), [{"created_at": datetime.now(UTC), "batch": "", **r} for r in rows])

    def _select(self, q: Any) -> list[Correction]:
        try:
            with self.engine.connect() as c:
                return [Correction.of(r) for r in c.execute(q).mappings().all()]
        except SQLAlchemyError as exc:
            raise CorrectionStoreError(f"reading corrections from {_where(self.url)} failed: {str(exc).splitlines()[0][:300]}") from exc

    def history(self, post_id: str) -> list[Correction]:
        """Every correction of one post, oldest first."""
        t = corrections_table
        return self._select(select(t).where(t.c.post_id == post_id).order_by(t.c.id))

    def of_posts(self, post_ids: Iterable[str]) -> dict[str, list[Correction]]:
        """Corrections of these posts, oldest first (one query per 500 ids)."""
        ids = sorted(set(post_ids))
        out: dict[str, list[Correction]] = {}
        t = corrections_table
        for i in range(0, len(ids), 500):
            for r in self._select(select(t).where(t.c.post_id.in_(ids[i : i + 500])).order_by(t.c.id)):
                out.setdefault(r.post_id, []).append(r)
        return out

    def pinned_of(self, post_ids: Iterable[str]) -> dict[str, dict[str, str | None]]:
        """``pinned`` values of these posts (those with any), reading only the columns it needs:
        the processing stage asks this for every batch."""
        ids = sorted(set(post_ids))
        t = corrections_table
        rows: dict[str, list[Any]] = {}
        try:
            with self.engine.connect() as c:
                for i in range(0, len(ids), 500):
                    q = select(t.c.post_id, t.c.new, t.c.changed, t.c.reviewed).where(t.c.post_id.in_(ids[i : i + 500])).order_by(t.c.id)
                    for r in c.execute(q).mappings():
                        rows.setdefault(r["post_id"], []).append(r)
        except SQLAlchemyError as exc:
            raise CorrectionStoreError(f"reading corrections from {_where(self.url)} failed: {str(exc).splitlines()[0][:300]}") from exc
        return {pid: p for pid, h in rows.items() if (p := pinned(h))}

    def all(self, since: datetime | None = None, until: datetime | None = None) -> list[Correction]:
        t = corrections_table
        q = select(t).order_by(t.c.id)
        if since is not None:
            q = q.where(t.c.created_at >= since)
        if until is not None:
            q = q.where(t.c.created_at < until)
        return self._select(q)


def pinned(history: Sequence[Any]) -> dict[str, str | None]:
    """The values people set on a post that re-processing must keep: every field some correction
    changed, at the value the latest correction judging that field gave it. ``history``: oldest
    first, Corrections or rows with ``new``, ``changed`` and ``reviewed``."""
    out: dict[str, str | None] = {}
    for c in history:
        new, changed, reviewed = (c.new, c.changed, c.reviewed) if isinstance(c, Correction) else (c["new"], c["changed"], c["reviewed"])
        for f in FIELDS:
            if f in changed or (f in out and f in reviewed):
                out[f] = new.get(f)
    return out


def model_values(history: Sequence[Correction], current: dict[str, str | None]) -> dict[str, str | None]:
    """The model's values of a post: from its first correction, or its current values if none."""
    return dict(history[0].model) if history else dict(current)

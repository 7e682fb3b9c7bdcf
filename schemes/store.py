"""Schemes in the database: table ``yuqing_schemes`` in the ledger's database (``database.url``).

Why there, and why not an Alembic migration of the ledger: the ledger's web pages edit schemes
and its users own them, so they belong in its database (SQLite or PostgreSQL, backed up with it);
but the processing stage reads them too, and stages do not import each other, so the table is
owned by this shared package and created here (``CREATE TABLE IF NOT EXISTS``), with its own
``revision`` row in ``yuqing_schemes_meta`` for later changes. Every write is one transaction:
an import either saves every scheme or none.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Column, DateTime, Integer, MetaData, String, Table, Text, create_engine, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from schemes.model import Scheme, SchemeError, validate_all
from yuqing.errors import BackendError
from yuqing.sqlite_util import sqlalchemy_engine

metadata = MetaData()
schemes_table = Table(
    "yuqing_schemes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(60), nullable=False, unique=True),
    Column("team", String(60), nullable=False, default=""),
    Column("include", Text, nullable=False),
    Column("exclude", JSON, nullable=False),
    Column("regions", JSON, nullable=False),
    Column("sources", JSON, nullable=False),
    Column("topics", JSON, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("revision", Integer, nullable=False),  # the table-wide revision of its last change
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", String(100), nullable=False, default=""),
)
meta_table = Table(
    "yuqing_schemes_meta",
    metadata,
    Column("key", String(40), primary_key=True),
    Column("value", Integer, nullable=False),
)
backfill_table = Table(
    "yuqing_schemes_backfill",
    metadata,
    Column("key", String(40), primary_key=True),
    Column("revision", Integer, nullable=False),  # schemes revision being applied
    Column("until_us", BigInteger, nullable=False),  # posts published before this (fixed at start)
    Column("done", Integer, nullable=False),  # posts handled, in (published_at desc, id) order
    Column("written", Integer, nullable=False),  # posts whose tags changed and were rewritten
    Column("total", Integer, nullable=False),
    Column("finished", Boolean, nullable=False),
)
# Who runs the backfill now (one process at a time: the web app's background job or the CLI); a
# holder that dies leaves the lease to expire. A separate table, so older databases get it by
# ``CREATE TABLE IF NOT EXISTS`` like the others.
lease_table = Table(
    "yuqing_schemes_lease",
    metadata,
    Column("key", String(40), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("expires_us", BigInteger, nullable=False),
)
FIELDS = ("name", "team", "include", "exclude", "regions", "sources", "topics", "active")


class SchemeStoreError(BackendError):
    """The schemes table cannot be read or written."""


def _engine(url: str) -> Engine:
    if make_url(url).get_backend_name() == "sqlite":
        return sqlalchemy_engine(url)
    return create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=2)


def _widen_until(engine: Engine) -> None:
    """``until_us`` was created as a 32-bit INTEGER before: fine on SQLite, but on PostgreSQL no
    microsecond time fits, so no backfill could run there. Widen it once (the table could hold no
    row then)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as c:
        kind = c.execute(
            text(
                "SELECT data_type FROM information_schema.columns WHERE table_name = 'yuqing_schemes_backfill' AND column_name = 'until_us' AND table_schema = current_schema()"
            )
        ).scalar()
        if kind == "integer":
            c.execute(text("ALTER TABLE yuqing_schemes_backfill ALTER COLUMN until_us TYPE BIGINT"))


class SchemeStore:
    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = _engine(url)
            metadata.create_all(self.engine)
            _widen_until(self.engine)
        except SQLAlchemyError as exc:
            raise SchemeStoreError(f"cannot open the schemes table in {make_url(url).render_as_string(hide_password=True)}: {exc}") from exc

    def close(self) -> None:
        self.engine.dispose()

    def revision(self) -> int:
        """Grows with every change; the processing stage reloads its matcher when it moves."""
        with self.engine.connect() as c:
            v = c.execute(select(meta_table.c.value).where(meta_table.c.key == "revision")).scalar()
        return int(v or 0)

    def list(self, *, active_only: bool = False) -> list[Scheme]:
        q = select(schemes_table).order_by(schemes_table.c.name)
        if active_only:
            q = q.where(schemes_table.c.active.is_(True))
        with self.engine.connect() as c:
            rows = c.execute(q).mappings().all()
        out = [Scheme.model_validate({k: r[k] for k in FIELDS}) for r in rows]
        return sorted(out, key=lambda s: s.name)  # by code point on every database

    def get(self, name: str) -> Scheme | None:
        with self.engine.connect() as c:
            r = c.execute(select(schemes_table).where(schemes_table.c.name == name)).mappings().first()
        return Scheme.model_validate({k: r[k] for k in FIELDS}) if r else None

    def save(self, scheme: Scheme, *, by: str = "", rename_from: str | None = None) -> None:
        self.save_all([scheme], by=by, renames={scheme.name: rename_from} if rename_from else None)

    def save_all(
        self, schemes: Sequence[Scheme | dict[str, Any]], *, by: str = "", renames: dict[str, str] | None = None
    ) -> tuple[int, int]:
        """Validate all, then insert or update by name in one transaction. Returns (created, updated)."""
        valid = validate_all(schemes)
        created = updated = 0
        try:
            with self.engine.begin() as c:
                rev = self._bump(c)
                for s in valid:
                    values = s.model_dump() | {"revision": rev, "updated_at": datetime.now(UTC), "updated_by": by}
                    old = (renames or {}).get(s.name) or s.name
                    hit = c.execute(schemes_table.update().where(schemes_table.c.name == old).values(**values))
                    if hit.rowcount:
                        updated += 1
                    else:
                        c.execute(schemes_table.insert().values(**values))
                        created += 1
        except IntegrityError as exc:
            raise SchemeError([f"schemes: a scheme with that name exists already ({exc.orig})"]) from exc
        except SQLAlchemyError as exc:
            raise SchemeStoreError(f"saving schemes failed, nothing was saved: {exc}") from exc
        return created, updated

    def delete(self, name: str) -> bool:
        with self.engine.begin() as c:
            n = c.execute(schemes_table.delete().where(schemes_table.c.name == name)).rowcount
            if n:
                self._bump(c)
        return bool(n)

    def _bump(self, c: Any) -> int:
        cur = c.execute(select(meta_table.c.value).where(meta_table.c.key == "revision")).scalar()
        if cur is None:
            c.execute(meta_table.insert().values(key="revision", value=1))
            return 1
        c.execute(meta_table.update().where(meta_table.c.key == "revision").values(value=meta_table.c.value + 1))
        return int(cur) + 1

"""SQLAlchemy Core engines for the tables of the alerts, the deliveries and the briefings: one
engine per database URL per process, its tables created on first use.

SQLite (the default) runs in WAL mode and every transaction takes the write lock up front
(``BEGIN IMMEDIATE``, ``yuqing.sqlite_util.sqlalchemy_engine``), so the engine thread, the
delivery threads and a ``yuqing alerts ack`` in another process queue instead of failing with
"database is locked". The ledger's ORM database has its own engine (``ledger.db``): it adds
foreign keys, read-only transactions and PostgreSQL pool settings of its own.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, Table, create_engine
from sqlalchemy.pool import StaticPool

from yuqing.sqlite_util import sqlalchemy_engine

_engines: dict[str, Engine] = {}
_created: dict[str, set[str]] = {}
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


def get_engine(url: str, metadata: MetaData) -> Engine:
    """One engine per URL per process; the tables of ``metadata`` are created the first time (and
    again when more tables were defined on it since)."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = open_engine(url)
        names = set(metadata.tables)
        done = _created.setdefault(url, set())
        if not names <= done:
            metadata.create_all(engine)
            done |= names
        return engine


def open_engine(url: str) -> Engine:
    """A new engine (``sqlite://`` gives a private in-memory database, as dry runs want)."""
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        return sqlalchemy_engine(url, poolclass=StaticPool) if memory else sqlalchemy_engine(url)
    return create_engine(url, pool_pre_ping=True)


def dispose(url: str | None = None) -> None:
    """Close pooled connections (tests and ``Runtime.close``)."""
    with _lock:
        for u in [url] if url else list(_engines):
            engine = _engines.pop(u, None) if u else None
            if u:
                _created.pop(u, None)
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

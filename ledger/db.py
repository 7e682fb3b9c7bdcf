"""The ledger database: engines for SQLite (embedded default) and PostgreSQL (production),
Alembic migrations, and the check ``yuqing doctor`` runs.

SQLite: WAL, foreign keys on, and write transactions start with ``BEGIN IMMEDIATE`` so that two
writers queue on the lock instead of one failing half-way with "database is locked" (pysqlite's
own deferred BEGIN lets both read, then refuses the second writer). Read-only sessions
(``Database.read``) use a plain deferred BEGIN and never wait for writers.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from yuqing.errors import BackendError, ConfigError
from yuqing.sqlite_util import sqlalchemy_engine

log = logging.getLogger("ledger.db")
MIGRATIONS = Path(__file__).with_name("migrations")
_READONLY = "ledger_readonly"
VERSION_TABLE = "ledger_alembic_version"  # its own name, so the ledger can share a database with others


class DatabaseError(BackendError):
    """The ledger database is unreachable or its schema is not one this code knows."""


def make_engine(url: str, **kwargs: Any) -> Engine:
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigError(f"not a database URL: {url!r}", key="database.url") from exc
    if parsed.get_backend_name() == "sqlite":
        # The one SQLite set-up (WAL, busy timeout, BEGIN IMMEDIATE), with foreign keys, and
        # deferred BEGIN for read-only sessions.
        return sqlalchemy_engine(url, foreign_keys=True, deferred_option=_READONLY, **kwargs)
    if parsed.get_backend_name() == "postgresql":
        # Past the 20th concurrent request a worker opens a connection (a new PostgreSQL backend)
        # and closes it on return. Keeping 40 open per worker instead was tried (bench.web): two
        # workers and the tests' databases then ran the shared server out of max_connections.
        kwargs.setdefault("pool_size", 20)
        kwargs.setdefault("max_overflow", 20)
        # JSON columns (link lists, audit data) decoded by orjson, not the json module: a case
        # list of 20 decodes some fifty of them (issue 9).
        kwargs.setdefault("json_deserializer", orjson.loads)
        ping = kwargs.pop("pool_pre_ping", None)
        engine = create_engine(url, pool_pre_ping=bool(ping), **kwargs)
        if ping is None:
            _ping_when_idle(engine)
        return engine
    raise ConfigError(
        f"unsupported database {parsed.get_backend_name()!r} in {url!r}: use sqlite:///PATH or postgresql+psycopg://...", key="database.url"
    )


PING_AFTER_IDLE = 5.0  # seconds


def _ping_when_idle(engine: Engine) -> None:
    """``pool_pre_ping`` for a connection that has been idle in the pool: one that was in use a
    moment ago is not pinged (a round trip per checkout, two or three per request). A restart of
    PostgreSQL or a dropped idle connection is still caught before use; a connection that breaks
    while the server is busy fails that request (503, ``ledger.web``) and SQLAlchemy then replaces
    every connection the pool held."""

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            if engine.dialect.is_disconnect(exc, dbapi_conn, None) or getattr(dbapi_conn, "closed", False):
                raise DisconnectionError(str(exc)) from exc  # the pool retries with a new connection
            raise
        if not alive:
            raise DisconnectionError("connection lost while idle")


class Database:
    """One engine and its sessions. ``write()`` is a transaction that commits on success."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._writer = sessionmaker(self.engine, expire_on_commit=False)
        reading: dict[str, Any] = {_READONLY: True}
        if self.engine.dialect.name == "postgresql":
            # Reads run in autocommit: no BEGIN and COMMIT round trips. The same reads as a READ
            # COMMITTED transaction (PostgreSQL's default), where each statement sees its own snapshot.
            reading["isolation_level"] = "AUTOCOMMIT"
        self._read_engine = self.engine.execution_options(**reading)
        self._reader = sessionmaker(self._read_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        with self._writer() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        with self._reader() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """A connection for Core reads, the same transaction as ``read()`` without an ORM session
        (a third less CPU per query: ``ledger.reads``)."""
        with self._read_engine.connect() as conn:
            yield conn

    def migrate(self) -> str:
        return migrate(self.engine)

    def close(self) -> None:
        self.engine.dispose()


def alembic_config(engine: Engine | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def migrate(engine: Engine, revision: str = "head") -> str:
    """Bring the schema to ``revision`` (default: the newest); returns the revision reached."""
    from alembic import command

    try:
        command.upgrade(alembic_config(engine), revision)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"migrating the ledger database failed: {exc}") from exc
    return current_revision(engine) or "base"


def downgrade(engine: Engine, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(engine), revision)


def check_database(url: str) -> str:
    """One line saying which database this is and where its schema stands; raises DatabaseError."""
    try:
        engine = make_engine(url, **({} if url.startswith("sqlite") else {"pool_size": 1, "max_overflow": 0}))
    except ConfigError:
        raise
    try:
        with engine.connect() as conn:
            version = conn.execute(text("select sqlite_version()" if engine.dialect.name == "sqlite" else "show server_version")).scalar()
        rev = current_revision(engine)
        tables = inspect(engine).get_table_names()
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise DatabaseError(f"cannot reach the ledger database: {reason}") from exc
    finally:
        engine.dispose()
    head = head_revision()
    name = f"{engine.dialect.name} {version}"
    if rev is None:
        if any(t.startswith("ledger_") and t != VERSION_TABLE for t in tables):
            raise DatabaseError(f"{name}: ledger tables exist but no migration is recorded; was the schema made by hand?")
        return f"{name}, ledger schema not created yet (created by `yuqing ledger migrate` or at start)"
    if rev == head:
        return f"{name}, ledger schema at {rev} (newest)"
    from alembic.script import ScriptDirectory

    known = {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if rev not in known:
        raise DatabaseError(f"{name}: ledger schema at {rev}, which this version of yuqing does not know (newer code ran here?)")
    return f"{name}, ledger schema at {rev}; {head} pending (run `yuqing ledger migrate`)"

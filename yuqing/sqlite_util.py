"""SQLite helpers shared by the embedded backends."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from yuqing.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy import Engine


def sqlite_path(url: str) -> Path:
    """``sqlite:///rel/path.db`` is relative to the working directory, ``sqlite:////abs.db`` absolute."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite" or parts.netloc:
        raise ConfigError(f"not a sqlite URL: {url!r} (expected sqlite:///PATH)")
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if not path:
        raise ConfigError(f"sqlite URL without a path: {url!r}")
    return Path(path)


def connect(path: Path, *, synchronous: str = "NORMAL") -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def sqlalchemy_engine(url: str, *, foreign_keys: bool = False, deferred_option: str | None = None, **kwargs: Any) -> Engine:
    """A SQLAlchemy engine on a SQLite file (or ``sqlite://`` in memory) set up the way every
    embedded backend shares one file between threads and processes: WAL, a 30 s busy timeout,
    and the write lock taken up front (``BEGIN IMMEDIATE``) so that two writers queue instead of
    one failing with "database is locked" when it upgrades a read lock. Transaction control is
    SQLAlchemy's alone (pysqlite's own deferred BEGIN is switched off). ``foreign_keys`` turns on
    SQLite's foreign key checks (the ledger's ORM tables); a connection given the execution option
    ``deferred_option`` begins with a plain, deferred ``BEGIN`` instead (read-only transactions)."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        if foreign_keys:
            cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        deferred = deferred_option is not None and conn.get_execution_options().get(deferred_option)
        conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")

    return engine

"""Collector state in the local state database: cursors, seen posts, the spool and health per source.

One SQLite file (``settings.state_url``), so a fetch's new cursor, the ids it published (or
spooled) and its health figures are saved in one transaction: a restart resumes exactly where
the last committed run stopped.

The spool holds posts fetched while the bus was unreachable (``collectors.service``): they are
written in the same transaction as the cursor that skipped past them, and published first on the
source's next run.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from yuqing.sqlite_util import connect, sqlite_path
from yuqing.timeutil import TZ, now

if TYPE_CHECKING:
    from yuqing.runtime import Runtime

_SCHEMA = """
CREATE TABLE IF NOT EXISTS source_state (source TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS source_seen (
    source TEXT NOT NULL, post_id TEXT NOT NULL, content_hash TEXT, first_seen REAL NOT NULL,
    PRIMARY KEY (source, post_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS source_seen_hash ON source_seen (source, content_hash);
CREATE TABLE IF NOT EXISTS source_health (
    source TEXT PRIMARY KEY, last_run REAL, last_success REAL, last_error TEXT, last_error_at REAL,
    items_total INTEGER NOT NULL DEFAULT 0, last_items INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS source_daily (
    source TEXT NOT NULL, day TEXT NOT NULL, items INTEGER NOT NULL, PRIMARY KEY (source, day)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS spool (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, post_id TEXT NOT NULL, body BLOB NOT NULL, spooled_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS spool_source ON spool (source, seq);
"""
# Columns added after the first release; added to older state files on open.
_ADDED = {
    "source_seen": [("reply_hash", "TEXT")],
    "source_health": [
        ("first_run", "REAL"),
        ("last_new_at", "REAL"),
        ("failures", "INTEGER NOT NULL DEFAULT 0"),
        ("last_problems", "INTEGER NOT NULL DEFAULT 0"),
    ],
}


@dataclass(frozen=True)
class Health:
    source: str
    last_run: datetime | None
    last_success: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    items_total: int
    last_items: int
    items_today: int
    first_run: datetime | None = None
    last_new_at: datetime | None = None
    failures: int = 0  # consecutive failed runs
    last_problems: int = 0  # items skipped or repaired in the last successful run
    spooled: int = 0  # posts waiting in the spool for the bus


@dataclass(frozen=True)
class Seen:
    """A post this source published before: a reply arriving later is published again."""

    post_id: str
    reply_hash: str | None


def _dt(ts: float | None) -> datetime | None:
    return datetime.fromtimestamp(ts, TZ) if ts else None


class StateStore:
    def __init__(self, url: str) -> None:
        self.path = sqlite_path(url)
        self._lock = threading.Lock()
        self._conn = connect(self.path)
        self._conn.executescript(_SCHEMA)
        for table, columns in _ADDED.items():
            have = {r[1] for r in self._conn.execute(f"PRAGMA table_info({table})")}
            for name, decl in columns:
                if name not in have:
                    self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")

    def load(self, source: str) -> dict[str, Any]:
        with self._lock:
            row = self._conn.execute("SELECT state FROM source_state WHERE source=?", (source,)).fetchone()
        return json.loads(row[0]) if row else {}

    def seen(self, source: str, post_ids: Iterable[str], hashes: Iterable[str]) -> tuple[dict[str, Seen], set[str]]:
        """Which of these ids and text hashes this source already published."""
        ids, hs = list(post_ids), [h for h in hashes if h]
        with self._lock:
            rows = self._query_in("SELECT post_id, reply_hash FROM source_seen WHERE source=? AND post_id IN", source, ids)
            seen_hashes = {
                r[0] for r in self._query_in("SELECT content_hash FROM source_seen WHERE source=? AND content_hash IN", source, hs)
            }
        return {r[0]: Seen(r[0], r[1]) for r in rows}, seen_hashes

    def _query_in(self, sql: str, source: str, values: list[str]) -> list[tuple[Any, ...]]:
        out: list[tuple[Any, ...]] = []
        for i in range(0, len(values), 500):
            chunk = values[i : i + 500]
            out += self._conn.execute(f"{sql} ({','.join('?' * len(chunk))})", (source, *chunk)).fetchall()
        return out

    def commit_run(
        self,
        source: str,
        state: dict[str, Any],
        published: Sequence[tuple[str, str, str | None]],
        *,
        new: int | None = None,
        spooled: Sequence[tuple[str, bytes]] = (),
        problems: int = 0,
    ) -> None:
        """After the bus acknowledged (or the posts went to the spool): remember what was
        published as ``(post id, text hash, reply hash)``, the new cursor and the health figures,
        atomically. ``new`` counts first publications (replies published again are not new)."""
        ts = now()
        day = ts.strftime("%Y-%m-%d")
        n_new = len(published) if new is None else new
        with self._lock:
            c = self._conn
            c.execute("BEGIN IMMEDIATE")
            try:
                c.executemany(
                    "INSERT INTO source_seen (source, post_id, content_hash, first_seen, reply_hash) VALUES (?,?,?,?,?) "
                    "ON CONFLICT(source, post_id) DO UPDATE SET reply_hash=excluded.reply_hash",
                    [(source, pid, h, ts.timestamp(), rh) for pid, h, rh in published],
                )
                c.executemany(
                    "INSERT INTO spool (source, post_id, body, spooled_at) VALUES (?,?,?,?)",
                    [(source, pid, body, ts.timestamp()) for pid, body in spooled],
                )
                c.execute("INSERT OR REPLACE INTO source_state VALUES (?,?)", (source, json.dumps(state, ensure_ascii=False)))
                t = ts.timestamp()
                c.execute(
                    "INSERT INTO source_health (source, first_run, last_run, last_success, items_total, last_items, last_new_at, "
                    "failures, last_problems) VALUES (?,?,?,?,?,?,?,0,?) "
                    "ON CONFLICT(source) DO UPDATE SET last_run=excluded.last_run, last_success=excluded.last_success, "
                    "items_total=items_total+excluded.items_total, last_items=excluded.last_items, "
                    "last_new_at=COALESCE(excluded.last_new_at, last_new_at), first_run=COALESCE(first_run, excluded.first_run), "
                    "failures=0, last_problems=excluded.last_problems",
                    (source, t, t, t, n_new, n_new, t if n_new else None, problems),
                )
                c.execute(
                    "INSERT INTO source_daily VALUES (?,?,?) ON CONFLICT(source, day) DO UPDATE SET items=items+excluded.items",
                    (source, day, n_new),
                )
                c.execute("COMMIT")
            except sqlite3.Error:
                c.execute("ROLLBACK")
                raise

    def record_error(self, source: str, error: str, *, failed: bool = True) -> None:
        """``failed=False`` for an error after a successful fetch (bus down, posts spooled)."""
        ts = now().timestamp()
        with self._lock:
            self._conn.execute(
                "INSERT INTO source_health (source, first_run, last_run, last_error, last_error_at, failures) VALUES (?,?,?,?,?,?) "
                "ON CONFLICT(source) DO UPDATE SET last_run=excluded.last_run, last_error=excluded.last_error, "
                "last_error_at=excluded.last_error_at, failures=failures+excluded.failures, first_run=COALESCE(first_run, excluded.first_run)",
                (source, ts, ts, error[:1000], ts, int(failed)),
            )

    # -- spool ------------------------------------------------------------------------------
    def spooled(self, source: str, limit: int = 500) -> list[tuple[int, str, bytes]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, post_id, body FROM spool WHERE source=? ORDER BY seq LIMIT ?", (source, limit)
            ).fetchall()
        return [(int(r[0]), r[1], bytes(r[2])) for r in rows]

    def unspool(self, seqs: Sequence[int]) -> None:
        with self._lock:
            self._conn.executemany("DELETE FROM spool WHERE seq=?", [(s,) for s in seqs])

    def spool_counts(self) -> dict[str, int]:
        with self._lock:
            return {r[0]: int(r[1]) for r in self._conn.execute("SELECT source, COUNT(*) FROM spool GROUP BY source")}

    # -- health -----------------------------------------------------------------------------
    def health(self) -> list[Health]:
        day = now().strftime("%Y-%m-%d")
        spool = self.spool_counts()
        with self._lock:
            rows = self._conn.execute(
                "SELECT h.source, last_run, last_success, last_error, last_error_at, items_total, last_items, COALESCE(d.items, 0), "
                "first_run, last_new_at, failures, last_problems "
                "FROM source_health h LEFT JOIN source_daily d ON d.source = h.source AND d.day = ? ORDER BY h.source",
                (day,),
            ).fetchall()
        return [
            Health(r[0], _dt(r[1]), _dt(r[2]), r[3], _dt(r[4]), r[5], r[6], r[7], _dt(r[8]), _dt(r[9]), r[10], r[11], spool.get(r[0], 0))
            for r in rows
        ]

    def daily(self, source: str, days: int = 14) -> dict[str, int]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT day, items FROM source_daily WHERE source=? ORDER BY day DESC LIMIT ?", (source, days)
            ).fetchall()
        return dict(sorted(rows))

    def close(self) -> None:
        self._conn.close()


def runtime_state(runtime: Runtime) -> StateStore:
    """The collectors' state store of ``runtime`` (``state_url``), opened once and closed with it."""
    return runtime.resource("collectors.state", lambda: StateStore(runtime.settings.state_url))

"""Collector state in the local state database: cursors, seen posts and health per source."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from yuqing.sqlite_util import connect, sqlite_path
from yuqing.timeutil import TZ, now

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
"""


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


def _dt(ts: float | None) -> datetime | None:
    return datetime.fromtimestamp(ts, TZ) if ts else None


class StateStore:
    def __init__(self, url: str) -> None:
        self.path = sqlite_path(url)
        self._lock = threading.Lock()
        self._conn = connect(self.path)
        self._conn.executescript(_SCHEMA)

    def load(self, source: str) -> dict[str, Any]:
        with self._lock:
            row = self._conn.execute("SELECT state FROM source_state WHERE source=?", (source,)).fetchone()
        return json.loads(row[0]) if row else {}

    def seen(self, source: str, post_ids: Iterable[str], hashes: Iterable[str]) -> tuple[set[str], set[str]]:
        ids, hs = list(post_ids), [h for h in hashes if h]
        with self._lock:
            seen_ids = {r[0] for r in self._query_in("SELECT post_id FROM source_seen WHERE source=? AND post_id IN", source, ids)}
            seen_hashes = {r[0] for r in self._query_in("SELECT content_hash FROM source_seen WHERE source=? AND content_hash IN", source, hs)}
        return seen_ids, seen_hashes

    def _query_in(self, sql: str, source: str, values: list[str]) -> list[tuple[Any, ...]]:
        out: list[tuple[Any, ...]] = []
        for i in range(0, len(values), 500):
            chunk = values[i : i + 500]
            out += self._conn.execute(f"{sql} ({','.join('?' * len(chunk))})", (source, *chunk)).fetchall()
        return out

    def commit_run(self, source: str, state: dict[str, Any], published: list[tuple[str, str]]) -> None:
        """After the bus acknowledged: remember what was published and the new cursor, atomically."""
        ts = now()
        day = ts.strftime("%Y-%m-%d")
        with self._lock:
            c = self._conn
            c.execute("BEGIN IMMEDIATE")
            try:
                c.executemany(
                    "INSERT OR IGNORE INTO source_seen VALUES (?,?,?,?)", [(source, pid, h, ts.timestamp()) for pid, h in published]
                )
                c.execute("INSERT OR REPLACE INTO source_state VALUES (?,?)", (source, json.dumps(state, ensure_ascii=False)))
                c.execute(
                    "INSERT INTO source_health (source, last_run, last_success, items_total, last_items) VALUES (?,?,?,?,?) "
                    "ON CONFLICT(source) DO UPDATE SET last_run=excluded.last_run, last_success=excluded.last_success, "
                    "items_total=items_total+excluded.items_total, last_items=excluded.last_items",
                    (source, ts.timestamp(), ts.timestamp(), len(published), len(published)),
                )
                c.execute(
                    "INSERT INTO source_daily VALUES (?,?,?) ON CONFLICT(source, day) DO UPDATE SET items=items+excluded.items",
                    (source, day, len(published)),
                )
                c.execute("COMMIT")
            except sqlite3.Error:
                c.execute("ROLLBACK")
                raise

    def record_error(self, source: str, error: str) -> None:
        ts = now().timestamp()
        with self._lock:
            self._conn.execute(
                "INSERT INTO source_health (source, last_run, last_error, last_error_at) VALUES (?,?,?,?) "
                "ON CONFLICT(source) DO UPDATE SET last_run=excluded.last_run, last_error=excluded.last_error, last_error_at=excluded.last_error_at",
                (source, ts, error[:1000], ts),
            )

    def health(self) -> list[Health]:
        day = now().strftime("%Y-%m-%d")
        with self._lock:
            rows = self._conn.execute(
                "SELECT h.source, last_run, last_success, last_error, last_error_at, items_total, last_items, COALESCE(d.items, 0) "
                "FROM source_health h LEFT JOIN source_daily d ON d.source = h.source AND d.day = ? ORDER BY h.source",
                (day,),
            ).fetchall()
        return [Health(r[0], _dt(r[1]), _dt(r[2]), r[3], _dt(r[4]), r[5], r[6], r[7]) for r in rows]

    def daily(self, source: str, days: int = 14) -> dict[str, int]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT day, items FROM source_daily WHERE source=? ORDER BY day DESC LIMIT ?", (source, days)
            ).fetchall()
        return dict(sorted(rows))

    def close(self) -> None:
        self._conn.close()

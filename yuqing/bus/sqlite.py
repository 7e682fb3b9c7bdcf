"""Embedded bus: a durable, partitioned append-only log in one SQLite file.

- Each topic has ``partitions`` partitions; a message goes to ``crc32(key) % partitions``, so all
  messages of one post stay in order.
- Consumer groups keep committed offsets per partition. Group members heartbeat into the file;
  live members split the partitions between them (partition ``p`` belongs to the member at index
  ``p % n`` of the sorted live members), so several worker processes on one machine share a topic
  safely. When membership changes, a partition's new owner starts at the committed offset:
  what the old owner polled but never committed is delivered again (at-least-once).
- WAL mode: writers never block readers; ``busy_timeout`` serialises concurrent writers.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
import zlib
from collections.abc import Sequence

from yuqing.bus import Message, OutMessage
from yuqing.errors import BusError
from yuqing.sqlite_util import connect, sqlite_path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS topics (topic TEXT PRIMARY KEY, partitions INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS log (
    topic TEXT NOT NULL, partition INTEGER NOT NULL, offset INTEGER NOT NULL,
    key TEXT, value BLOB NOT NULL, headers TEXT NOT NULL DEFAULT '{}', ts REAL NOT NULL,
    PRIMARY KEY (topic, partition, offset)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS offsets (
    grp TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
    PRIMARY KEY (grp, topic, partition)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS members (
    grp TEXT NOT NULL, topic TEXT NOT NULL, member TEXT NOT NULL, heartbeat REAL NOT NULL,
    PRIMARY KEY (grp, topic, member)
) WITHOUT ROWID;
"""


class SqliteBus:
    def __init__(self, url: str, *, partitions: int = 4, session_timeout: float = 10.0, synchronous: str = "NORMAL") -> None:
        self.url = url
        self.path = sqlite_path(url)
        self.partitions = partitions
        self.session_timeout = session_timeout
        self.synchronous = synchronous
        self._lock = threading.Lock()
        try:
            self._conn = connect(self.path, synchronous=synchronous)
            self._conn.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:  # OSError: the parent folder cannot be created
            raise BusError(f"cannot open embedded bus at {self.path}: {exc}") from exc

    # -- topics -----------------------------------------------------------------------------
    def ensure_topic(self, topic: str) -> None:
        self._partitions_of(topic)

    def _partitions_of(self, topic: str, conn: sqlite3.Connection | None = None) -> int:
        conn = conn or self._conn
        row = conn.execute("SELECT partitions FROM topics WHERE topic=?", (topic,)).fetchone()
        if row:
            return int(row[0])
        conn.execute("INSERT OR IGNORE INTO topics VALUES (?, ?)", (topic, self.partitions))
        row = conn.execute("SELECT partitions FROM topics WHERE topic=?", (topic,)).fetchone()
        return int(row[0])

    # -- producing --------------------------------------------------------------------------
    def publish(self, topic: str, messages: Sequence[OutMessage]) -> None:
        if not messages:
            return
        with self._lock:
            try:
                conn = self._conn
                conn.execute("BEGIN IMMEDIATE")
                try:
                    nparts = self._partitions_of(topic)
                    next_offset: dict[int, int] = {}
                    now = time.time()
                    rows = []
                    for i, m in enumerate(messages):
                        part = zlib.crc32(m.key.encode()) % nparts if m.key else i % nparts
                        if part not in next_offset:
                            r = conn.execute(
                                "SELECT COALESCE(MAX(offset) + 1, 0) FROM log WHERE topic=? AND partition=?", (topic, part)
                            ).fetchone()
                            next_offset[part] = int(r[0])
                        rows.append((topic, part, next_offset[part], m.key, m.value, json.dumps(m.headers), now))
                        next_offset[part] += 1
                    conn.executemany("INSERT INTO log VALUES (?,?,?,?,?,?,?)", rows)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise BusError(f"embedded bus {self.path}: publish to {topic} failed: {exc}") from exc

    # -- consuming --------------------------------------------------------------------------
    def consumer(self, topic: str, group: str) -> SqliteConsumer:
        return SqliteConsumer(self, topic, group)

    def check(self) -> str:
        with self._lock:
            try:
                n = self._conn.execute("SELECT COUNT(*) FROM topics").fetchone()[0]
            except sqlite3.Error as exc:
                raise BusError(f"embedded bus {self.path}: {exc}") from exc
        return f"embedded bus {self.path} ({n} topics)"

    def purge(self, older_than: float) -> int:
        """Retention: delete messages stored more than ``older_than`` seconds ago, but never one a
        consumer group has not committed yet, and never a partition's newest message (it keeps
        the partition's offset counter). Topics no group reads (dead letters) go by age alone."""
        cutoff = time.time() - older_than
        deleted = 0
        with self._lock:
            c = self._conn
            try:
                c.execute("BEGIN IMMEDIATE")
                parts = c.execute("SELECT topic, partition, MAX(offset) FROM log GROUP BY topic, partition").fetchall()
                for topic, part, newest in parts:
                    row = c.execute(
                        "SELECT MIN(next_offset), COUNT(*) FROM offsets WHERE topic=? AND partition=?", (topic, part)
                    ).fetchone()
                    groups = c.execute("SELECT COUNT(DISTINCT grp) FROM offsets WHERE topic=?", (topic,)).fetchone()[0]
                    limit = int(newest) if not groups else min(int(newest), int(row[0]) if row[1] == groups else 0)
                    deleted += c.execute(
                        "DELETE FROM log WHERE topic=? AND partition=? AND offset<? AND ts<?", (topic, part, limit, cutoff)
                    ).rowcount
                c.execute("COMMIT")
            except sqlite3.Error as exc:
                c.execute("ROLLBACK")
                raise BusError(f"embedded bus {self.path}: purge failed: {exc}") from exc
        return deleted

    def topic_stats(self) -> dict[str, int]:
        with self._lock:
            rows = self._conn.execute("SELECT topic, COUNT(*) FROM log GROUP BY topic").fetchall()
        return {t: int(c) for t, c in rows}

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class SqliteConsumer:
    def __init__(self, bus: SqliteBus, topic: str, group: str) -> None:
        self.bus = bus
        self.topic = topic
        self.group = group
        self.member = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._conn = connect(bus.path, synchronous=bus.synchronous)
        self._positions: dict[int, int] = {}
        self._assigned: list[int] = []
        self._last_heartbeat = 0.0
        bus.ensure_topic(topic)
        self._nparts = bus._partitions_of(topic, self._conn)

    def _heartbeat(self) -> None:
        now = time.time()
        if now - self._last_heartbeat < 1.0 and self._assigned:
            return
        self._last_heartbeat = now
        c = self._conn
        c.execute("INSERT OR REPLACE INTO members VALUES (?,?,?,?)", (self.group, self.topic, self.member, now))
        c.execute(
            "DELETE FROM members WHERE grp=? AND topic=? AND heartbeat < ?",
            (self.group, self.topic, now - self.bus.session_timeout),
        )
        members = [r[0] for r in c.execute("SELECT member FROM members WHERE grp=? AND topic=? ORDER BY member", (self.group, self.topic))]
        idx, n = members.index(self.member), len(members)
        assigned = [p for p in range(self._nparts) if p % n == idx]
        if assigned != self._assigned:
            # Newly owned partitions start from the committed offset; dropped ones are forgotten.
            self._positions = {p: pos for p, pos in self._positions.items() if p in assigned}
            self._assigned = assigned

    def _committed(self, part: int) -> int:
        row = self._conn.execute(
            "SELECT next_offset FROM offsets WHERE grp=? AND topic=? AND partition=?", (self.group, self.topic, part)
        ).fetchone()
        return int(row[0]) if row else 0

    def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[Message]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                out = self._poll_once(max_records)
            except sqlite3.Error as exc:
                raise BusError(f"embedded bus {self.bus.path}: poll {self.topic} failed: {exc}") from exc
            if out or time.monotonic() >= deadline:
                return out
            time.sleep(min(0.02, max(0.0, deadline - time.monotonic())))

    def _poll_once(self, max_records: int) -> list[Message]:
        self._heartbeat()
        out: list[Message] = []
        for part in self._assigned:
            if len(out) >= max_records:
                break
            pos = self._positions.get(part)
            if pos is None:
                pos = self._positions[part] = self._committed(part)
            rows = self._conn.execute(
                "SELECT offset, key, value, headers, ts FROM log WHERE topic=? AND partition=? AND offset>=? ORDER BY offset LIMIT ?",
                (self.topic, part, pos, max_records - len(out)),
            ).fetchall()
            for off, key, value, headers, ts in rows:
                out.append(Message(self.topic, part, int(off), key, bytes(value), json.loads(headers), float(ts)))
            if rows:
                self._positions[part] = int(rows[-1][0]) + 1
        return out

    def commit(self, messages: Sequence[Message]) -> None:
        upto: dict[int, int] = {}
        for m in messages:
            upto[m.partition] = max(upto.get(m.partition, -1), m.offset + 1)
        if not upto:
            return
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            for part, nxt in upto.items():
                self._conn.execute(
                    "INSERT INTO offsets VALUES (?,?,?,?) ON CONFLICT(grp, topic, partition) "
                    "DO UPDATE SET next_offset=MAX(next_offset, excluded.next_offset)",
                    (self.group, self.topic, part, nxt),
                )
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._conn.execute("ROLLBACK")
            raise BusError(f"embedded bus {self.bus.path}: commit {self.topic} failed: {exc}") from exc

    def rewind(self) -> None:
        self._positions.clear()

    def lag(self) -> int:
        self._heartbeat()
        total = 0
        for part in self._assigned:
            end = self._conn.execute(
                "SELECT COALESCE(MAX(offset) + 1, 0) FROM log WHERE topic=? AND partition=?", (self.topic, part)
            ).fetchone()[0]
            total += max(0, int(end) - self._committed(part))
        return total

    def close(self) -> None:
        try:
            self._conn.execute("DELETE FROM members WHERE grp=? AND topic=? AND member=?", (self.group, self.topic, self.member))
        except sqlite3.Error:
            pass  # closing: the heartbeat expires on its own
        self._conn.close()

"""Embedded store: posts in SQLite, full text in an FTS5 table over jieba index terms.

FTS5's ``unicode61`` tokenizer splits the stored terms on the spaces we join them with (CJK
characters are token characters to it), so the index holds exactly yuqing's terms; queries are
built from quoted terms, so user input can never inject FTS syntax. jieba keeps ``+#&._%-``
inside tokens (``0.5``, ``c++``, ``pm2.5``), which unicode61 would split on, so they are declared
token characters: every index term is then exactly one FTS token, as it is one token to
Elasticsearch's ``whitespace`` analyser (checked over all 67,553 terms of the shared corpus).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from yuqing.errors import StoreError
from yuqing.events import PostClassified
from yuqing.query import Expr, Regex, Word
from yuqing.sqlite_util import connect, sqlite_path
from yuqing.store import BriefResult, CountField, PostBrief, Query, SearchResult, stored_time
from yuqing.text import index_terms, query_terms
from yuqing.timeutil import TZ

_SCHEMA = """
CREATE TABLE IF NOT EXISTS posts (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    published_ts REAL NOT NULL,
    day TEXT NOT NULL,
    topic TEXT NOT NULL, sentiment TEXT NOT NULL, risk_level TEXT NOT NULL, risk_score INTEGER NOT NULL,
    source TEXT NOT NULL, region TEXT, event_id TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS posts_published ON posts (published_ts DESC, id);
CREATE INDEX IF NOT EXISTS posts_topic ON posts (topic, published_ts);
CREATE INDEX IF NOT EXISTS posts_event ON posts (event_id);
-- the event clusterer's lookup keys (PostClassified.event_keys), one row per key
CREATE TABLE IF NOT EXISTS post_keys (key TEXT NOT NULL, rid INTEGER NOT NULL, PRIMARY KEY (key, rid)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS post_keys_rid ON post_keys (rid);
"""

_FTS = """CREATE VIRTUAL TABLE IF NOT EXISTS posts_fts USING fts5(terms, tokenize = "unicode61 remove_diacritics 0 tokenchars '+#&._%-'")"""

_COLUMNS = {
    "topic": "topic",
    "sentiment": "sentiment",
    "risk_level": "risk_level",
    "source": "source",
    "region": "region",
    "event_id": "event_id",
}


def _fts_query(text: str) -> str | None:
    terms = query_terms(text)
    if not terms:
        return None
    return " AND ".join('"' + t.replace('"', '""') + '"' for t in terms)


class SqliteStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self.path = sqlite_path(url)
        self._lock = threading.Lock()
        try:
            self._conn = connect(self.path)
            self._conn.executescript(_SCHEMA)
            self._migrate_fts()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open embedded store at {self.path}: {exc}") from exc

    def _migrate_fts(self) -> None:
        """Create the FTS table, or rebuild one made before ``tokenchars`` (it split ``0.5``)."""
        c = self._conn
        c.execute("BEGIN IMMEDIATE")  # checked under the write lock: several processes may open at once
        try:
            row = c.execute("SELECT sql FROM sqlite_master WHERE name = 'posts_fts'").fetchone()
            if row and "tokenchars" in row[0]:
                c.execute("COMMIT")
                return
            c.execute("DROP TABLE IF EXISTS posts_fts")
            c.execute(_FTS)
            for rid, doc in c.execute("SELECT rid, doc FROM posts").fetchall():
                tokens = PostClassified.model_validate_json(doc).tokens
                c.execute("INSERT INTO posts_fts (rowid, terms) VALUES (?, ?)", (rid, " ".join(index_terms(tokens))))
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    def write(self, posts: Sequence[PostClassified]) -> None:
        if not posts:
            return
        with self._lock:
            c = self._conn
            p: PostClassified | None = None
            try:
                c.execute("BEGIN IMMEDIATE")
                for p in posts:
                    ts = p.published_at.timestamp()
                    day = p.published_at.astimezone(TZ).strftime("%Y-%m-%d")
                    row = c.execute("SELECT rid FROM posts WHERE id=?", (p.id,)).fetchone()
                    values = (
                        ts,
                        day,
                        p.topic,
                        p.sentiment,
                        p.risk.level,
                        p.risk.score,
                        p.source.id,
                        p.region,
                        p.event_id,
                        p.model_dump_json(),
                    )
                    if row:
                        rid = row[0]
                        c.execute(
                            "UPDATE posts SET published_ts=?, day=?, topic=?, sentiment=?, risk_level=?, risk_score=?,"
                            " source=?, region=?, event_id=?, doc=? WHERE rid=?",
                            (*values, rid),
                        )
                        c.execute("DELETE FROM posts_fts WHERE rowid=?", (rid,))
                        c.execute("DELETE FROM post_keys WHERE rid=?", (rid,))
                    else:
                        rid = c.execute(
                            "INSERT INTO posts (id, published_ts, day, topic, sentiment, risk_level, risk_score,"
                            " source, region, event_id, doc) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                            (p.id, *values),
                        ).lastrowid
                    c.execute("INSERT INTO posts_fts (rowid, terms) VALUES (?, ?)", (rid, " ".join(index_terms(p.tokens))))
                    if p.event_keys:
                        c.executemany("INSERT OR IGNORE INTO post_keys (key, rid) VALUES (?, ?)", [(k, rid) for k in p.event_keys])
                c.execute("COMMIT")
            except sqlite3.Error as exc:
                c.execute("ROLLBACK")
                at = f" at post {p.id}" if p is not None else ""
                # A constraint refusing a document is permanent; locks and I/O errors may pass.
                raise StoreError(
                    f"embedded store {self.path}: write of {len(posts)} posts failed{at}: {exc}",
                    retryable=not isinstance(exc, sqlite3.IntegrityError),
                ) from exc

    def get(self, post_id: str) -> PostClassified | None:
        with self._lock:
            row = self._conn.execute("SELECT doc FROM posts WHERE id=?", (post_id,)).fetchone()
        return PostClassified.model_validate_json(row[0]) if row else None

    def _where(self, q: Query) -> tuple[str, list[Any]] | None:
        clauses: list[str] = []
        args: list[Any] = []
        if q.text:
            match = _fts_query(q.text)
            if match is None:
                return None  # nothing searchable in the query: no hits, as on Elasticsearch
            clauses.append("rid IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?)")
            args.append(match)
        if q.expr is not None:
            sql, expr_args = _expr_sql(q.expr)
            clauses.append(sql)
            args += expr_args
        if q.scheme is not None:  # tags live in the document: no column, no migration
            clauses.append("EXISTS (SELECT 1 FROM json_each(doc, '$.schemes') WHERE value = ?)")
            args.append(q.scheme)
        for name in ("topic", "sentiment", "risk_level", "source", "region", "event_id"):
            value = getattr(q, name)
            if value is not None:
                clauses.append(f"{_COLUMNS[name]} = ?")
                args.append(value)
        if q.event_ids is not None:
            clauses.append("event_id IN (SELECT value FROM json_each(?))")
            args.append(json.dumps(list(q.event_ids)))
        if q.ids is not None:
            clauses.append("id IN (SELECT value FROM json_each(?))")
            args.append(json.dumps(list(q.ids)))
        if q.event_keys is not None:
            clauses.append("rid IN (SELECT rid FROM post_keys WHERE key IN (SELECT value FROM json_each(?)))")
            args.append(json.dumps(list(q.event_keys)))
        if q.since is not None:
            clauses.append("published_ts >= ?")
            args.append(_ts(q.since))
        if q.until is not None:
            clauses.append("published_ts < ?")
            args.append(_ts(q.until))
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), args

    def search(self, query: Query) -> SearchResult:
        where = self._where(query)
        if where is None:
            return SearchResult(0)
        sql, args = where
        with self._lock:
            try:
                total = self._conn.execute(f"SELECT COUNT(*) FROM posts{sql}", args).fetchone()[0]
                rows = self._conn.execute(
                    f"SELECT doc FROM posts{sql} ORDER BY published_ts DESC, id LIMIT ? OFFSET ?",
                    [*args, query.limit, query.offset],
                ).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"embedded store {self.path}: search failed: {exc}") from exc
        return SearchResult(int(total), [PostClassified.model_validate_json(r[0]) for r in rows])

    def brief(self, query: Query) -> BriefResult:
        where = self._where(query)
        if where is None:
            return BriefResult(0)
        sql, args = where
        with self._lock:
            try:
                total = self._conn.execute(f"SELECT COUNT(*) FROM posts{sql}", args).fetchone()[0]
                rows = self._conn.execute(
                    "SELECT id, event_id, json_extract(doc, '$.published_at'), source, json_extract(doc, '$.title'),"
                    f" json_extract(doc, '$.content') FROM posts{sql} ORDER BY published_ts DESC, id LIMIT ? OFFSET ?",
                    [*args, query.limit, query.offset],
                ).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"embedded store {self.path}: search failed: {exc}") from exc
        return BriefResult(int(total), [PostBrief(i, e, stored_time(p), src, t or "", c or "") for i, e, p, src, t, c in rows])

    def count_by(self, field: CountField, query: Query = Query()) -> dict[str, int]:
        return self._group(_COLUMNS[field], query)

    def count_per_day(self, query: Query = Query()) -> dict[str, int]:
        return dict(sorted(self._group("day", query).items()))

    def count_per_hour(self, query: Query = Query()) -> dict[str, int]:
        # Asia/Shanghai has kept UTC+8 all year since 1992: the local hour is the UTC hour + 8. Whole
        # seconds first: SQLite rounds fractions to the millisecond (23:59:59.9999 would be the next hour).
        return dict(sorted(self._group("strftime('%Y-%m-%d %H', CAST(published_ts AS INTEGER) + 28800, 'unixepoch')", query).items()))

    def _group(self, column: str, query: Query) -> dict[str, int]:
        where = self._where(query)
        if where is None:
            return {}
        sql, args = where
        extra = f"{' AND' if sql else ' WHERE'} {column} IS NOT NULL"
        with self._lock:
            rows = self._conn.execute(f"SELECT {column}, COUNT(*) FROM posts{sql}{extra} GROUP BY {column}", args).fetchall()
        return {str(k): int(v) for k, v in sorted(rows, key=lambda r: (-r[1], r[0]))}

    def refresh(self) -> None:
        """Committed writes are visible at once in SQLite."""

    def check(self) -> str:
        with self._lock:
            try:
                n = self._conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0]
            except sqlite3.Error as exc:
                raise StoreError(f"embedded store {self.path}: {exc}") from exc
        return f"embedded store {self.path} ({n} posts)"

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _expr_sql(e: Expr) -> tuple[str, list[Any]]:
    """``Query.expr`` as an SQL condition: one FTS lookup per word, combined in SQL (FTS5's own
    NOT needs a positive left side, which a group of only ``!`` items does not have)."""
    if not e.groups:
        return "1", []
    args: list[Any] = []
    groups: list[str] = []
    for g in e.groups:
        must: list[tuple[str, list[Any]]] = []
        optional: list[tuple[str, list[Any]]] = []
        for it in g.items:
            a = it.atom
            cond_args: list[Any] = []
            if isinstance(a, Regex):
                cond = "1" if it.mode != "not" else "0"  # may match; never excludes
            elif isinstance(a, Word):
                match = _fts_query(a.text)
                if match is None:
                    cond = "0"
                else:
                    cond = "rid IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?)"
                    cond_args.append(match)
            else:
                inner, cond_args = _expr_sql(a)
                cond = f"({inner})"
            if it.mode == "must":
                must.append((cond, cond_args))
            elif it.mode == "not":
                must.append((f"NOT {cond}", cond_args))
            else:
                optional.append((cond, cond_args))
        if optional:
            must.append(("(" + " OR ".join(c for c, _ in optional) + ")", [x for _, a in optional for x in a]))
        groups.append("(" + " AND ".join(c for c, _ in must) + ")")
        args += [x for _, a in must for x in a]
    return "(" + " OR ".join(groups) + ")", args


def _ts(dt: datetime) -> float:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=TZ)
    return dt.timestamp()

"""Backfill: re-tag the stored posts after schemes change, resumably.

Posts published before the run started are visited page by page in the store's order
(``published_at`` descending, then id), each page's changed posts rewritten (an idempotent
upsert), then the position committed to ``yuqing_schemes_backfill``. Killed at any moment (even
SIGKILL), the next run with the same schemes revision resumes after the last committed page: at
most one page is tagged again, and tagging twice gives the same tags. Posts arriving meanwhile are
tagged by the pipeline itself. ``pause`` sleeps between pages so the pipeline keeps the store.

One run at a time: a runner takes the lease (``Lease``, table ``yuqing_schemes_lease``) and
renews it after every page; the web app's background job (``schemes.backfill_job``) and
``yuqing schemes backfill`` both do, so they never interleave their pages on one checkpoint.
``stop`` is asked after every committed page: the web job stops a run whose schemes revision
moved (the next run starts over with the new schemes) or when the app shuts down.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from schemes.matcher import Matcher
from schemes.store import SchemeStore, backfill_table, lease_table
from yuqing.store import Query, Store
from yuqing.timeutil import now

KEY = "posts"


@dataclass
class Progress:
    revision: int
    done: int
    total: int
    written: int
    resumed: bool
    finished: bool


class Lease:
    """The right to run the backfill, for ``seconds`` after each ``renew`` (a compare-and-set
    UPDATE, atomic on SQLite and PostgreSQL). A holder that dies or hangs loses it when it expires."""

    def __init__(self, table: SchemeStore, *, seconds: float = 60.0, holder: str | None = None) -> None:
        self.table = table
        self.seconds = seconds
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def _until(self) -> int:
        return int((time.time() + self.seconds) * 1e6)

    def acquire(self) -> bool:
        """Take the lease if it is free, expired or already ours; True when we hold it now."""
        c = lease_table.c
        now_us = int(time.time() * 1e6)
        with self.table.engine.begin() as conn:
            hit = conn.execute(
                update(lease_table)
                .where(c.key == KEY, (c.expires_us < now_us) | (c.holder == self.holder))
                .values(holder=self.holder, expires_us=self._until())
            ).rowcount
            if hit:
                return True
            try:
                with conn.begin_nested():
                    conn.execute(insert(lease_table).values(key=KEY, holder=self.holder, expires_us=self._until()))
            except IntegrityError:
                return False  # someone else holds it
        return True

    renew = acquire

    def release(self) -> None:
        with self.table.engine.begin() as conn:
            conn.execute(update(lease_table).where(lease_table.c.key == KEY, lease_table.c.holder == self.holder).values(expires_us=0))

    def holder_now(self) -> str | None:
        """Who holds an unexpired lease (None: nobody runs a backfill)."""
        with self.table.engine.connect() as conn:
            row = conn.execute(select(lease_table).where(lease_table.c.key == KEY)).mappings().first()
        return str(row["holder"]) if row and row["expires_us"] >= time.time() * 1e6 else None


class LeaseLost(Exception):
    """Another runner took the backfill over (this one stalled past its lease): stop writing."""


def _load(table: SchemeStore) -> dict[str, int] | None:
    with table.engine.connect() as c:
        row = c.execute(select(backfill_table).where(backfill_table.c.key == KEY)).mappings().first()
    return dict(row) if row else None


def _save(table: SchemeStore, **values: object) -> None:
    with table.engine.begin() as c:
        hit = c.execute(backfill_table.update().where(backfill_table.c.key == KEY).values(**values)).rowcount
        if not hit:
            c.execute(backfill_table.insert().values(key=KEY, **values))


def status(table: SchemeStore) -> Progress | None:
    cp = _load(table)
    if cp is None:
        return None
    return Progress(cp["revision"], cp["done"], cp["total"], cp["written"], False, bool(cp["finished"]))


def backfill(
    store: Store,
    table: SchemeStore,
    *,
    batch: int = 200,
    pause: float = 0.0,
    restart: bool = False,
    on_page: Callable[[Progress], None] | None = None,
    stop: Callable[[], bool] | None = None,
    lease: Lease | None = None,
) -> Progress:
    """Tag the stored posts with the active schemes, from the checkpoint on. Returns with
    ``finished`` False when ``stop`` said so after a page (the checkpoint is committed: the next
    run resumes there). With ``lease``, renews it before every page and raises ``LeaseLost`` if it
    was taken over."""
    rev = table.revision()
    cp = _load(table)
    resumed = bool(cp and cp["revision"] == rev and not restart)
    if cp and resumed:
        until_us, done, written = cp["until_us"], cp["done"], cp["written"]
        if cp["finished"]:
            return Progress(rev, done, cp["total"], written, True, True)
    else:
        until_us, done, written = int(now().timestamp() * 1e6), 0, 0
    until = datetime.fromtimestamp(until_us / 1e6, UTC)
    total = store.search(Query(until=until, limit=0)).total
    _save(table, revision=rev, until_us=until_us, done=done, written=written, total=total, finished=False)
    matcher = Matcher([s.compiled() for s in table.list(active_only=True)])
    progress = Progress(rev, done, total, written, resumed, False)
    if on_page:
        on_page(progress)
    while True:
        if lease is not None and not lease.renew():  # before each page's writes: a stalled runner stops here
            raise LeaseLost(f"the schemes backfill lease was taken over by {lease.holder_now() or 'another runner'}")
        page = store.search(Query(until=until, limit=batch, offset=done)).hits
        if not page:
            break
        changed = []
        for p in page:
            tags = sorted(matcher.match_post(p))
            if tags != p.schemes:
                changed.append(p.model_copy(update={"schemes": tags}))
        if changed:
            store.write(changed)
            store.refresh()
        done += len(page)
        written += len(changed)
        _save(table, done=done, written=written)
        progress = Progress(rev, done, total, written, resumed, False)
        if on_page:
            on_page(progress)
        if stop is not None and stop():
            return progress
        if pause:
            time.sleep(pause)
    _save(table, done=done, written=written, finished=True)
    return Progress(rev, done, total, written, resumed, True)

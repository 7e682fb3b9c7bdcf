"""Backfill: re-tag the stored posts after schemes change, resumably.

Posts published before the run started are visited page by page in the store's order
(``published_at`` descending, then id), each page's changed posts rewritten (an idempotent
upsert), then the position committed to ``yuqing_schemes_backfill``. Killed at any moment (even
SIGKILL), the next run with the same schemes revision resumes after the last committed page: at
most one page is tagged again, and tagging twice gives the same tags. Posts arriving meanwhile are
tagged by the pipeline itself. ``pause`` sleeps between pages so the pipeline keeps the store.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from schemes.matcher import Matcher
from schemes.store import SchemeStore, backfill_table
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
) -> Progress:
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
        if pause:
            time.sleep(pause)
    _save(table, done=done, written=written, finished=True)
    return Progress(rev, done, total, written, resumed, True)

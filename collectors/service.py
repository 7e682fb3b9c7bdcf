"""Run collectors: fetch, drop what was already published, publish, then save state.

Loss and duplication:
- State (cursor, ETag, seen ids) is saved only after the bus acknowledged the publish, so a crash
  or an unreachable bus means the next run fetches the same items again: nothing is lost.
- Ids already published (and texts already seen from the same source) are dropped before
  publishing, so a re-run never publishes a post twice.
- An exception in one source is recorded in its health and logged; other sources carry on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from collectors.base import Collector
from yuqing.bus import Bus, OutMessage
from yuqing.errors import BusError, SourceError
from yuqing.events import POSTS_RAW, PostCollected
from yuqing.ids import content_hash

log = logging.getLogger("yuqing.collectors")


@dataclass
class RunReport:
    source: str
    fetched: int = 0
    published: int = 0
    duplicates: int = 0
    problems: list[str] = field(default_factory=list)
    error: str | None = None
    posts: list[PostCollected] = field(default_factory=list)


def _hash(post: PostCollected) -> str:
    return content_hash(post.title, post.content)


def run_source(collector: Collector, bus: Bus | None, state_store: object | None, *, dry_run: bool = False) -> RunReport:
    """One fetch-and-publish round for one source. ``dry_run`` publishes nothing and saves nothing."""
    from collectors.state import StateStore

    sid = collector.config.id
    report = RunReport(sid)
    store = state_store if isinstance(state_store, StateStore) else None
    state = store.load(sid) if store and not dry_run else {}
    try:
        result = collector.fetch(state)
    except SourceError as exc:
        report.error = str(exc)
    except Exception as exc:  # a broken source must never stop the others
        report.error = f"source {sid}: {type(exc).__name__}: {exc}"
        log.exception("source %s: unexpected error", sid)
    if report.error:
        log.error("%s", report.error)
        if store and not dry_run:
            store.record_error(sid, report.error)
        return report
    report.fetched = len(result.posts)
    report.problems = result.problems
    # De-duplicate within the batch and against what this source already published.
    unique: dict[str, PostCollected] = {}
    hashes: dict[str, str] = {}
    for post in result.posts:
        h = _hash(post)
        if post.id in unique or h in hashes.values():
            report.duplicates += 1
            continue
        unique[post.id] = post
        hashes[post.id] = h
    if store and not dry_run:
        seen_ids, seen_hashes = store.seen(sid, unique, hashes.values())
        for pid in list(unique):
            if pid in seen_ids or hashes[pid] in seen_hashes:
                del unique[pid]
                report.duplicates += 1
    posts = list(unique.values())
    report.posts = posts
    if dry_run:
        return report
    if posts:
        if bus is None:
            raise ValueError("a bus is needed unless dry_run")
        try:
            bus.publish(POSTS_RAW, [OutMessage(p.id, p.to_bytes()) for p in posts])
        except BusError as exc:
            report.error = f"source {sid}: bus unavailable, will fetch again next run: {exc}"
            log.error("%s", report.error)
            if store:
                store.record_error(sid, report.error)
            return report
    report.published = len(posts)
    if store:
        store.commit_run(sid, result.state, [(p.id, hashes[p.id]) for p in posts])
    log.info("source %s: %d fetched, %d published, %d duplicates", sid, report.fetched, report.published, report.duplicates)
    return report

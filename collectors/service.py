"""Run collectors: fetch, drop what was already published, publish (or spool), then save state.

Loss and duplication:
- De-duplication, per source: a post whose id this source already published is dropped; so is a
  post whose text (``yuqing.ids.content_hash`` of title and content) it already published under
  another id, for kinds where the same text under two ids means the same post (feeds, boards,
  replay) — not for 12345 work orders and 留言板 threads (``Collector.dedup_text = False``),
  where two citizens filing the same text are two filings. Both checks run within the batch and against the state database.
- Replies: a post published before without an official reply, seen again *with* one (a 留言板
  thread answered later, a work order exported again after it was closed), is published again
  under the same id; the store upserts it and the ledger sees the reply.
- Spool, not refetch: when the bus is unreachable, the fetched posts are written to the spool
  table of the state database in the same transaction as the new cursor, and the source's next
  run publishes them first (oldest first) before fetching. Refetching instead would lose
  whatever rolled off an RSS feed or a board's first pages while the bus was down. A crash
  between a spool flush's publish and its delete publishes those posts twice (at-least-once;
  consumers upsert by id).
- One source's failure (an exception of any kind) is recorded in its health and logged; other
  sources carry on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from collectors.base import Collector
from collectors.state import StateStore
from yuqing.bus import Bus, OutMessage
from yuqing.errors import BusError, SourceError
from yuqing.events import POSTS_RAW, PostCollected
from yuqing.ids import content_hash

log = logging.getLogger("yuqing.collectors")

MAX_TITLE = 500


@dataclass
class RunReport:
    source: str
    fetched: int = 0
    published: int = 0
    updated: int = 0  # published again because a reply arrived
    duplicates: int = 0
    spooled: int = 0
    unspooled: int = 0  # spooled posts of earlier runs published by this run
    problems: list[str] = field(default_factory=list)
    error: str | None = None
    posts: list[PostCollected] = field(default_factory=list)


def text_hash(post: PostCollected) -> str:
    return content_hash(post.title, post.content)


def reply_hash(post: PostCollected) -> str | None:
    return content_hash(post.reply.content) if post.reply else None


def _limit(post: PostCollected, max_chars: int, sid: str, report: RunReport) -> PostCollected:
    """Cut texts over the source's ``max_chars`` (a 10 MB item must not become a 10 MB event)."""
    changes: dict[str, object] = {}
    if len(post.content) > max_chars:
        changes["content"] = post.content[:max_chars]
        changes["raw"] = {**post.raw, "truncated_from": len(post.content)}
    if len(post.title) > MAX_TITLE:
        changes["title"] = post.title[:MAX_TITLE]
    if not changes:
        return post
    reason = f"{post.id}: text of {len(post.content):,} characters cut to {max_chars:,}"
    report.problems.append(reason)
    log.warning("source %s: %s", sid, reason)
    return post.model_copy(update=changes)


def flush_spool(bus: Bus, store: StateStore, source: str) -> int:
    """Publish what the source spooled while the bus was down, oldest first. Stops (and leaves
    the rest spooled) at the first bus error."""
    sent = 0
    while True:
        rows = store.spooled(source)
        if not rows:
            return sent
        try:
            bus.publish(POSTS_RAW, [OutMessage(pid, body) for _, pid, body in rows])
        except BusError as exc:
            log.warning("source %s: bus still unavailable, %d post(s) stay spooled: %s", source, len(rows), exc)
            return sent
        store.unspool([seq for seq, _, _ in rows])
        sent += len(rows)
        log.info("source %s: %d spooled post(s) published", source, len(rows))


def run_source(collector: Collector, bus: Bus | None, state_store: object | None, *, dry_run: bool = False) -> RunReport:
    """One fetch-and-publish round for one source. ``dry_run`` publishes nothing, reads and
    saves no state (so it shows what a first run would publish)."""
    sid = collector.config.id
    report = RunReport(sid)
    store = state_store if isinstance(state_store, StateStore) and not dry_run else None
    if store and bus is not None:
        report.unspooled = flush_spool(bus, store, sid)
    state = store.load(sid) if store else {}
    try:
        result = collector.fetch(state)
    except SourceError as exc:
        report.error = str(exc)
    except Exception as exc:  # a broken source must never stop the others
        where = getattr(collector.config, "url", None) or getattr(collector.config, "path", None)
        report.error = f"source {sid}: {where + ': ' if where else ''}{type(exc).__name__}: {exc}"
        log.exception("source %s: unexpected error reading %s", sid, where or "it")
    if report.error:
        log.error("%s", report.error)
        if store:
            store.record_error(sid, report.error)
        return report
    report.fetched = len(result.posts)
    report.problems = list(result.problems)
    max_chars = collector.config.max_chars
    by_text = collector.dedup_text
    # De-duplicate within the batch: the same id twice keeps the copy with a reply.
    unique: dict[str, PostCollected] = {}
    hashes: dict[str, str] = {}  # post id -> text hash, computed once (NFKC over the whole text)
    texts: set[str] = set()
    for post in result.posts:
        post = _limit(post, max_chars, sid, report)
        if post.id in unique:
            report.duplicates += 1
            if post.reply is not None and unique[post.id].reply is None:
                unique[post.id] = post
            continue
        h = text_hash(post)
        if by_text and h in texts:
            report.duplicates += 1
            continue
        texts.add(h)
        unique[post.id] = post
        hashes[post.id] = h
    # ... and against what this source published before.
    updates: set[str] = set()
    if store:
        seen_ids, seen_texts = store.seen(sid, unique, (hashes[p] for p in unique) if by_text else ())
        for pid, post in list(unique.items()):
            before = seen_ids.get(pid)
            if before is not None:
                if post.reply is not None and before.reply_hash != reply_hash(post):
                    updates.add(pid)
                    continue
                del unique[pid]
                report.duplicates += 1
            elif by_text and hashes[pid] in seen_texts:
                del unique[pid]
                report.duplicates += 1
    posts = list(unique.values())
    report.posts = posts
    if dry_run:
        return report
    seen_rows = [(p.id, hashes[p.id], reply_hash(p)) for p in posts]
    new = len(posts) - len(updates)
    if posts:
        if bus is None:
            raise ValueError("a bus is needed unless dry_run")
        try:
            bus.publish(POSTS_RAW, [OutMessage(p.id, p.to_bytes()) for p in posts])
        except BusError as exc:
            if store is None:
                report.error = f"source {sid}: bus unavailable and no state store to spool to: {exc}"
                log.error("%s", report.error)
                return report
            store.commit_run(
                sid, result.state, seen_rows, new=new, spooled=[(p.id, p.to_bytes()) for p in posts], problems=len(report.problems)
            )
            report.spooled = len(posts)
            report.error = f"source {sid}: bus unavailable, {len(posts)} post(s) spooled for the next run: {exc}"
            log.error("%s", report.error)
            store.record_error(sid, report.error, failed=False)
            return report
    report.published = new
    report.updated = len(updates)
    if store:
        store.commit_run(sid, result.state, seen_rows, new=new, problems=len(report.problems))
    log.info(
        "source %s: %d fetched, %d published, %d updated with a reply, %d duplicates",
        sid,
        report.fetched,
        report.published,
        report.updated,
        report.duplicates,
    )
    return report

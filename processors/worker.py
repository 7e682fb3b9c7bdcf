"""The processing stage: posts.raw -> classify -> bulk write to the store -> posts.classified.

Order matters for at-least-once: the store write and the publish both happen before the
offsets of the batch are committed (by ``yuqing.worker.Stage``); a crash anywhere means the
batch is classified again and upserted under the same ids.

Events are clustered through the store (``StoreIndex``): the worker keeps nothing in memory that
another worker would need, so any number of workers can share ``posts.raw``'s partitions. Per
batch: one lookup of the batch's keys and one of its events' members before classifying; after
the write, a refresh and one more lookup (``EventClusterer.reconcile``) that merges an event a
concurrent worker started for the same incident in the same moment, or two events a later post
links; posts of earlier batches that move are written and published again. After publishing,
the batch is read back and anything another worker moved meanwhile is published again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from processors.classify import Classifier
from processors.clustering import Member
from yuqing.bus import Bus, OutMessage
from yuqing.events import POSTS_CLASSIFIED, POSTS_RAW, PostClassified, PostCollected, decode
from yuqing.store import Query, Store
from yuqing.worker import Stage

GROUP = "processors"
ROUNDS = 5
log = logging.getLogger("yuqing.processors")
_TICK = timedelta(microseconds=1)


def _member(p: PostClassified) -> Member:
    return Member(p.id, p.event_id, p.published_at, p.source.id, p.title, p.content)


class StoreIndex:
    """The event clusterer's index, read from the store: posts by lookup key or by event id
    within a time range, at most ``max_posts`` per lookup."""

    def __init__(self, store: Store, *, max_posts: int = 50_000) -> None:
        self.store = store
        self.max_posts = max_posts

    def _all(self, query: Query) -> list[Member]:
        # One request, not offset pages: another worker writing between two pages would shift
        # the offsets and a candidate could be skipped (Elasticsearch walks past its result
        # window with search_after, which inserts do not disturb).
        # Only the fields a Member needs: decoding whole documents (their tokens) was a third of
        # the worker's time.
        res = self.store.brief(Query(**{**query.__dict__, "limit": self.max_posts, "offset": 0}))
        if res.total > len(res.hits):
            log.warning("event lookup returned the newest %d of %d posts (%s)", len(res.hits), res.total, query)
        return [Member(*b) for b in res.hits]

    def lookup(self, keys: Sequence[str], since: datetime, until: datetime) -> list[Member]:
        return self._all(Query(event_keys=tuple(keys), since=since, until=until + _TICK))

    def members(self, event_ids: Sequence[str], since: datetime, until: datetime) -> list[Member]:
        return self._all(Query(event_ids=tuple(event_ids), since=since, until=until + _TICK))

    def remember(self, members: Sequence[tuple[Member, Sequence[str]]]) -> None:
        """The stage's store write records them."""


def make_stage(
    bus: Bus, store: Store, classifier: Classifier, *, batch_size: int = 500, linger: float = 0.2, tagger: Any = None
) -> Stage[PostCollected]:
    """The stage; the classifier's event clusterer is pointed at ``store`` (``StoreIndex``).
    ``tagger``: a ``schemes.tagger.Tagger`` adding ``post.classified.schemes`` (optional)."""
    index = StoreIndex(store)
    classifier.events.index = index

    def handle(posts: Sequence[PostCollected]) -> None:
        classified = classifier.classify_many(posts)
        if tagger is not None:
            classified = tagger.tag(classified)
        store.write(classified)
        classified, others = reconcile(classifier, store, classified)
        sent = classified + others
        bus.publish(POSTS_CLASSIFIED, [OutMessage(p.id, p.to_bytes()) for p in sent])
        # Another worker may have moved one of these posts to another event between our
        # reconciliation and our publish, and published it before we published the old event:
        # read the store again and publish what changed, so the newest message is the truth.
        for _ in range(ROUNDS):  # until what we last published for each post is what the store holds
            sent = moved_since(store, sent)
            if not sent:
                break
            bus.publish(POSTS_CLASSIFIED, [OutMessage(p.id, p.to_bytes()) for p in sent])

    return Stage(
        name="process",
        bus=bus,
        topic=POSTS_RAW,
        group=GROUP,
        decode=lambda data: decode(data, PostCollected),
        handle=handle,
        batch_size=batch_size,
        linger=linger,
    )


def moved_since(store: Store, sent: Sequence[PostClassified]) -> list[PostClassified]:
    """Posts of ``sent`` whose event the store now says is another (one query, plus a get for
    each post that moved)."""
    if not sent:
        return []
    store.refresh()
    events = tuple(sorted({p.event_id for p in sent}))
    lo = min(p.published_at for p in sent)
    hi = max(p.published_at for p in sent)
    now_in = {m.post_id: m.event_id for m in StoreIndex(store).members(events, lo, hi)}
    moved = []
    for p in sent:
        if now_in.get(p.id) == p.event_id:
            continue
        current = store.get(p.id)  # moved to an event outside the batch's, or changed meanwhile
        if current is not None and current.event_id != p.event_id:
            moved.append(current)
    return moved


def reconcile(classifier: Classifier, store: Store, batch: list[PostClassified]) -> tuple[list[PostClassified], list[PostClassified]]:
    """Merge events that the batch shows to be one: started twice for one incident by workers
    running at the same moment, or linked by a post that arrived after both.

    Returns the batch (with moved posts' event ids changed) and the posts of *other* batches
    that moved (to be published again). Both are written to the store before returning.

    Two workers merging overlapping groups at once can overwrite each other's moves with an
    older view; so the check runs again over the batch *and every post moved*, after each write,
    until nothing moves (at most ``ROUNDS`` times): whichever worker writes a contested post last
    then sees the other's posts and moves the group to the same earliest event."""
    current = {p.id: p for p in batch}
    others: dict[str, PostClassified] = {}
    moved_any = 0
    for _ in range(ROUNDS):
        store.refresh()  # Elasticsearch: make this batch and any concurrent one visible to search
        check = list(current.values()) + list(others.values())
        moves = classifier.events.reconcile([_member(p) for p in check])
        if not moves:
            break
        changed = []
        for pid, event in sorted(moves.items()):
            post = store.get(pid)  # the store's copy: another worker may have changed it
            if post is None or post.event_id == event:
                continue
            post = post.model_copy(update={"event_id": event})
            changed.append(post)
            if pid in current:
                current[pid] = post
            else:
                others[pid] = post
        if not changed:
            break
        store.write(changed)
        moved_any += len(changed)
    if moved_any:
        log.info("events merged: %d posts moved (%d of earlier batches, published again)", moved_any, len(others))
    return [current[p.id] for p in batch], list(others.values())

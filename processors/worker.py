"""The processing stage: posts.raw -> classify -> bulk write to the store -> posts.classified.

Order matters for at-least-once: the store write and the publish both happen before the
offsets of the batch are committed (by ``yuqing.worker.Stage``); a crash anywhere means the
batch is classified again and upserted under the same ids.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from processors.classify import Classifier
from yuqing.bus import Bus, OutMessage
from yuqing.events import POSTS_CLASSIFIED, POSTS_RAW, PostCollected, decode
from yuqing.store import Query, Store
from yuqing.timeutil import now
from yuqing.worker import Stage

GROUP = "processors"
log = logging.getLogger("yuqing.processors")


def warm_up(classifier: Classifier, store: Store, *, page: int = 1000, max_posts: int = 50_000) -> int:
    """Teach the event clusterer the store's posts of the last event window (after a restart)."""
    since = now() - timedelta(hours=classifier.config.event_window_hours)
    posts = []
    for offset in range(0, max_posts, page):
        hits = store.search(Query(since=since, limit=page, offset=offset)).hits
        posts += hits
        if len(hits) < page:
            break
    n = classifier.warm_up(posts)
    if n:
        log.info("event clusterer warmed up with %d posts since %s", n, since.isoformat(timespec="minutes"))
    return n


def make_stage(
    bus: Bus, store: Store, classifier: Classifier, *, batch_size: int = 500, linger: float = 0.2, tagger: Any = None
) -> Stage[PostCollected]:
    """``tagger``: a ``schemes.tagger.Tagger`` adding ``post.classified.schemes`` (optional)."""

    def handle(posts: Sequence[PostCollected]) -> None:
        classified = classifier.classify_many(posts)
        if tagger is not None:
            classified = tagger.tag(classified)
        store.write(classified)
        bus.publish(POSTS_CLASSIFIED, [OutMessage(p.id, p.to_bytes()) for p in classified])

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

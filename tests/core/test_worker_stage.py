"""``yuqing.worker.Stage`` on both buses: poison messages go to ``posts.raw.dlq`` and the stage keeps
going; a failed downstream write commits nothing and the batch comes again, nothing lost.

Kafka tests get a broker of their own, since they use the real topic names.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest

from tests.fixtures.tansu import bus_options, start_tansu
from yuqing.bus import Bus, Consumer, Message, OutMessage, open_bus
from yuqing.errors import StoreError
from yuqing.events import POSTS_RAW, PostCollected, Source, decode
from yuqing.timeutil import now, parse_datetime
from yuqing.worker import Stage

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "posts_sample.jsonl"
GROUP = "processors"


def collected_posts(n: int) -> list[PostCollected]:
    """``n`` post.collected events built from real posts (tests/data/posts_sample.jsonl, 500 rows
    from ../shared/data/wenzheng_posts.jsonl, content cut at 300 characters). Past 500, each post is
    collected again under another replay source id, so every event has its own id."""
    rows = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    fallback = now() - timedelta(days=1)
    posts = []
    for i in range(n):
        row, copy = rows[i % len(rows)], i // len(rows)
        source = Source(id=f"replay{copy}", kind="replay", name=f"回放 {row['source']}")
        posts.append(
            PostCollected(
                id=f"replay{copy}:{row['id']}",
                title=row.get("title", ""),
                content=row.get("content", ""),
                published_at=parse_datetime(row.get("published")) or fallback,
                source=source,
                raw={"dataset": row["source"]},
            )
        )
    return posts


@pytest.fixture(params=["sqlite", pytest.param("kafka", marks=pytest.mark.kafka)])
def bus(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Bus]:
    with contextlib.ExitStack() as stack:
        url = f"sqlite:///{tmp_path}/bus.db" if request.param == "sqlite" else stack.enter_context(start_tansu(log_dir=tmp_path))
        b = open_bus(url, partitions=4, **bus_options(url))
        yield b
        b.close()


def read_all(bus: Bus, topic: str, n: int, timeout: float = 30.0) -> list[Message]:
    """Everything on ``topic`` seen by a fresh group (expects at least ``n`` messages)."""
    import time

    c = bus.consumer(topic, f"inspect-{uuid.uuid4().hex[:8]}")
    got: list[Message] = []
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        got += c.poll(500, 0.5)
    got += c.poll(500, 0.5)  # anything beyond n would show up here
    c.close()
    return got


def make_stage(bus: Bus, handle: object, batch_size: int = 4) -> Stage[PostCollected]:
    return Stage(
        name="process",
        bus=bus,
        topic=POSTS_RAW,
        group=GROUP,
        decode=lambda data: decode(data, PostCollected),
        handle=handle,  # type: ignore[arg-type]
        batch_size=batch_size,
        linger=0.1,
    )


def assert_group_done(bus: Bus) -> None:
    """A new member of the processors group finds nothing left: every offset was committed."""
    c: Consumer = bus.consumer(POSTS_RAW, GROUP)
    assert c.poll(500, 1.0) == []
    assert c.lag() == 0
    c.close()


SOURCE = {"id": "s", "kind": "replay", "name": "测试"}
POISON: list[tuple[str, bytes, str]] = [
    ("bad:html", b"<html>502 Bad Gateway</html>", "not JSON: Expecting value: line 1 column 1 (char 0)"),
    ("bad:list", b"[1, 2]", "not a JSON object: list"),
    ("bad:type", json.dumps({"type": "post.deleted", "id": "x"}).encode(), "unknown event type 'post.deleted'"),
    ("bad:other", json.dumps({"type": "post.classified", "id": "x"}).encode(), "expected post.collected, got post.classified"),
    (
        "bad:field",
        json.dumps({"type": "post.collected", "id": "x", "published_at": "昨天", "source": SOURCE}, ensure_ascii=False).encode(),
        "invalid post.collected: published_at: Input should be a valid datetime or date, input is too short",
    ),
    (
        "bad:future",
        json.dumps(
            {"type": "post.collected", "schema_version": 3, "id": "x", "published_at": "2025-03-01T08:00:00+08:00", "source": SOURCE}
        ).encode(),
        "invalid post.collected: schema_version: Value error, unsupported schema_version 3 (this reader knows up to 2)",
    ),
]


def test_poison_messages_are_dead_lettered_and_the_stage_keeps_going(bus: Bus) -> None:
    posts = collected_posts(12)
    good = [OutMessage(p.id, p.to_bytes()) for p in posts]
    bad = [OutMessage(key, value) for key, value, _ in POISON]
    # Poison in between good posts, in several publishes, so it sits inside batches.
    bus.publish(POSTS_RAW, good[:3] + bad[:3] + good[3:6])
    bus.publish(POSTS_RAW, bad[3:] + good[6:])
    handled: list[PostCollected] = []
    stage = make_stage(bus, handled.extend)
    consumed = stage.drain()
    stage.close()

    assert consumed == 18
    assert sorted(p.id for p in handled) == sorted(p.id for p in posts)
    assert {p.id: p for p in handled} == {p.id: p for p in posts}  # decoded to equal events
    assert (stage.stats.handled, stage.stats.dead_lettered, stage.stats.retries) == (12, 6, 0)

    where = {m.key: (m.partition, m.offset) for m in read_all(bus, POSTS_RAW, 18)}
    dead = read_all(bus, "posts.raw.dlq", 6)
    assert len(dead) == 6
    expected = {
        key: (
            value,
            {
                "error": reason,
                "stage": "process",
                "original_topic": POSTS_RAW,
                "original_partition": str(where[key][0]),
                "original_offset": str(where[key][1]),
            },
        )
        for key, value, reason in POISON
    }
    assert {m.key: (m.value, m.headers) for m in dead} == expected
    assert_group_done(bus)


def test_failed_store_write_commits_nothing_and_the_batch_comes_again(bus: Bus) -> None:
    posts = collected_posts(20)
    bus.publish(POSTS_RAW, [OutMessage(p.id, p.to_bytes()) for p in posts])

    def store_down(batch: Sequence[PostCollected]) -> None:
        raise StoreError("embedded store store.db: write failed: disk I/O error")

    crashed = make_stage(bus, store_down, batch_size=8)
    with pytest.raises(StoreError):
        crashed.run_once()
    crashed.close()  # the worker gives up (or dies) here

    handled: list[PostCollected] = []
    restarted = make_stage(bus, handled.extend, batch_size=8)
    assert restarted.drain() == 20  # all of them: the failed batch was not committed
    restarted.close()
    assert sorted(p.id for p in handled) == sorted(p.id for p in posts)
    assert_group_done(bus)


def test_stage_retries_a_failing_write_until_it_succeeds(bus: Bus) -> None:
    posts = collected_posts(20)
    bus.publish(POSTS_RAW, [OutMessage(p.id, p.to_bytes()) for p in posts])
    handled: list[PostCollected] = []
    failures = iter([True, True])  # the store is down for the first two writes

    def flaky_store(batch: Sequence[PostCollected]) -> None:
        if next(failures, False):
            raise StoreError("embedded store store.db: database is locked")
        handled.extend(batch)

    stage = make_stage(bus, flaky_store, batch_size=8)
    stage.drain()
    stage.close()
    assert stage.stats.retries == 2
    assert stage.stats.last_error == "embedded store store.db: database is locked"
    assert sorted(p.id for p in handled) == sorted(p.id for p in posts)  # each once: failed writes kept nothing
    assert_group_done(bus)

"""Issue 12 §1: the same 3,000 real posts through 1 processing worker and through 3 workers on a
6-partition topic give the same events — on the embedded bus and on Kafka (tansu).

What may differ between the runs, and is not compared: event ids (an event is named after the
post that started it, which depends on which worker got there first) and risk points of posts
classified before their event was merged. The grouping itself — which posts share an event — must
be identical, and the newest ``post.classified`` message of every post must carry the event the
store holds.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from processors.classify import Classifier
from processors.gazetteer import Gazetteer
from processors.models import Models
from processors.worker import make_stage
from tests.fixtures.tansu import bus_options, start_tansu
from yuqing.bus import Bus, OutMessage, open_bus
from yuqing.events import POSTS_CLASSIFIED, POSTS_RAW, PostClassified, PostCollected, Source, decode
from yuqing.store import Query, Store, open_store
from yuqing.timeutil import TZ

ROOT = Path(__file__).resolve().parents[2]
N = 3000
PARTITIONS = 6
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=TZ)

pytestmark = pytest.mark.slow


def real_posts() -> list[PostCollected]:
    """3,000 real posts from the labelled set, in their file order (a board's posts by id, so
    retellings sit near each other), one every 3 minutes: 6 days, twice the event window."""
    rows = [json.loads(line) for line in (ROOT / "data" / "labels" / "labelled.jsonl").read_text(encoding="utf-8").splitlines()]
    rows.sort(key=lambda r: (r["id"].split(":")[0], int(r["id"].split(":")[1]) if r["id"].split(":")[1].isdigit() else 0))
    return [
        PostCollected(
            id=r["id"],
            title=r["title"],
            content=r["content"],
            published_at=T0 + timedelta(minutes=3 * i),
            source=Source(id=r["id"].split(":")[0], kind="replay", name="t"),
        )
        for i, r in enumerate(rows[:N])
    ]


@contextmanager
def bus_url(kind: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp}/bus.db"
    else:
        with start_tansu(log_dir=tmp / "tansu") as url:  # its own broker: fixed topic names
            yield url


def run(
    kind: str, tmp: Path, posts: list[PostCollected], workers: int, shared: tuple[Models, Gazetteer]
) -> tuple[Store, list[PostClassified]]:
    tmp.mkdir(parents=True)
    models, gazetteer = shared
    store_url = f"sqlite:///{tmp}/store.db"
    with bus_url(kind, tmp) as url, ExitStack() as buses:
        opts = {"partitions": PARTITIONS, **bus_options(url)}

        def bus() -> Bus:
            # Every bus is closed before its broker stops: a Kafka client left open keeps
            # reconnecting in a background thread (with random jitter) for the rest of the session.
            b = open_bus(url, **opts)
            buses.callback(b.close)
            return b

        bus().publish(POSTS_RAW, [OutMessage(p.id, p.to_bytes()) for p in posts])
        stop = threading.Event()
        stages = [
            make_stage(bus(), open_store(store_url), Classifier(gazetteer=gazetteer, models=models), batch_size=200, linger=0.05)
            for _ in range(workers)
        ]
        threads = [threading.Thread(target=s.run_forever, args=(stop,)) for s in stages]
        for t in threads:
            t.start()
        store = open_store(store_url)
        deadline = time.monotonic() + 600
        while store.search(Query(limit=1)).total < len(posts) and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(2)  # let the last batches publish and commit
        stop.set()
        for t in threads:
            t.join(timeout=60)
        assert store.search(Query(limit=1)).total == len(posts)
        assert sum(s.stats.handled for s in stages) >= len(posts)
        assert workers == 1 or sum(s.stats.handled > 0 for s in stages) > 1  # the work was shared
        consumer = bus().consumer(POSTS_CLASSIFIED, "check")
        messages: list[PostClassified] = []
        for _ in range(200):
            got = consumer.poll(5000, 0.5)
            messages += [decode(m.value, PostClassified) for m in got]
            if not got and len({m.id for m in messages}) >= len(posts):
                break
        consumer.close()
    return store, messages


def groups(store: Store) -> set[frozenset[str]]:
    by_event: dict[str, set[str]] = {}
    for offset in range(0, N, 1000):
        for p in store.search(Query(limit=1000, offset=offset)).hits:
            by_event.setdefault(p.event_id, set()).add(p.id)
    return {frozenset(g) for g in by_event.values()}


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("kafka", marks=pytest.mark.kafka)])
def test_one_and_three_workers_give_the_same_events(kind: str, tmp_path: Path) -> None:
    shared = (Models.load(), Gazetteer.load())
    posts = real_posts()
    one, _ = run(kind, tmp_path / "one", posts, 1, shared)
    three, messages = run(kind, tmp_path / "three", posts, 3, shared)
    expected = groups(one)
    assert sum(len(g) > 1 for g in expected) >= 50  # real retellings to compare, not singletons
    assert groups(three) == expected
    newest: dict[str, str] = {}
    for m in messages:  # per post id (one partition), in order
        newest[m.id] = m.event_id
    stored = {p.id: p.event_id for offset in range(0, N, 1000) for p in three.search(Query(limit=1000, offset=offset)).hits}
    assert newest == stored

"""At-least-once, proved with a real process: SIGKILL a running ``yuqing process`` worker part-way
through the stream, start it again, and find every collected post in the store exactly once and on
``posts.classified`` at least once. On both buses; the store is the embedded one.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.core.test_worker_stage import collected_posts
from tests.fixtures.tansu import HEARTBEAT_MS, SESSION_TIMEOUT_MS, bus_options, start_tansu
from yuqing.bus import Bus, Consumer, OutMessage, open_bus
from yuqing.events import POSTS_CLASSIFIED, POSTS_RAW, PostClassified, decode
from yuqing.store import Query, Store, open_store

N = 3000
BATCH = 50
GROUP = "processors"  # processors.worker.GROUP


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-c", "from app.cli import main; main()", "process"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def kill(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.kill()
        worker.wait()


def wait_for_store(store: Store, target: int, worker: subprocess.Popen[bytes], log: Path, timeout: float = 180, stall: float = 30) -> None:
    """Wait until the store holds ``target`` posts; fail early if the worker dies or stops making
    progress for ``stall`` seconds (enough for a start-up and a group join after a kill)."""
    deadline = time.monotonic() + timeout
    last, last_change = -1, time.monotonic()
    while (count := stored(store)) < target:
        now = time.monotonic()
        if count != last:
            last, last_change = count, now
        problem = None
        if worker.poll() is not None:
            problem = f"worker exited with {worker.returncode}"
        elif now - last_change > stall:
            problem = f"no progress for {stall:.0f}s"
        elif now > deadline:
            problem = f"timed out after {timeout:.0f}s"
        if problem:
            pytest.fail(f"{problem} at {count} of {target} posts in the store:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.01)


def committed(bus_url: str) -> int:
    """Posts the processing group has committed on ``posts.raw`` (the sum of its committed
    offsets; every partition starts at 0), read from outside the group: nothing joins it."""
    if bus_url.startswith("sqlite:"):
        with contextlib.closing(sqlite3.connect(f"file:{bus_url.removeprefix('sqlite:///')}?mode=ro", uri=True, timeout=30)) as db:
            row = db.execute("SELECT COALESCE(SUM(next_offset), 0) FROM offsets WHERE grp=? AND topic=?", (GROUP, POSTS_RAW)).fetchone()
        return int(row[0])
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bus_url.removeprefix("kafka://"), client_id="test-offsets")
    try:
        offsets = admin.list_group_offsets(GROUP)[GROUP]
    finally:
        admin.close()
    return sum(o.offset for tp, o in offsets.items() if tp.topic == POSTS_RAW and o.offset > 0)


def stop_with_batch_in_flight(worker: subprocess.Popen[bytes], store: Store, bus_url: str, timeout: float = 60) -> tuple[int, int]:
    """Freeze the worker (SIGSTOP) at a moment when it has written posts to the store that it has
    not committed on the bus yet, i.e. with a batch in flight, and return (stored, committed) as
    they were then. A frozen process cannot commit, so what is seen is what the kill will leave."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        os.kill(worker.pid, signal.SIGSTOP)
        now_stored, now_committed = stored(store), committed(bus_url)
        if now_stored > now_committed:
            return now_stored, now_committed
        os.kill(worker.pid, signal.SIGCONT)
        time.sleep(0.003)
    pytest.fail("never caught the worker with a batch written but not committed")


def stored(store: Store) -> int:
    return store.search(Query(limit=0)).total


def read_topic(bus: Bus, topic: str, want: set[str], timeout: float = 60.0) -> list[PostClassified]:
    """Everything on ``topic`` seen by a fresh group, until every id in ``want`` has arrived."""
    c: Consumer = bus.consumer(topic, f"check-{uuid.uuid4().hex[:8]}")
    got: list[PostClassified] = []
    deadline = time.monotonic() + timeout
    while not want <= {p.id for p in got} and time.monotonic() < deadline:
        for m in c.poll(1000, 0.5):
            post = decode(m.value, PostClassified)
            assert m.key == post.id
            got.append(post)
    for m in c.poll(1000, 1.0):  # and whatever else is there
        got.append(decode(m.value, PostClassified))
    c.close()
    return got


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("kafka", marks=pytest.mark.kafka)])
def test_sigkilled_worker_loses_and_duplicates_nothing(backend: str, tmp_path: Path) -> None:
    posts = collected_posts(N)
    expected = {p.id for p in posts}
    assert len(expected) == N
    log = tmp_path / "worker.log"
    with contextlib.ExitStack() as stack:
        bus_url = f"sqlite:///{tmp_path}/bus.db" if backend == "sqlite" else stack.enter_context(start_tansu(log_dir=tmp_path))
        bus = open_bus(bus_url, partitions=4, **bus_options(bus_url))
        stack.callback(bus.close)
        store_url = f"sqlite:///{tmp_path}/store.db"
        store = open_store(store_url)
        stack.callback(store.close)
        env = {
            **os.environ,
            "YUQING_BUS__URL": bus_url,
            "YUQING_BUS__PARTITIONS": "4",
            "YUQING_BUS__SESSION_TIMEOUT_MS": str(SESSION_TIMEOUT_MS),
            "YUQING_BUS__HEARTBEAT_MS": str(HEARTBEAT_MS),
            "YUQING_STORE__URL": store_url,
            "YUQING_PROCESSORS__BATCH_SIZE": str(BATCH),
            "YUQING_LOG_LEVEL": "INFO",
        }
        for i in range(0, N, 500):
            bus.publish(POSTS_RAW, [OutMessage(p.id, p.to_bytes()) for p in posts[i : i + 500]])

        worker = start_worker(env, log)
        stack.callback(lambda: kill(worker))
        wait_for_store(store, N // 4, worker, log)
        at_kill, committed_at_kill = stop_with_batch_in_flight(worker, store, bus_url)
        os.kill(worker.pid, signal.SIGKILL)  # (a stopped process dies too)
        worker.wait(timeout=10)
        assert stored(store) == at_kill and committed(bus_url) == committed_at_kill
        assert N // 4 <= at_kill < N, "the worker was killed after it had finished: nothing was proved"
        in_flight = at_kill - committed_at_kill
        assert 0 < in_flight <= 2 * BATCH  # stored, not committed: delivered again after the restart

        worker = start_worker(env, log)
        wait_for_store(store, N, worker, log)
        worker.send_signal(signal.SIGTERM)  # a clean stop finishes and commits the batch in hand
        assert worker.wait(timeout=60) == 0, log.read_text(errors="replace")[-3000:]

        result = store.search(Query(limit=N + 1000))
        assert result.total == N
        assert sorted(p.id for p in result.hits) == sorted(expected)  # each post exactly once

        # Nothing left for the group: every offset is committed.
        leftover = bus.consumer(POSTS_RAW, GROUP)
        assert leftover.poll(1000, 1.0) == []
        assert leftover.lag() == 0
        leftover.close()

        classified = read_topic(bus, POSTS_CLASSIFIED, expected)
        assert {p.id for p in classified} == expected
        assert len(classified) >= N  # posts redelivered after the kill may be published twice
        assert committed(bus_url) == N
        print(
            f"{backend}: {at_kill} of {N} stored when killed, {in_flight} of them not committed (in flight); "
            f"{len(classified) - N} classified twice after the restart"
        )

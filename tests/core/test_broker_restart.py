"""The Kafka broker restarts mid-stream, with durable storage (tansu on S3, the bucket on moto's
server): the processing worker rides it out, the producer retries, and the store ends with every
post exactly once (posts are upserted by id, so a message the producer sent twice is one post)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.core.test_worker_stage import collected_posts
from tests.fixtures.processes import stop
from tests.fixtures.tansu import HEARTBEAT_MS, SESSION_TIMEOUT_MS, _free_port, bus_options, s3_storage, start_tansu
from yuqing.bus import OutMessage, open_bus
from yuqing.errors import BusError
from yuqing.events import POSTS_CLASSIFIED, POSTS_RAW
from yuqing.store import Query, open_store

ROOT = Path(__file__).resolve().parents[2]
N = 1200

pytestmark = [pytest.mark.slow, pytest.mark.kafka]


def test_broker_restart_mid_stream_loses_nothing(tmp_path: Path) -> None:
    port = _free_port()
    posts = collected_posts(N)
    published = threading.Event()
    with s3_storage() as s3env:
        broker = contextlib.ExitStack()
        url = broker.enter_context(start_tansu(port=port, storage="s3://tansu/", env=s3env, log_dir=tmp_path))
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "YUQING_BUS__URL": url,
            "YUQING_BUS__SESSION_TIMEOUT_MS": str(SESSION_TIMEOUT_MS),
            "YUQING_BUS__HEARTBEAT_MS": str(HEARTBEAT_MS),
            "YUQING_STORE__URL": f"sqlite:///{tmp_path}/store.db",
            "YUQING_STATE_URL": f"sqlite:///{tmp_path}/state.db",
            "YUQING_PROCESSORS__BATCH_SIZE": "50",
        }
        log = tmp_path / "process.log"
        worker = subprocess.Popen(
            [sys.executable, "-m", "yuqing", "process"], cwd=tmp_path, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
        )
        store = open_store(f"sqlite:///{tmp_path}/store.db")

        def stored() -> int:
            try:
                return store.search(Query(limit=0)).total
            except Exception:
                return 0

        retries = []
        sent = [0]

        def publish() -> None:  # a producer that retries what the broker did not acknowledge
            bus = open_bus(url, **bus_options(url))
            try:
                for i in range(0, N, 25):
                    batch = [OutMessage(p.id, p.to_bytes()) for p in posts[i : i + 25]]
                    while True:
                        try:
                            bus.publish(POSTS_RAW, batch)
                            sent[0] += len(batch)
                            break
                        except BusError:
                            retries.append(i)
                            time.sleep(0.5)
                    time.sleep(0.3)
            finally:
                bus.close()
                published.set()

        publisher = threading.Thread(target=publish)
        try:
            publisher.start()
            deadline = time.monotonic() + 120
            while sent[0] < N // 3 or stored() == 0:  # the stream is flowing and being processed
                assert worker.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
                time.sleep(0.05)
            mid = stored()
            broker.close()  # the broker goes down mid-stream ...
            assert sent[0] < N, "the restart must come mid-stream"
            time.sleep(3)
            broker.enter_context(start_tansu(port=port, storage="s3://tansu/", env=s3env, log_dir=tmp_path))  # ... and comes back
            publisher.join(180)
            assert published.is_set()
            deadline = time.monotonic() + 180
            while stored() < N and time.monotonic() < deadline:
                assert worker.poll() is None, log.read_text(errors="replace")[-3000:]
                time.sleep(0.5)
            page = store.search(Query(limit=N + 100))
            assert page.total == N and {p.id for p in page.hits} == {p.id for p in posts}, f"{page.total} stored, {mid} before the restart"
            # (kafka-python's clients usually ride a few seconds' outage out by themselves: the
            # producer buffers and retries within delivery_timeout_ms, the consumer reconnects.)
            # Everything stored also went on to posts.classified (at least once).
            check = open_bus(url, **bus_options(url))
            consumer = check.consumer(POSTS_CLASSIFIED, f"check-{uuid.uuid4().hex[:6]}")
            seen: set[str] = set()
            deadline = time.monotonic() + 90
            while len(seen) < N and time.monotonic() < deadline:
                seen |= {m.key or "" for m in consumer.poll(1000, 0.5)}
            consumer.close()
            check.close()
            assert seen == {p.id for p in posts}
        finally:
            stop(worker)
            broker.close()

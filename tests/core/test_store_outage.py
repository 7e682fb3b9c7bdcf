"""The store goes away for a minute while `yuqing process` works through a stream: nothing is
lost, nothing is stored twice, the backlog drains when it is back, and the log says so in a few
clear lines rather than one per retry. The outage is a cut TCP proxy in front of osmem, so the
documents stored before it are still there afterwards (osmem keeps its data in memory)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.core.test_worker_stage import collected_posts
from tests.fixtures.osmem import ES_OPTIONS
from tests.fixtures.processes import stop
from tests.fixtures.proxy import tcp_proxy
from yuqing.bus import OutMessage, open_bus
from yuqing.events import POSTS_RAW
from yuqing.store import Query, open_store

ROOT = Path(__file__).resolve().parents[2]
N = 600
OUTAGE_SECONDS = float(os.environ.get("YUQING_TEST_OUTAGE_SECONDS", "60"))


@pytest.mark.slow
@pytest.mark.elasticsearch
def test_store_down_for_a_minute_mid_stream(tmp_path: Path, es_url: str) -> None:
    target = urlsplit(es_url)
    posts = collected_posts(N)
    with tcp_proxy(str(target.hostname), int(target.port or 9200)) as proxy:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "YUQING_BUS__URL": f"sqlite:///{tmp_path}/bus.db",
            "YUQING_STORE__URL": f"http://{proxy.address}",
            "YUQING_STORE__PLAIN_JSON": str(ES_OPTIONS["plain_json"]).lower(),
            "YUQING_STATE_URL": f"sqlite:///{tmp_path}/state.db",
            "YUQING_PROCESSORS__BATCH_SIZE": "50",
        }
        log = tmp_path / "process.log"
        worker = subprocess.Popen(
            [sys.executable, "-m", "yuqing", "process"], cwd=tmp_path, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
        )
        bus = open_bus(f"sqlite:///{tmp_path}/bus.db")
        store = open_store(es_url, **ES_OPTIONS)  # type: ignore[arg-type]

        def stored() -> int:
            try:
                return store.search(Query(limit=0)).total
            except Exception:
                return 0

        def publish() -> None:  # a steady stream, going on through the outage
            for i in range(0, N, 20):
                bus.publish(POSTS_RAW, [OutMessage(p.id, p.to_bytes()) for p in posts[i : i + 20]])
                time.sleep(0.25)

        publisher = threading.Thread(target=publish)
        try:
            publisher.start()
            deadline = time.monotonic() + 120
            while stored() < 100:
                assert worker.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
                time.sleep(0.1)
            proxy.down()
            before = stored()
            time.sleep(OUTAGE_SECONDS)
            assert stored() == before, "nothing can be stored while the store is unreachable"
            assert worker.poll() is None, "the worker must ride out the outage"
            proxy.up()
            publisher.join(60)
            deadline = time.monotonic() + 120
            while stored() < N and time.monotonic() < deadline:
                time.sleep(0.5)
            ids = set()
            page = store.search(Query(limit=N + 100))
            ids = {p.id for p in page.hits}
            assert page.total == N and ids == {p.id for p in posts}  # none lost, none twice
        finally:
            stop(worker)
            bus.close()
        text = log.read_text(encoding="utf-8", errors="replace")
        assert text.count("retrying with backoff") == 1, text[-3000:]
        assert text.count("recovered after") == 1, text[-3000:]
        assert "Traceback" not in text
        assert len([ln for ln in text.splitlines() if " ERROR " in ln or " WARNING " in ln]) <= 3, text[-3000:]

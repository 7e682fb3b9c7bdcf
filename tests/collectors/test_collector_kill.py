"""SIGKILL of a running `yuqing collect`, started again: every post reaches the bus, and the only
posts published twice are those of the one fetch that was between its publish and the saving of
its cursor when the process died (at-least-once, documented in collectors/service.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from tests.fixtures.processes import stop
from yuqing.bus import open_bus
from yuqing.events import POSTS_RAW

ROOT = Path(__file__).resolve().parents[2]
N = 400
BATCH = 20


def _published(bus_url: str, budget: float = 1.0) -> list[str]:
    bus = open_bus(bus_url)
    consumer = bus.consumer(POSTS_RAW, f"check-{uuid.uuid4().hex[:6]}")
    keys: list[str] = []
    until = time.monotonic() + budget  # while the stream flows it never pauses: read what is there now
    while (batch := consumer.poll(1000, 0.3)) and time.monotonic() < until:
        keys += [m.key or "" for m in batch]
    consumer.close()
    bus.close()
    return keys


def _start(cfg: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "YUQING_CONFIG": str(cfg), "PYTHONPATH": str(ROOT)}
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "yuqing", "collect"], cwd=cfg.parent, env=env, stdout=out, stderr=subprocess.STDOUT)


@pytest.mark.slow
def test_sigkilled_collector_loses_nothing(tmp_path: Path) -> None:
    rows = [json.loads(x) for x in (ROOT / "tests" / "data" / "posts_sample.jsonl").read_text(encoding="utf-8").splitlines()[:N]]
    (tmp_path / "posts.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    bus_url = f"sqlite:///{tmp_path}/bus.db"
    cfg = tmp_path / "y.yaml"
    cfg.write_text(
        f"""
bus: {{url: "{bus_url}"}}
state_url: "sqlite:///{tmp_path}/state.db"
sources:
  - {{id: replay, kind: replay, name: 回放, path: "{tmp_path}/posts.jsonl", interval: 0.2, jitter: 0, batch: {BATCH}, rate: 20}}
""",
        encoding="utf-8",
    )
    log = tmp_path / "collect.log"
    proc = _start(cfg, log)
    try:
        deadline = time.monotonic() + 60
        while len(_published(bus_url)) < N // 4:
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        at_kill = len(set(_published(bus_url)))
        assert at_kill < N, "killed after the end: nothing was proved"
        proc = _start(cfg, log)
        deadline = time.monotonic() + 90
        while len(set(_published(bus_url))) < N:
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.2)
        time.sleep(1)  # a few more rounds: a source that re-published old posts would show it now
    finally:
        stop(proc)
    keys = _published(bus_url, budget=60)  # the collector has stopped: read to the end
    counts = Counter(keys)
    assert len(counts) == N
    twice = [k for k, n in counts.items() if n > 1]
    assert max(counts.values()) <= 2 and len(twice) <= BATCH, f"{len(twice)} published twice"

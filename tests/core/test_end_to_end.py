"""The README's promises, run as a user would: the demo, then search; `yuqing run`; `yuqing doctor`."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from yuqing.store import Query, open_store

ROOT = Path(__file__).resolve().parents[2]


def yuqing(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yuqing", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_demo_then_search_finds_its_posts(tmp_path: Path) -> None:
    demo = yuqing("demo", cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "演示完成" in demo.stdout and "各主题帖子数" in demo.stdout
    res = yuqing("search", "工资", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    hits = [json.loads(line) for line in res.stdout.splitlines()]
    assert hits, "the demo's posts must be searchable"
    store = open_store(f"sqlite:///{tmp_path}/yuqing-data/store.db")
    for h in hits:
        assert {"id", "title", "topic", "sentiment", "risk", "published_at", "url"} <= set(h)
        post = store.get(h["id"])
        assert post is not None and "工资" in post.title + post.content
    assert any(h["topic"] == "工资拖欠" for h in hits)
    filtered = yuqing("search", "--topic", "工资拖欠", "--sentiment", "negative", "--json", cwd=tmp_path)
    rows = [json.loads(line) for line in filtered.stdout.splitlines()]
    assert rows and all(r["topic"] == "工资拖欠" and r["sentiment"] == "negative" for r in rows)
    # Running the demo again is idempotent: nothing is collected twice.
    total = store.search(Query(limit=1)).total
    again = yuqing("demo", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert store.search(Query(limit=1)).total == total


@pytest.mark.slow
def test_run_collects_classifies_and_stops_cleanly(tmp_path: Path) -> None:
    posts = ROOT / "yuqing" / "demo" / "wenzheng.jsonl"
    lines = posts.read_text(encoding="utf-8").splitlines()[:40]
    (tmp_path / "posts.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "y.yaml").write_text(
        f"""
bus: {{url: "sqlite:///{tmp_path}/d/bus.db"}}
store: {{url: "sqlite:///{tmp_path}/d/store.db"}}
database: {{url: "sqlite:///{tmp_path}/d/ledger.db"}}
state_url: "sqlite:///{tmp_path}/d/state.db"
ledger: {{port: {free_port()}}}
sources:
  - {{id: replay, kind: replay, name: 回放, path: "{tmp_path}/posts.jsonl", interval: 3600}}
""",
        encoding="utf-8",
    )
    env = {**os.environ, "YUQING_CONFIG": str(tmp_path / "y.yaml")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "yuqing", "run"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 90
        total = 0
        while time.monotonic() < deadline and total < 40:
            time.sleep(0.5)
            if (tmp_path / "d" / "store.db").exists():
                total = open_store(f"sqlite:///{tmp_path}/d/store.db").search(Query(limit=1)).total
            assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert total == 40
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, err[-3000:]
    assert "yuqing stopped" in err


def test_doctor_explains_what_is_wrong(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    env = {**os.environ, "YUQING_STORE__URL": f"http://127.0.0.1:{port}", "YUQING_BUS__URL": f"sqlite:///{tmp_path}/bus.db"}
    res = yuqing("doctor", cwd=tmp_path, env=env, timeout=120)
    assert res.returncode == 1
    assert "ok    bus: embedded bus" in res.stdout
    assert f"FAIL  store (http://127.0.0.1:{port})" in res.stdout
    assert "some checks failed" in res.stdout


def test_bad_config_is_a_clear_startup_error(tmp_path: Path) -> None:
    (tmp_path / "y.yaml").write_text("bus:\n  url: redis://localhost\n", encoding="utf-8")
    res = yuqing("-c", "y.yaml", "search", "x", cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip() == (
        "配置错误 / config error: Value error, unknown bus URL 'redis://localhost': "
        "use sqlite:///PATH or kafka://HOST:PORT[,HOST:PORT] (file y.yaml, key bus.url)"
    )

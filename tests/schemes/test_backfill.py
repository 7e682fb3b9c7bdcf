"""Backfill: SIGKILLed in the middle, the next run resumes after the last committed page and
every stored post ends with exactly the tags the matcher gives it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from processors.classify import Classifier
from schemes.matcher import Matcher
from schemes.store import SchemeStore, backfill_table
from tests.core.test_store_contract import _collected
from yuqing.store import Query, open_store

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "yuqing" / "demo" / "wenzheng.jsonl"
SCHEMES = [
    {"name": "欠薪", "team": "县人社局", "include": "欠薪 讨薪 拖欠 +工资"},
    {"name": "噪音", "include": "噪音 噪声 扰民"},
    {"name": "教育", "include": "(学校 幼儿园 老师) 非 招聘", "exclude": ["广告"]},
]


def _checkpoint(table: SchemeStore) -> dict[str, int] | None:
    with table.engine.connect() as c:
        row = c.execute(select(backfill_table)).mappings().first()
    return dict(row) if row else None


@pytest.mark.slow
def test_backfill_resumes_after_sigkill_and_tags_every_post(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines() if line.strip()]
    posts = Classifier().classify_many(_collected({"source": "demo"} | r) for r in rows)
    store_url, db_url = f"sqlite:///{tmp_path}/store.db", f"sqlite:///{tmp_path}/ledger.db"
    store = open_store(store_url)
    store.write(posts)
    table = SchemeStore(db_url)
    table.save_all(SCHEMES)
    (tmp_path / "yuqing.yaml").write_text(f"store:\n  url: {store_url}\ndatabase:\n  url: {db_url}\n", encoding="utf-8")
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "yuqing", "-c", str(tmp_path / "yuqing.yaml"), "schemes", "backfill", "--batch", "5", "--lease", "2"]

    proc = subprocess.Popen([*cmd, "--pause", "0.1"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        cp = _checkpoint(table)
        if cp and cp["done"] >= 40:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = _checkpoint(table)
    assert killed_at is not None and not killed_at["finished"] and 40 <= killed_at["done"] < len(posts), killed_at

    out = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"resuming at post {killed_at['done']} of {len(posts)}" in out.stderr
    final = _checkpoint(table)
    assert final is not None and final["finished"] and final["done"] == len(posts)

    matcher = Matcher([s.compiled() for s in table.list(active_only=True)])
    store.close()
    store = open_store(store_url)
    stored = store.search(Query(limit=1000)).hits
    assert len(stored) == len(posts)
    expected = {p.id: sorted(matcher.match_post(p)) for p in posts}
    assert {p.id: p.schemes for p in stored} == expected
    assert sum(1 for v in expected.values() if v) >= 10  # the schemes do tag posts
    # the second run did not start over: it handled the posts after the checkpoint only
    tagged_total = sum(1 for v in expected.values() if v)
    assert final["written"] == tagged_total  # each post whose tags changed was rewritten once: a replayed page changes nothing

    again = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert "already done" in again.stdout
    store.close()
    table.close()

"""`yuqing run` on the production backends, as a user runs it: Kafka (tansu), Elasticsearch
(osmem) and PostgreSQL. Posts go in from a source, search finds them, an alert fires, and a
monitor opens a case from the alert in the web app over real HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.osmem import ES_OPTIONS
from tests.fixtures.postgres import create_database, drop_database
from tests.fixtures.tansu import start_tansu
from yuqing.store import Query, open_store

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Monitor-pass-2026"
CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')

pytestmark = [pytest.mark.slow, pytest.mark.kafka, pytest.mark.elasticsearch, pytest.mark.postgres]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def pg_url() -> Iterator[str]:
    url = create_database(prefix="yuqing_pipeline")
    yield url
    drop_database(url)


def _yuqing(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yuqing", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180, check=False
    )


def test_run_on_kafka_elasticsearch_and_postgres(tmp_path: Path, es_url: str, pg_url: str) -> None:
    lines = (ROOT / "yuqing" / "demo" / "wenzheng.jsonl").read_text(encoding="utf-8").splitlines()
    wage = [ln for ln in lines if "工资" in json.loads(ln)["title"]][:5]
    other = [ln for ln in lines if "工资" not in ln][:25]
    assert len(wage) == 5
    (tmp_path / "posts.jsonl").write_text("\n".join(wage + other) + "\n", encoding="utf-8")
    (tmp_path / "rules.yaml").write_text(
        "rules:\n  - {name: 欠薪反映, type: any, group_wait: 0s, repeat_interval: 24h, group_by: [source], match: {keywords: 工资}}\n",
        encoding="utf-8",
    )
    port = free_port()
    with start_tansu() as kafka_url:
        (tmp_path / "y.yaml").write_text(
            f"""
bus: {{url: "{kafka_url}", partitions: 3, session_timeout_ms: 3000, heartbeat_ms: 500}}
store: {{url: "{es_url}", plain_json: {str(ES_OPTIONS["plain_json"]).lower()}, refresh: "true"}}
database: {{url: "{pg_url}"}}
state_url: "sqlite:///{tmp_path}/state.db"
alerts: {{rules: "{tmp_path}/rules.yaml", quiet_hours: {{enabled: false}}, max_post_age: 36500d}}
ledger: {{port: {port}, base_url: "http://127.0.0.1:{port}"}}
sources:
  - {{id: replay, kind: replay, name: 回放, path: "{tmp_path}/posts.jsonl", interval: 3600}}
""",
            encoding="utf-8",
        )
        env = {**os.environ, "YUQING_CONFIG": str(tmp_path / "y.yaml"), "PYTHONPATH": str(ROOT)}
        for args in (["ledger", "migrate"], ["ledger", "users", "add", "jiance", "--role", "monitor", "--password", PASSWORD]):
            res = _yuqing(*args, env=env, cwd=tmp_path)
            assert res.returncode == 0, res.stderr[-3000:]
        proc = subprocess.Popen(
            [sys.executable, "-m", "yuqing", "run"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            store = open_store(es_url, **ES_OPTIONS)  # type: ignore[arg-type]
            deadline = time.monotonic() + 150
            total = 0
            while time.monotonic() < deadline and total < 30:
                time.sleep(0.5)
                assert proc.poll() is None, proc.communicate()[1][-3000:]
                try:
                    total = store.search(Query(limit=1)).total
                except Exception:  # the index is created by the first bulk write
                    total = 0
            assert total == 30, f"{total} of 30 posts stored"
            hits = store.search(Query(text="工资", limit=50)).hits
            assert {json.loads(w)["title"] for w in wage} <= {h.title for h in hits}

            # The alert, in PostgreSQL.
            alert_id = ""
            while time.monotonic() < deadline and not alert_id:
                res = _yuqing("alerts", "list", "--status", "all", "--json", env=env, cwd=tmp_path)
                rows = [json.loads(x) for x in res.stdout.splitlines() if x.strip()]
                alert_id = next((r["id"] for r in rows if r["rule"] == "欠薪反映"), "")
                time.sleep(0.5)
            assert alert_id, "the alert did not fire"

            # A monitor opens a case from it in the web app.
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as web:
                m = CSRF_RE.search(web.get("/login").text)
                assert m
                r = web.post("/login", data={"csrf_token": m.group(1), "username": "jiance", "password": PASSWORD, "next": "/cases"})
                assert r.status_code == 303, r.text[:500]
                page = web.get(f"/alerts/{alert_id}")
                assert page.status_code == 200
                m = CSRF_RE.search(page.text)
                assert m
                r = web.post(f"/alerts/{alert_id}/case", data={"csrf_token": m.group(1)})
                assert r.status_code == 303 and re.match(r"/cases/\d+", r.headers["location"]), r.text[:500]
                case_id = int(r.headers["location"].rsplit("/", 1)[1].split("?")[0])
                case = web.get(f"/api/v1/cases/{case_id}").json()
                assert case["alert_id"] == alert_id
                again = web.post(f"/alerts/{alert_id}/case", data={"csrf_token": m.group(1)})
                assert again.headers["location"].startswith(f"/cases/{case_id}")  # no duplicate
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                _, err = proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise
        assert proc.returncode == 0, err[-3000:]

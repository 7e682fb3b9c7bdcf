"""The web app on the demo's data: server time of the workbench pages, and how soon a new alert
reaches an open alert inbox (server-sent events). Ends with one RESULT line.

    python -m bench.workbench             # runs `yuqing demo` in a temporary directory and `yuqing web` on it
    python -m bench.workbench --url http://127.0.0.1:8771 --database sqlite:////tmp/demo/yuqing-data/ledger.db

Writes a few alerts (rule ``bench``) into the alert store of that database.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import httpx

from alerts.store import Alert, AlertStore, new_alert_id
from yuqing.timeutil import now as wall_now

PAGES = (
    "/workbench",
    "/workbench/data/volume.json?span=24h",
    "/workbench/data/volume.json?span=30d",
    "/workbench/search?q=工资",
    "/workbench/search?q=工资&sentiment=negative&page=2",
    "/workbench/regions",
    "/workbench/search.xlsx?q=工资",
    "/alerts",
)


def signed_in(url: str, user: str, password: str) -> httpx.Client:
    c = httpx.Client(base_url=url, timeout=30)
    found = re.search(r'name="csrf-token" content="([^"]+)"', c.get("/login").text)
    assert found, "no CSRF token on the sign-in page"
    r = c.post("/login", data={"username": user, "password": password, "next": "/cases", "csrf_token": found[1]})
    assert r.status_code == 303, f"sign-in failed: {r.status_code}"
    return c


@contextmanager
def demo_server() -> Iterator[tuple[str, str]]:
    """`yuqing demo` in a temporary directory, then `yuqing web` on it: (url, database URL)."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        subprocess.run([sys.executable, "-m", "yuqing", "demo"], cwd=tmp, env=env, check=True, capture_output=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen(
            [sys.executable, "-m", "yuqing", "web", "--port", str(port)],
            cwd=tmp,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(url + "/login", timeout=2)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError("yuqing web did not start") from None
                    time.sleep(0.5)
            yield url, f"sqlite:///{tmp}/yuqing-data/ledger.db"
        finally:
            server.terminate()
            server.wait(30)


def pages(c: httpx.Client, n: int) -> dict[str, float]:
    medians = {}
    for path in PAGES:
        times = []
        for _ in range(n):
            t = time.perf_counter()
            r = c.get(path)
            times.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, (path, r.status_code)
        medians[path] = statistics.median(times)
        print(f"{path:50s} median {medians[path]:6.1f} ms  max {max(times):6.1f} ms")
    return medians


def template(store: AlertStore) -> Alert:
    [a] = store.find(None, limit=1) or [None]
    assert a is not None, "no alert to copy: run `yuqing demo` first"
    return a


def stream(c: httpx.Client, database: str, n: int) -> list[float]:
    store = AlertStore(database)
    base = template(store)
    written: dict[str, float] = {}
    got: dict[str, float] = {}

    def listen() -> None:
        with c.stream("GET", "/alerts/stream?seconds=120") as r:
            for line in r.iter_lines():
                if line.startswith("id: "):
                    got[line[4:]] = time.perf_counter()
                    if len(got) >= n:
                        return

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    time.sleep(1.5)
    for i in range(n):
        now = wall_now()
        a = replace(base, id=new_alert_id(), fingerprint=f"bench-{now.timestamp()}-{i}", rule="bench", created_at=now, fired_at=now)
        with store.begin() as conn:
            store.insert_in(conn, a)
        written[a.id] = time.perf_counter()
        time.sleep(0.7)
    t.join(20)
    lat = [(got[i] - written[i]) * 1000 for i in written if i in got]
    print(f"alert stream: {len(lat)}/{n} received; latency median {statistics.median(lat):.0f} ms, max {max(lat):.0f} ms")
    return lat


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", help="a running app (default: the demo, started here)")
    p.add_argument("--database", default="sqlite:///yuqing-data/ledger.db", help="its database (with --url)")
    p.add_argument("--user", default="jiance")
    p.add_argument("--password", default="yuqing-demo")
    p.add_argument("-n", type=int, default=20, help="requests per page, alerts for the stream")
    args = p.parse_args()
    if args.url:
        run(args.url, args.database, args)
    else:
        with demo_server() as (url, database):
            run(url, database, args)


def run(url: str, database: str, args: argparse.Namespace) -> None:
    c = signed_in(url, args.user, args.password)
    medians = pages(c, args.n)
    lat = stream(c, database, min(args.n, 10))
    print(
        f"RESULT overview_ms={medians['/workbench']:.0f} search_ms={medians['/workbench/search?q=工资']:.0f} "
        f"regions_ms={medians['/workbench/regions']:.0f} alert_stream_median_ms={statistics.median(lat):.0f} "
        f"alert_stream_max_ms={max(lat):.0f} alerts_received={len(lat)}"
    )


if __name__ == "__main__":
    main()

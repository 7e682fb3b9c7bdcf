"""Ledger web service under load: requests/s and latency for the case list and a status update with
50 concurrent clients, on PostgreSQL and on SQLite, against a trivial endpoint as the baseline.

    python -m bench.ledger [--seconds 8] [--clients 50] [--cases 300]

A real uvicorn server (one process, as ``yuqing run`` starts it) listens on 127.0.0.1; the load
comes from another process over real HTTP connections (httpx, asyncio). Scenarios:

- ``health``: GET /healthz, the floor set by uvicorn + FastAPI on this machine
- ``list``: GET /api/v1/cases?limit=20 with a monitor's token (the first page of the ledger)
- ``update``: each client owns one case and flips it 待交办 → 已交办 → 待交办 (assign by the monitor,
  return by the unit) through POST /api/v1/cases/{id}/actions: a versioned, audited transition

Requests are bounded by time and count, and go to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench._common import result_line
from ledger.config import LedgerConfig
from ledger.db import Database
from ledger.schemas import NewCase
from ledger.service import LedgerService
from ledger.states import SYSTEM, Role

ROOT = Path(__file__).resolve().parents[2]
MAX_REQUESTS = 200_000


def seed(url: str, cases: int, clients: int) -> dict[str, Any]:
    db = Database(url)
    db.migrate()
    svc = LedgerService(db, LedgerConfig())
    unit = svc.create_unit(SYSTEM, "县生态环境局")
    mon = svc.create_user(SYSTEM, "jiance", "bench-password", Role.MONITOR)
    unit_user = svc.create_user(SYSTEM, "sthj", "bench-password", Role.UNIT, unit_id=unit.id)
    monitor = svc.actor(mon.id)
    assert monitor is not None
    ids = []
    for i in range(cases):
        c = svc.create_case(
            monitor,
            NewCase(
                title=f"压测案件 {i}",
                summary="河水发黑发臭，群众反映强烈" * 5,
                source="12345",
                case_type="投诉",
                unit_id=unit.id if i >= clients else None,
            ),
        )
        ids.append((c.id, c.version))
    out = {
        "monitor": svc.issue_token(SYSTEM, mon.id),
        "unit": svc.issue_token(SYSTEM, unit_user.id),
        "unit_id": unit.id,
        "own": ids[:clients],
    }  # the first ``clients`` cases are pending: one per client to flip
    db.close()
    return out


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bench.ledger.serve", url, str(port)], cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the ledger server did not start")


async def run_scenario(base: str, name: str, seconds: float, clients: int, world: dict[str, Any]) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    count = 0
    # One client (and one connection) per simulated user: a single httpx pool shared by 50
    # connections becomes the bottleneck itself (measured: 177 req/s against 360 on /healthz).
    sessions = [httpx.AsyncClient(base_url=base, timeout=30) for _ in range(clients)]
    stop_at = time.monotonic() + seconds  # after making the clients: each builds an SSL context
    try:
        mon = {"Authorization": f"Bearer {world['monitor']}"}
        unit = {"Authorization": f"Bearer {world['unit']}"}

        async def client(i: int) -> None:
            nonlocal errors, count
            http = sessions[i]
            case_id, version = world["own"][i]
            assigned = False
            while time.monotonic() < stop_at and count < MAX_REQUESTS:
                t0 = time.perf_counter()
                if name == "health":
                    r = await http.get("/healthz")
                elif name == "list":
                    r = await http.get("/api/v1/cases?limit=20", headers=mon)
                else:
                    body: dict[str, Any] = (
                        {"action": "return", "version": version, "note": "不属于本单位职责"}
                        if assigned
                        else {"action": "assign", "version": version, "unit_id": world["unit_id"]}
                    )
                    r = await http.post(f"/api/v1/cases/{case_id}/actions", json=body, headers=unit if assigned else mon)
                    if r.status_code == 200:
                        version = r.json()["version"]
                        assigned = not assigned
                latencies.append(time.perf_counter() - t0)
                count += 1
                if r.status_code != 200:
                    errors += 1

        started = time.monotonic()
        await asyncio.gather(*(client(i) for i in range(clients)))
        elapsed = time.monotonic() - started
    finally:
        for s in sessions:
            await s.aclose()
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "requests": len(latencies),
        "errors": errors,
    }


def bench_backend(label: str, url: str, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    world = seed(url, args.cases, args.clients)
    proc, base = start_server(url)
    out = {}
    try:
        for name in ("health", "list", "update"):
            asyncio.run(run_scenario(base, name, 1.0, args.clients, world))  # warm-up: connections, caches
            if name == "update":  # the warm-up moved the versions on; read them back
                mon = {"Authorization": f"Bearer {world['monitor']}"}
                world["own"] = [(cid, httpx.get(f"{base}/api/v1/cases/{cid}", headers=mon).json()["version"]) for cid, _ in world["own"]]
                for cid, _ in world["own"]:  # back to 待交办 so each client starts with assign
                    case = httpx.get(f"{base}/api/v1/cases/{cid}", headers=mon).json()
                    if case["status"] == "assigned":
                        httpx.post(
                            f"{base}/api/v1/cases/{cid}/actions",
                            json={"action": "return", "version": case["version"], "note": "复位"},
                            headers={"Authorization": f"Bearer {world['unit']}"},
                        )
                world["own"] = [(cid, httpx.get(f"{base}/api/v1/cases/{cid}", headers=mon).json()["version"]) for cid, _ in world["own"]]
            r = asyncio.run(run_scenario(base, name, args.seconds, args.clients, world))
            out[name] = r
            print(
                f"{label:<10} {name:<7} {r['rps']:8.1f} req/s   p50 {r['p50_ms']:7.1f} ms   p99 {r['p99_ms']:7.1f} ms"
                f"   ({int(r['requests'])} requests, {int(r['errors'])} errors)",
                flush=True,
            )
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--cases", type=int, default=300)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.fixtures.postgres import create_database, drop_database

    print(f"ledger web service, {args.clients} concurrent clients, {args.seconds:.0f} s per scenario, {args.cases} cases")
    pg_url = create_database(prefix="yuqing_bench")
    try:
        pg = bench_backend("postgresql", pg_url, args)
    finally:
        drop_database(pg_url)
    with tempfile.TemporaryDirectory() as tmp:
        lite = bench_backend("sqlite", f"sqlite:///{tmp}/ledger.db", args)
    print()
    print(
        f"PostgreSQL case list: {pg['list']['rps']:.0f} req/s = {pg['list']['rps'] / pg['health']['rps']:.0%} of the bare endpoint; "
        f"status update: {pg['update']['rps']:.0f} req/s ({pg['update']['rps'] / lite['update']['rps']:.1f}x SQLite)"
    )
    print(
        result_line(
            pg_list_rps=round(pg["list"]["rps"], 1),
            pg_list_p99_ms=round(pg["list"]["p99_ms"], 1),
            pg_update_rps=round(pg["update"]["rps"], 1),
            pg_update_p99_ms=round(pg["update"]["p99_ms"], 1),
            pg_health_rps=round(pg["health"]["rps"], 1),
            pg_health_p99_ms=round(pg["health"]["p99_ms"], 1),
            sqlite_list_rps=round(lite["list"]["rps"], 1),
            sqlite_list_p99_ms=round(lite["list"]["p99_ms"], 1),
            sqlite_update_rps=round(lite["update"]["rps"], 1),
            sqlite_update_p99_ms=round(lite["update"]["p99_ms"], 1),
            errors=int(sum(r["errors"] for r in (*pg.values(), *lite.values()))),
        )
    )


if __name__ == "__main__":
    main()

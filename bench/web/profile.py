"""Where a request's time goes, in process: the CPU each endpoint of ``bench.web`` costs and how
many SQL statements it sends, one request at a time (no concurrency, so no noise from the GIL or
the other work of a shared machine), through the ASGI app itself (no server, no sockets).

    python -m bench.web.profile [--requests 200] [--only list,update] [--cprofile list] [--top 30]

The same data as ``bench.web`` (its ``seed`` and ``seed_store``) in a PostgreSQL database of its
own. ``--cprofile NAME`` prints the functions where endpoint NAME spent its time. The CPU is this
process's (``time.process_time``: every thread, the in-process HTTP client included, so
``healthz`` is the floor that every request pays here).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import re
import sys
import tempfile
import time
from typing import Any

import httpx
from sqlalchemy import event

from bench._common import ROOT
from bench.web.__main__ import ENDPOINTS, World, seed, seed_store


async def _sign_in(http: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    page = await http.get("/login")
    found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert found, "no CSRF token on /login"
    r = await http.post("/login", data={"username": username, "password": password, "next": "/cases", "csrf_token": found.group(1)})
    assert r.status_code == 303, f"sign-in failed: {r.status_code}"
    return dict(http.cookies)


async def measure(app: Any, world: World, names: list[str], requests: int, profile: str | None, top: int, engines: list[Any]) -> None:
    statements = [0]

    def count(*_: Any) -> None:
        statements[0] += 1

    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as signer:
        world.cookie = await _sign_in(signer, "jiance", "bench-password")
    print(f"{'endpoint':<38} {'CPU ms/req':>11} {'SQL/req':>8} {'errors':>7}")
    for ep in ENDPOINTS:
        if ep.name not in names:
            continue
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", cookies=world.cookie) as http:
            for _ in range(10):  # warm-up: connections, template compilation, caches
                await ep.call(http, world, 0)
            statements[0] = 0
            errors = 0
            prof = cProfile.Profile(time.process_time) if profile == ep.name else None  # CPU, not waits
            t0 = time.process_time()
            if prof:
                prof.enable()
            for _ in range(requests):
                r = await ep.call(http, world, 0)
                errors += r.status_code != 200
            if prof:
                prof.disable()
            cpu = (time.process_time() - t0) * 1000 / requests
        print(f"{ep.label:<38} {cpu:11.2f} {statements[0] / requests:8.1f} {errors:7d}", flush=True)
        if prof:
            prof.dump_stats(f"/tmp/bench-web-{ep.name}.prof")
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(top)
            print(out.getvalue())
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
            print(out.getvalue())


def _inline() -> None:
    """Sync endpoints run where they are called, not in anyio's worker threads: cProfile follows
    one thread only."""
    import anyio.to_thread

    async def run_sync(func: Any, *args: Any, **_: Any) -> Any:
        return func(*args)

    anyio.to_thread.run_sync = run_sync  # type: ignore[assignment]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--only", default="", help="comma-separated endpoint names")
    ap.add_argument("--cprofile", default=None, help="an endpoint name: print where its time went")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--inline", action="store_true", help="run sync endpoints on the event loop's thread (implied by --cprofile)")
    ap.add_argument("--cases", type=int, default=300)
    ap.add_argument("--posts", type=int, default=2000)
    args = ap.parse_args()
    names = [n for n in args.only.split(",") if n] or [e.name for e in ENDPOINTS]
    if args.inline or args.cprofile:
        _inline()
    sys.path.insert(0, str(ROOT))
    from alerts.store import AlertStore
    from ledger.config import LedgerConfig
    from ledger.db import Database
    from ledger.service import LedgerService
    from tests.fixtures.postgres import create_database, drop_database
    from web import create_app
    from yuqing.store import open_store

    url = create_database(prefix="yuqing_bench_webprof")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-webprof-") as tmp:
            seeded = seed(url, args.cases, 1)
            store_url = seed_store(tmp, args.posts)
            svc = LedgerService(Database(url), LedgerConfig())
            alerts = AlertStore(url)
            app = create_app(svc, store=open_store(store_url), alerts=alerts, secret_key="bench-web")
            world = World("http://127.0.0.1", seeded["monitor"], seeded["unit"], seeded["unit_id"], {}, seeded["own"])
            engines = [svc.db.engine, *([alerts.engine] if hasattr(alerts, "engine") else [])]
            asyncio.run(measure(app, world, names, args.requests, args.cprofile, args.top, engines))
            svc.db.close()
    finally:
        drop_database(url)


if __name__ == "__main__":
    main()

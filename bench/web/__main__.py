"""The web app under load on PostgreSQL: requests/s and latency of the pages and API calls staff use
most, with 50 concurrent clients, against ``/healthz`` measured in the same run.

    python -m bench.web [--quick] [--workers 2] [--threads 10] [--seconds 6] [--rounds 2] [--clients 50] [--cases 300]
                        [--posts 2000] [--only a,b]

A real uvicorn server with ``--workers`` processes (default 2: one per core of the 2-core machine
the figures in docs/scaling.md come from; more processes than cores only adds switching, fewer
leaves a core to the load generator and PostgreSQL) listens on 127.0.0.1, on a PostgreSQL
database of its own (created and dropped here, like the tests' ``postgres_url``). The load comes
from this process over real HTTP connections: one httpx client per simulated user (asyncio).
Each endpoint of ``ENDPOINTS`` (one table; add a row to measure another page) runs for
``--seconds`` after a one-second warm-up, and the whole list runs ``--rounds`` times, interleaved,
so a busy spell on a shared machine falls on every endpoint alike; an endpoint's figures are
over all its rounds. Requests go to 127.0.0.1 only.

The workbench reads a post store: ``--posts`` real posts (the labelled set through the real
classifier, published over the last 7 days) in an embedded SQLite store made here.

The last line is ``RESULT pg_list_p99_ms=... ... healthz_rps=...``: the case list is
``/api/v1/cases``, the status update a case action (assign / return, versioned and audited), home
the workbench's 总览 ``/workbench``, search its 检索 ``/workbench/search?q=工资`` (the case search
``/api/v1/cases?q=`` is ``case_search``). ``*_cpu_ms`` is the CPU one request cost the web workers
and PostgreSQL together (``client_cpu_ms``: what one request cost this load generator, which shares
the cores with them); ``load1`` the machine's load average when the run ended (other work on a
shared machine shows there, and in the latencies). ``--quick``: one round of 3 s, 1000 posts.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import importlib.util
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench._common import ROOT, result_line
from yuqing.timeutil import now as wall_now

MAX_REQUESTS = 200_000
UNITS = ("县生态环境局", "县人社局", "县住建局", "县教育局", "县卫健委", "马当镇", "芙蓉墩镇", "太泊湖开发区")
TOPICS = ("环境污染", "工资拖欠", "物业纠纷", "教育收费", "医疗服务", "道路交通")


@dataclass
class World:
    base: str
    monitor_token: str
    unit_token: str
    unit_id: int
    cookie: dict[str, str]  # a signed-in monitor's session (the pages)
    own: list[tuple[int, int]]  # (case id, version): one pending case per client, for the update


Call = Callable[[httpx.AsyncClient, World, int], Awaitable[httpx.Response]]


@dataclass(frozen=True)
class Endpoint:
    name: str
    label: str
    call: Call


def _get(path: str, auth: str, *, follow: bool = False) -> Call:
    async def call(http: httpx.AsyncClient, w: World, i: int) -> httpx.Response:
        if auth == "token":
            return await http.get(path, headers={"Authorization": f"Bearer {w.monitor_token}"})
        if auth == "cookie":  # the client carries the session cookie (every client is made with it)
            r = await http.get(path, follow_redirects=follow)
            if r.url.path == "/login":  # signed out: a page that says so is no measure of the page
                r.status_code = 401
            return r
        return await http.get(path)

    return call


async def _update(http: httpx.AsyncClient, w: World, i: int) -> httpx.Response:
    """Client ``i`` flips its own case 待交办 → 已交办 (the monitor assigns) → 待交办 (the unit returns it)."""
    case_id, version = w.own[i]
    assigned = version % 2 == 0  # versions start at 1 (pending); each action adds one
    if assigned:
        body: dict[str, Any] = {"action": "return", "version": version, "note": "不属于本单位职责"}
        token = w.unit_token
    else:
        body = {"action": "assign", "version": version, "unit_id": w.unit_id}
        token = w.monitor_token
    r = await http.post(f"/api/v1/cases/{case_id}/actions", json=body, headers={"Authorization": f"Bearer {token}"})
    if r.status_code == 200:
        w.own[i] = (case_id, r.json()["version"])
    return r


# name, what the table calls it, the request. The RESULT line names: list, update, home, search.
ENDPOINTS = [
    Endpoint("healthz", "GET /healthz (baseline)", _get("/healthz", "none")),
    Endpoint("list", "GET /api/v1/cases?limit=20", _get("/api/v1/cases?limit=20", "token")),
    Endpoint("list_page", "GET /cases (page)", _get("/cases", "cookie")),
    Endpoint("update", "POST /api/v1/cases/{id}/actions", _update),
    Endpoint("home", "GET /workbench (总览 page)", _get("/workbench", "cookie")),
    Endpoint("search", "GET /workbench/search?q=工资 (检索)", _get("/workbench/search?q=%E5%B7%A5%E8%B5%84", "cookie")),
    Endpoint("alerts", "GET /alerts (page)", _get("/alerts", "cookie")),
    Endpoint("case_search", "GET /api/v1/cases?q=河水&limit=20", _get("/api/v1/cases?q=%E6%B2%B3%E6%B0%B4&limit=20", "token")),
]


def make_alert(n: int, labels: dict[str, str], ts: datetime) -> Any:
    """A firing alert as the engine writes it (the fields of ``alerts.store.Alert``)."""
    from alerts.store import Alert, new_alert_id

    return Alert(
        id=new_alert_id(), fingerprint=f"bench-{n}", rule="压测规则", rule_type="frequency", status="firing", severity="高",
        labels=labels, title=f"压测预警{n}", metric="12 条", reasons=["河水发黑"],
        post_count=12, negative_count=9, created_at=ts, fired_at=ts, first_seen=ts, last_seen=ts, last_hit_at=ts, notify_at=ts,
        notifications=1, first_notified_at=ts, last_notified_at=ts, notified_post_count=12, notified_severity="高", suppressed=None,
        notifiers=["inbox"], escalations=[], escalation_level=0, group_wait=timedelta(0), repeat_interval=timedelta(hours=1), clears_itself=False,
        next_action_at=ts + timedelta(hours=1),
    )  # fmt: skip


def seed(url: str, cases: int, clients: int) -> dict[str, Any]:
    """Units, a monitor and a unit user, ``cases`` cases (the first ``clients`` pending, one per
    client to flip; of the rest a third carry commitments), and 120 alerts, 40 of them with a case."""
    from alerts.store import AlertStore
    from ledger.config import LedgerConfig
    from ledger.db import Database
    from ledger.schemas import CaseAction, NewCase, NewCommitment
    from ledger.service import LedgerService
    from ledger.states import SYSTEM, Role

    db = Database(url)
    db.migrate()
    svc = LedgerService(db, LedgerConfig())
    units = [svc.create_unit(SYSTEM, name) for name in UNITS]
    mon = svc.create_user(SYSTEM, "jiance", "bench-password", Role.MONITOR)
    unit_user = svc.create_user(SYSTEM, "sthj", "bench-password", Role.UNIT, unit_id=units[0].id)
    monitor = svc.actor(mon.id)
    unit_actor = svc.actor(unit_user.id)
    assert monitor is not None and unit_actor is not None
    store = AlertStore(url)
    now = wall_now()
    alerts = [make_alert(n, {"topic": TOPICS[n % len(TOPICS)]}, now - timedelta(seconds=600 * n)) for n in range(120)]
    with store.begin() as conn:
        for a in alerts:
            store.insert_in(conn, a)
    own = []
    for i in range(cases):
        pending = i < clients
        unit = units[i % len(units)]
        c = svc.create_case(
            monitor,
            NewCase(
                title=f"压测案件 {i}：{TOPICS[i % len(TOPICS)]}",
                summary="河水发黑发臭，群众反映强烈。" * 8 if i % 3 == 0 else "小区物业收费不透明，业主多次反映。" * 6,
                source="12345",
                case_type="投诉",
                topic=TOPICS[i % len(TOPICS)],
                alert_id=alerts[i].id if clients <= i < clients + 40 else None,
                unit_id=None if pending else units[0].id if i % 3 == 0 else unit.id,
                co_unit_ids=[] if pending or i % 4 else [units[(i + 1) % len(units)].id],
            ),
        )
        if pending:
            own.append((c.id, c.version))
        elif i % 3 == 0:  # the unit accepts and commits (承诺事项): the list shows them
            c = svc.act(unit_actor, c.id, CaseAction(action="accept", version=c.version))
            for k in range(2):
                svc.add_commitment(
                    unit_actor, c.id, NewCommitment(version=c.version, content=f"第{k + 1}项整改：清理河道淤泥", due_workdays=5 + k)
                )
                c = svc.get_case(SYSTEM, c.id)
    from web.saved_searches import SavedSearches

    SavedSearches(db.engine)  # the table the first 检索 makes: made here, the run measures the steady state
    out = {
        "monitor": svc.issue_token(SYSTEM, mon.id),
        "unit": svc.issue_token(SYSTEM, unit_user.id),
        "unit_id": units[0].id,
        "own": own,
    }
    db.close()
    return out


TOWNS = ("彭泽县/龙城镇", "彭泽县/马垱镇", "彭泽县/芙蓉墩镇", "彭泽县/太泊湖开发区", None)
SOURCES = ("fz12345", "board-jiujiang", "weibo-pengze")


def seed_store(directory: str, n: int) -> str:
    """The post store the workbench reads: ``n`` real posts (the labelled set, cycled) through the
    real classifier, published over the last 7 days from several sources and towns. An embedded
    SQLite store in ``directory``; returns its URL."""
    from bench._common import real_posts
    from processors.classify import Classifier
    from yuqing.events import PostCollected, Source
    from yuqing.store import open_store
    from yuqing.timeutil import now

    rows = real_posts(min_chars=0, limit=min(n, 3000))
    ref = now()
    raw = [
        PostCollected(
            id=f"bench:{i}",
            title=rows[i % len(rows)]["title"],
            content=rows[i % len(rows)]["content"],
            published_at=ref - timedelta(minutes=(i * 7 * 24 * 60) // max(1, n)),
            source=Source(id=SOURCES[i % len(SOURCES)], kind="board", name=SOURCES[i % len(SOURCES)]),
        )
        for i in range(n)
    ]
    posts = [p.model_copy(update={"region": TOWNS[i % len(TOWNS)]}) for i, p in enumerate(Classifier().classify_many(raw))]
    url = f"sqlite:///{directory}/posts.db"
    store = open_store(url)
    for k in range(0, len(posts), 500):
        store.write(posts[k : k + 500])
    store.close()
    return url


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    url: str, store: str, workers: int, threads: int | None = None, source: Path | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """uvicorn on a free port, serving this tree's app, or with ``source`` the app of that source
    tree (another version of yuqing, e.g. ``git archive main``) through this tree's ``serve``."""
    port = free_port()
    args = [url, store, str(port), str(workers), *([str(threads)] if threads else [])]
    if source is None:
        proc = subprocess.Popen([sys.executable, "-m", "bench.web.serve", *args], cwd=ROOT)
    else:
        # uvicorn's workers import the app by name: this serve module under a name of its own,
        # first on the path, then the other tree (whose bench.web.serve may take other arguments).
        shim = Path(tempfile.mkdtemp(prefix="bench-web-serve-"))
        atexit.register(shutil.rmtree, shim, True)
        (shim / "bench_web_serve.py").write_text((Path(__file__).with_name("serve.py")).read_text(encoding="utf-8"), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(shim), str(source), *os.environ.get("PYTHONPATH", "").split(os.pathsep)])}
        env["YUQING_BENCH_WEB_MODULE"] = "bench_web_serve"
        proc = subprocess.Popen([sys.executable, "-m", "bench_web_serve", *args], cwd=source, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                time.sleep(1.0 if workers > 1 else 0)  # the other workers finish starting
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the web server did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=30)


def sign_in(base: str, username: str, password: str) -> dict[str, str]:
    """A real sign-in through the form (CSRF token from the page); returns the session cookie."""
    with httpx.Client(base_url=base, timeout=30) as http:
        page = http.get("/login")
        found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
        assert found, "no CSRF token on /login"
        r = http.post("/login", data={"username": username, "password": password, "next": "/cases", "csrf_token": found.group(1)})
        assert r.status_code == 303 and r.headers["location"] == "/cases", f"sign-in failed: {r.status_code}"
        return dict(http.cookies)


async def run(ep: Endpoint, world: World, seconds: float, clients: int) -> tuple[list[float], int, float, float]:
    """Latencies, errors, seconds taken and the CPU seconds this process (the load generator) used."""
    latencies: list[float] = []
    errors = 0
    sessions = [httpx.AsyncClient(base_url=world.base, timeout=60, cookies=world.cookie) for _ in range(clients)]
    stop_at = time.monotonic() + seconds  # after making the clients: each builds an SSL context
    try:

        async def client(i: int) -> None:
            nonlocal errors
            http = sessions[i]
            while time.monotonic() < stop_at and len(latencies) < MAX_REQUESTS:
                t0 = time.perf_counter()
                try:
                    r = await ep.call(http, world, i)
                except httpx.TransportError as exc:  # the server dropped the connection: an error, not the end of the run
                    r = httpx.Response(599, text=f"{type(exc).__name__}: {exc}")
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    errors += 1
                    if errors <= 3:
                        print(f"  {ep.name}: HTTP {r.status_code} {r.text[:160]!r}", flush=True)

        started, cpu0 = time.monotonic(), time.process_time()
        await asyncio.gather(*(client(i) for i in range(clients)))
        elapsed, cpu = time.monotonic() - started, time.process_time() - cpu0
    finally:
        for s in sessions:
            await s.aclose()
    return latencies, errors, elapsed, cpu


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pids(root: int) -> list[int]:
    """The server process and its uvicorn workers."""
    pids = [root]
    for task in Path(f"/proc/{root}/task").glob("*/children"):
        pids += [int(p) for p in task.read_text().split()]
    return pids


def backend_pids(url: str) -> list[int]:
    """PostgreSQL's processes serving the benchmark's database (same machine: their CPU is readable)."""
    import psycopg

    from tests.fixtures.postgres import POSTGRES_ADMIN_URL, _dsn

    with psycopg.connect(_dsn(POSTGRES_ADMIN_URL), autocommit=True) as conn:
        rows = conn.execute("select pid from pg_stat_activity where datname = %s", (url.rsplit("/", 1)[1],)).fetchall()
    return [int(r[0]) for r in rows]


def cpu_of(pids: list[int]) -> dict[int, float]:
    return {p: _cpu(p) for p in pids}


def cpu_since(before: dict[int, float]) -> float:
    """CPU seconds used since ``before`` by those processes that are still there."""
    return sum(max(0.0, _cpu(p) - t) for p, t in before.items())


def summary(latencies: list[float], elapsed: float, errors: int) -> dict[str, float]:
    lat = sorted(latencies)
    return {
        "rps": len(lat) / elapsed if elapsed else 0.0,
        "p50_ms": statistics.median(lat) * 1000 if lat else 0.0,
        "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else 0.0,
        "requests": len(lat),
        "errors": errors,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (default 2: one per core)")
    ap.add_argument(
        "--threads",
        type=int,
        default=10,
        help="threads per worker for sync endpoints (default 10; anyio's own 40 ran the shared PostgreSQL out of connections)",
    )
    ap.add_argument("--seconds", type=float, default=6.0, help="per endpoint per round")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--cases", type=int, default=300)
    ap.add_argument("--posts", type=int, default=2000, help="posts in the store the workbench reads")
    ap.add_argument("--only", default="", help="comma-separated endpoint names (healthz always runs)")
    ap.add_argument("--quick", action="store_true", help="one round of 3 s per endpoint, 1000 posts")
    ap.add_argument(
        "--against",
        type=Path,
        default=None,
        help="a source tree of another version (e.g. `git archive main | tar -x -C DIR`): measured in the same run, interleaved",
    )
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.rounds, args.posts = 3.0, 1, 1000
    only = {n for n in args.only.split(",") if n}
    unknown = only - {e.name for e in ENDPOINTS}
    if unknown:
        ap.error(f"unknown endpoint(s) {', '.join(sorted(unknown))}; there are: {', '.join(e.name for e in ENDPOINTS)}")
    chosen = [e for e in ENDPOINTS if not only or e.name in only or e.name == "healthz"]
    sys.path.insert(0, str(ROOT))
    from tests.fixtures.postgres import create_database, drop_database

    print(
        f"web app on PostgreSQL: uvicorn, {args.workers} worker(s), {args.threads} threads each; {args.clients} concurrent clients; "
        f"{args.seconds:.0f} s per endpoint x {args.rounds} round(s); {args.cases} cases, 120 alerts, {args.posts} posts; "
        f"event loop {'uvloop' if importlib.util.find_spec('uvloop') else 'asyncio'}, HTTP parser "
        f"{'httptools' if importlib.util.find_spec('httptools') else 'h11'}; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    url = create_database(prefix="yuqing_bench_web")
    tmp = tempfile.TemporaryDirectory(prefix="bench-web-")
    procs: dict[str, subprocess.Popen[bytes]] = {}
    versions = ["this", *(["base"] if args.against else [])]
    got: dict[tuple[str, str], tuple[list[float], int, float]] = {(v, e.name): ([], 0, 0.0) for v in versions for e in chosen}
    # web, PostgreSQL, the load generator (this process): CPU s
    cpu: dict[tuple[str, str], list[float]] = {(v, e.name): [0.0, 0.0, 0.0] for v in versions for e in chosen}
    try:
        seeded = seed(url, args.cases, args.clients)
        store = seed_store(tmp.name, args.posts)
        cookies: dict[str, dict[str, str]] = {}
        for rnd in range(args.rounds):
            # One server at a time (two would hold twice the connections: PostgreSQL's 100 are shared
            # with the tests), each round in the other order, so a busy spell falls on both alike.
            for v in versions if rnd % 2 == 0 else versions[::-1]:
                procs[v], base = start_server(url, store, args.workers, args.threads, args.against if v == "base" else None)
                cookies[v] = cookies.get(v) or sign_in(base, "jiance", "bench-password")
                # one list of (case, version) for both: the update flips the same cases whichever serves it
                world = World(base, seeded["monitor"], seeded["unit"], seeded["unit_id"], cookies[v], seeded["own"])
                for ep in chosen:
                    asyncio.run(run(ep, world, 1.0, args.clients))  # warm-up: connections, caches
                    web0, pg0 = cpu_of(server_pids(procs[v].pid)), cpu_of(backend_pids(url))
                    lat, err, took, own = asyncio.run(run(ep, world, args.seconds, args.clients))
                    cpu[v, ep.name][0] += cpu_since(web0)
                    cpu[v, ep.name][2] += own
                    cpu[v, ep.name][1] += cpu_since(pg0)  # backends opened (or closed) during the run are not counted
                    a, e, t = got[v, ep.name]
                    got[v, ep.name] = (a + lat, e + err, t + took)
                stop(procs.pop(v))
    finally:
        for proc in procs.values():
            stop(proc)
        drop_database(url)
        tmp.cleanup()
    values: dict[str, float | int] = {}
    for v in versions:
        res = {name: summary(lat, took, err) for (version, name), (lat, err, took) in got.items() if version == v}
        for name, r in res.items():
            n = max(1, int(r["requests"]))
            r["web_cpu_ms"], r["pg_cpu_ms"], r["client_cpu_ms"] = (t * 1000 / n for t in cpu[v, name])
        print(f"\n{'this tree' if v == 'this' else f'the tree at {args.against}'}:")
        table(chosen, res)
        prefix = "" if v == "this" else "base_"
        if v == "this":
            for name, key in (("list", "pg_list"), ("update", "pg_update"), ("home", "home"), ("search", "search")):
                if name in res:
                    values[f"{key}_p99_ms"] = round(res[name]["p99_ms"], 1)
                    values[f"{key}_rps"] = round(res[name]["rps"], 1)
            for name in ("list_page", "alerts", "case_search"):
                if name in res:
                    values[f"{name}_p99_ms"] = round(res[name]["p99_ms"], 1)
                    values[f"{name}_rps"] = round(res[name]["rps"], 1)
        for name, key in (("list", "pg_list"), ("update", "pg_update"), ("home", "home"), ("search", "search"), ("healthz", "healthz")):
            if name in res:
                values[f"{prefix}{key}_cpu_ms"] = round(res[name]["web_cpu_ms"] + res[name]["pg_cpu_ms"], 2)
                if v != "this":
                    values[f"{prefix}{key}_p99_ms"] = round(res[name]["p99_ms"], 1)
                    values[f"{prefix}{key}_rps"] = round(res[name]["rps"], 1)
        if v == "this":
            values["healthz_rps"] = round(res["healthz"]["rps"], 1)
            values["healthz_p99_ms"] = round(res["healthz"]["p99_ms"], 1)
            values["client_cpu_ms"] = round(
                sum(cpu[v, e.name][2] for e in chosen) * 1000 / max(1, sum(len(got[v, e.name][0]) for e in chosen)), 2
            )
    print(
        "(CPU per request: what the uvicorn processes and this database's PostgreSQL backends used, from /proc;"
        " unlike latency it hardly depends on what else the machine runs. The client column is this load generator,"
        " which shares the machine's cores with the server)"
    )
    values["load1"] = round(os.getloadavg()[0], 1)
    values["workers"] = args.workers
    values["threads"] = args.threads
    values["errors"] = sum(e for _, e, _ in got.values())
    print()
    print(result_line(**values))


def table(chosen: list[Endpoint], res: dict[str, dict[str, float]]) -> None:
    base_rps = res["healthz"]["rps"] or 1.0
    print(
        f"{'endpoint':<38} {'req/s':>8} {'of healthz':>10} {'p50 ms':>8} {'p99 ms':>8} {'requests':>9} {'errors':>7}"
        f" {'web CPU ms/req':>15} {'PG CPU ms/req':>14} {'client CPU ms/req':>18}"
    )
    for ep in chosen:
        r = res[ep.name]
        print(
            f"{ep.label:<38} {r['rps']:8.1f} {r['rps'] / base_rps:10.0%} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f}"
            f" {int(r['requests']):9d} {int(r['errors']):7d} {r['web_cpu_ms']:15.2f} {r['pg_cpu_ms']:14.2f} {r['client_cpu_ms']:18.2f}"
        )


if __name__ == "__main__":
    main()

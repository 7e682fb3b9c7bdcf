"""Ledger fixtures: one migrated database per backend (SQLite file, PostgreSQL database) with units
and a user of every role, shared by the session; each test starts from an empty ledger.

``env`` is parametrised over both backends, so every test that uses it runs on SQLite and on
PostgreSQL. Web requests go to the real ASGI app in-process (``Client``); tests about concurrency
and the browser run a real uvicorn server (``live_server``).
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from sqlalchemy import delete

from ledger.config import LedgerConfig
from ledger.db import Database
from ledger.schemas import CaseAction, CommitmentAction, NewCase, NewCommitment
from ledger.security import LoginLimiter
from ledger.service import LedgerService
from ledger.states import SYSTEM, Actor, Role
from ledger.tables import ApiToken, Attachment, AuditEntry, Case, CaseCoUnit, Commitment, LoginFailure, Meta, OutboxMessage, Reminder
from web import create_app
from yuqing.timeutil import now

PASSWORD = "correct-horse-42"
BASE = "http://ledger.test"
CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')
ROLES = ("unit", "other_unit", "monitor", "leader", "admin")


class Client:
    """A synchronous HTTP client for the ASGI app, in-process (httpx over ASGITransport), with its own cookies."""

    def __init__(self, portal: BlockingPortal, app: Any, *, token: str | None = None) -> None:
        self.portal = portal
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("127.0.0.9", 50000)), base_url=BASE, headers=headers)
        self.csrf = ""

    def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        r = self.portal.call(partial(self._c.request, method, url, **kw))
        m = CSRF_RE.search(r.text) if r.headers.get("content-type", "").startswith("text/html") else None
        if m:
            self.csrf = m.group(1)
        return r

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("POST", url, **kw)

    def form(self, url: str, data: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
        """POST a form with the session's CSRF token, as the browser does."""
        if not self.csrf:
            self.get("/login")
        return self.post(url, data={"csrf_token": self.csrf, **(data or {})}, **kw)

    def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        self.get("/login")
        r = self.form("/login", {"username": username, "password": password, "next": "/cases"})
        if r.status_code == 303:
            self.get("/cases")  # the session's new CSRF token
        return r

    def close(self) -> None:
        self.portal.call(self._c.aclose)


@dataclass
class World:
    units: dict[str, int]
    actors: dict[str, Actor]  # role name -> actor
    tokens: dict[str, str] = field(default_factory=dict)


@dataclass
class Env:
    backend: str
    url: str
    db: Database
    svc: LedgerService
    world: World
    app: Any
    portal: BlockingPortal
    clients: dict[str, Client] = field(default_factory=dict)

    def client(self, role: str | None = None, *, token: bool = False) -> Client:
        """A client signed in as ``role`` (cached per role); anonymous for None; ``token``: API bearer instead of a session."""
        if role is None:
            return Client(self.portal, self.app)
        if token:
            return Client(self.portal, self.app, token=self.world.tokens[role])
        if role not in self.clients:
            c = Client(self.portal, self.app)
            assert c.login(self.world.actors[role].username).status_code == 303
            self.clients[role] = c
        return self.clients[role]

    # -- building cases in a given state, through the service ----------------------------------
    def case(
        self, state: str = "pending", *, unit: str = "unit", title: str = "梅峰河段黑臭水体", commitments: bool = True, **fields: Any
    ) -> Case:
        svc, a = self.svc, self.world.actors
        mon, u = a["monitor"], a[unit]
        new = NewCase(
            title=title, summary=fields.pop("summary", "河水发黑发臭"), source="12345", case_type=fields.pop("case_type", "投诉"), **fields
        )
        c = svc.create_case(mon, new)
        order = ["pending", "assigned", "in_progress", "committed", "responded", "fulfilling", "fulfilled", "disclosed", "closed"]
        target = order.index(state)
        if target >= 1:
            c = svc.act(mon, c.id, CaseAction(action="assign", version=c.version, unit_id=u.unit_id))
        if target >= 2:
            c = svc.act(u, c.id, CaseAction(action="accept", version=c.version))
        if target >= 3 and commitments:
            svc.add_commitment(u, c.id, NewCommitment(version=c.version, content="10 个工作日内完成清淤", due_workdays=10))
            c = svc.get_case(mon, c.id)
        if target >= 4:
            c = svc.act(u, c.id, CaseAction(action="respond", version=c.version, response="已安排清淤"))
        if target >= 5:
            c = svc.act(u, c.id, CaseAction(action="track", version=c.version))
        if target >= 6:
            m = c.commitments[0]
            svc.act_on_commitment(u, m.id, CommitmentAction(action="fulfil", version=m.version, fulfilment="已完成清淤，水质达标"))
            c = svc.get_case(mon, c.id)
        if target >= 7:
            m = c.commitments[0]
            svc.act_on_commitment(
                mon,
                m.id,
                CommitmentAction(
                    action="disclose", version=m.version, disclosure_channel="县政府网站", disclosure_url="https://www.pengze.gov.cn/x"
                ),
            )
            c = svc.get_case(mon, c.id)
        if target >= 8:
            c = svc.act(mon, c.id, CaseAction(action="close", version=c.version))
        return c


def make_world(svc: LedgerService) -> World:
    units = {name: svc.create_unit(SYSTEM, name).id for name in ("县生态环境局", "县人力资源和社会保障局", "县政府办")}
    spec = {
        "unit": ("sthj", Role.UNIT, units["县生态环境局"]),
        "other_unit": ("rsj", Role.UNIT, units["县人力资源和社会保障局"]),
        "monitor": ("jiance", Role.MONITOR, None),
        "leader": ("lingdao", Role.LEADER, None),
        "admin": ("admin", Role.ADMIN, None),
    }
    actors = {}
    for role, (username, r, unit_id) in spec.items():
        user = svc.create_user(SYSTEM, username, PASSWORD, r, unit_id=unit_id, display_name=username)
        actors[role] = svc.actor(user.id)
    world = World(units=units, actors=actors)  # type: ignore[arg-type]
    world.tokens = {role: svc.issue_token(SYSTEM, a.user_id, f"{role} token") for role, a in actors.items()}
    return world


CASE_TABLES = (Reminder, Attachment, AuditEntry, OutboxMessage, CaseCoUnit, Commitment, Case, LoginFailure)


def reset(env: Env) -> None:
    with env.db.write() as s:
        for table in CASE_TABLES:
            s.execute(delete(table))
        s.execute(delete(Meta).where(Meta.key.like("case_seq:%")))
        s.execute(delete(ApiToken).where(ApiToken.name.like("matrix%")))
    env.svc.accounts.actor_cache.clear()  # tokens deleted behind the service's back
    env.svc.clock = now
    env.svc.bus = None
    env.svc.config = env.config  # type: ignore[attr-defined]
    env.app.state.limiter = LoginLimiter(env.db, env.svc.config.login_max_failures, env.svc.config.login_window_seconds)
    env.app.state.store = None
    env.app.state.briefings = None
    job = getattr(env.app.state, "scheme_backfill", None)
    if job is not None:  # an earlier test's background backfill must not work on this test's store
        job.stop()
        env.app.state.scheme_backfill = None


@pytest.fixture(scope="session")
def portal() -> Iterator[BlockingPortal]:
    with start_blocking_portal() as p:
        yield p


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger_env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, portal: BlockingPortal) -> Iterator[Env]:
    own_database = None
    if request.param == "postgres":
        # a database of its own: other tests' rows in the session's ``postgres_url`` (their units,
        # users) must not meet this world's, whatever order the tests run in
        from tests.fixtures.postgres import create_database

        url = own_database = create_database(prefix="yuqing_ledger")
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('ledger')}/ledger.db"
    db = Database(url)
    db.migrate()
    config = LedgerConfig(base_url=BASE, max_upload_bytes=64 * 1024)
    svc = LedgerService(db, config)
    world = make_world(svc)
    app = create_app(svc, secret_key="test-secret")
    env = Env(request.param, url, db, svc, world, app, portal)
    env.config = config  # type: ignore[attr-defined]
    yield env
    for c in env.clients.values():
        c.close()
    db.close()
    if own_database is not None:
        from tests.fixtures.postgres import drop_database

        drop_database(own_database)


@pytest.fixture
def env(ledger_env: Env) -> Env:
    reset(ledger_env)
    return ledger_env


# -- a real server, for concurrency and the browser ---------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_server(env: Env) -> Iterator[str]:
    from web.serve import serve_in_thread

    stop = threading.Event()
    cfg = env.svc.config.model_copy(update={"port": free_port()})
    server, thread = serve_in_thread(env.app, cfg, stop)
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{cfg.port}"
    stop.set()
    thread.join(timeout=10)


def at(text: str) -> datetime:
    from yuqing.timeutil import parse_datetime

    dt = parse_datetime(text)
    assert dt is not None
    return dt


def clock(value: datetime) -> Callable[[], datetime]:
    return lambda: value


ROOT = Path(__file__).resolve().parents[2]

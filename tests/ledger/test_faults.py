"""The ledger under backend faults: the bus away (events wait in the outbox and catch up, the
user's change stands) and PostgreSQL away under load (clear 503s, nothing half-applied)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func, select

from ledger.config import LedgerConfig
from ledger.db import Database
from ledger.events import TOPIC
from ledger.schemas import CaseAction, NewCase
from ledger.service import LedgerService
from ledger.tables import AuditEntry, OutboxMessage
from tests.fixtures.postgres import create_database, drop_database
from tests.fixtures.proxy import tcp_proxy
from tests.fixtures.tansu import _free_port, bus_options, start_tansu
from tests.ledger.conftest import Env, free_port, make_world
from web import create_app
from yuqing.bus import open_bus


def _pending(env: Env) -> int:
    with env.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.published_at.is_(None))) or 0)


@pytest.mark.kafka
@pytest.mark.slow
def test_the_outbox_waits_while_the_bus_is_down_and_catches_up(env: Env) -> None:
    port = _free_port()
    mon, unit = env.world.actors["monitor"], env.world.actors["unit"]
    with start_tansu(port=port) as url:
        bus = open_bus(url, **bus_options(url))
        env.svc.bus = bus
        case = env.svc.create_case(mon, NewCase(title="县城污水管网破损", summary="污水外溢", source="12345", case_type="投诉"))
        assert _pending(env) == 0  # published at once
    # The broker is gone (and, being memory-backed, comes back empty).
    t0 = time.monotonic()
    case = env.svc.act(mon, case.id, CaseAction(action="assign", version=case.version, unit_id=unit.unit_id))
    t1 = time.monotonic()
    case = env.svc.act(unit, case.id, CaseAction(action="accept", version=case.version))
    case = env.svc.act(mon, case.id, CaseAction(action="supervise", version=case.version, note="请加快处理"))
    # One slow answer (the first publish finds the broker gone), then no waiting on the bus.
    assert time.monotonic() - t0 < 30
    assert time.monotonic() - t1 < 2, "after the first failure, changes do not wait for the bus"
    assert case.status == "in_progress" and case.version == 4  # every change stands
    waiting = _pending(env)
    assert waiting == 3
    with start_tansu(port=port):
        deadline = time.monotonic() + 60
        sent = 0
        while sent < waiting and time.monotonic() < deadline:
            try:
                sent += env.svc.flush_pending()  # the scheduled job's call
            except Exception:
                time.sleep(0.5)
        assert sent == waiting and _pending(env) == 0
        consumer = bus.consumer(TOPIC, f"check-{uuid.uuid4().hex[:6]}")
        got: list[str] = []
        deadline = time.monotonic() + 30
        while len(got) < waiting and time.monotonic() < deadline:
            got += [m.value.decode("utf-8") for m in consumer.poll(100, 0.5)]
        consumer.close()
        types = [__import__("json").loads(v)["type"] for v in got]
        assert types == ["case.assigned", "case.accepted", "case.supervised"]
        bus.close()


@pytest.fixture
def pg_behind_proxy() -> Iterator[tuple[str, object]]:
    url = create_database(prefix="yuqing_faults")
    with tcp_proxy("127.0.0.1", 5432) as proxy:
        yield url.replace("127.0.0.1:5432", proxy.address), proxy
    drop_database(url)


@pytest.mark.postgres
@pytest.mark.slow
def test_postgres_away_under_load_gives_503_and_nothing_half_applied(pg_behind_proxy: tuple[str, object]) -> None:
    from web.serve import serve_in_thread

    url, proxy = pg_behind_proxy
    db = Database(url)
    db.migrate()
    cfg = LedgerConfig(base_url="http://127.0.0.1", port=free_port())
    svc = LedgerService(db, cfg)
    world = make_world(svc)
    mon, unit = world.actors["monitor"], world.actors["unit"]
    case = svc.create_case(mon, NewCase(title="某小区电梯频繁故障", summary="电梯困人", source="12345", case_type="投诉"))
    case = svc.act(mon, case.id, CaseAction(action="assign", version=case.version, unit_id=unit.unit_id))
    start_version = case.version
    stop = threading.Event()
    server, thread = serve_in_thread(create_app(svc, secret_key="k"), cfg, stop)
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    statuses: list[int] = []
    bodies: list[dict] = []
    headers = {"Authorization": f"Bearer {world.tokens['monitor']}"}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{cfg.port}", headers=headers, timeout=30) as web:

            def supervise() -> None:
                r = web.get(f"/api/v1/cases/{case.id}")
                if r.status_code != 200:
                    statuses.append(r.status_code)
                    bodies.append(r.json())
                    return
                r = web.post(
                    f"/api/v1/cases/{case.id}/actions", json={"action": "supervise", "version": r.json()["version"], "note": "督办"}
                )
                statuses.append(r.status_code)
                if r.status_code != 200:
                    bodies.append(r.json())

            for _ in range(15):
                supervise()
            proxy.down()  # type: ignore[attr-defined]
            for _ in range(5):
                supervise()
                time.sleep(0.2)
            proxy.up()  # type: ignore[attr-defined]
            deadline = time.monotonic() + 30
            ok_after = 0
            while ok_after < 10 and time.monotonic() < deadline:
                before = len(statuses)
                supervise()
                ok_after += statuses[before] == 200
    finally:
        stop.set()
        thread.join(10)
    assert set(statuses) <= {200, 503}, statuses  # never a 500
    assert 503 in statuses and ok_after == 10
    for b in bodies:
        assert b["error"] == "DatabaseUnavailable" and "数据库暂时无法连接" in b["detail"]
    final = svc.get_case(mon, case.id)
    with db.read() as s:
        audited = int(
            s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.case_id == case.id, AuditEntry.action == "supervise"))
            or 0
        )
    # Every accepted change is there once, and the version counts exactly the changes applied.
    assert audited >= statuses.count(200)
    assert final.version == start_version + audited
    db.close()

"""The cheaper reads of issue 9 (web app speed) give the same answers: the case list's total rides
with its page (and a page past the end still knows the total), actors come from one query and
still lose access at once, the alert list shows the cases opened for its alerts, and a pooled
PostgreSQL connection the server dropped while it sat idle is replaced before anyone uses it."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

import ledger.db
from ledger.db import Database
from ledger.schemas import NewCase
from ledger.service import LedgerService
from ledger.states import SYSTEM
from tests.fixtures.postgres import POSTGRES_ADMIN_URL, _dsn
from tests.ledger.conftest import Env
from tests.ledger.test_alert_link import make_alert


def test_the_total_comes_with_the_page_and_past_the_end(env: Env) -> None:
    mon, unit = env.world.actors["monitor"], env.world.actors["unit"]
    for i in range(5):
        env.case("assigned" if i % 2 else "pending", title=f"第{i}件")
    page = env.svc.list_cases(mon, limit=2)
    assert (page.total, [c.title for c in page.items]) == (5, ["第4件", "第3件"])
    assert env.svc.list_cases(mon, limit=2, offset=4).total == 5  # a short last page
    past = env.svc.list_cases(mon, limit=2, offset=10)
    assert (past.total, past.items) == (5, [])
    assert env.svc.list_cases(mon, status="assigned", limit=1).total == 2
    assert env.svc.list_cases(unit, limit=50).total == 2  # the unit sees its own only
    nothing = env.svc.list_cases(mon, text="没有这样的标题")
    assert (nothing.total, nothing.items) == (0, [])
    body = env.client("monitor", token=True).get("/api/v1/cases?limit=2&offset=10").json()
    assert (body["total"], body["items"]) == (5, [])


def test_actors_from_one_query_still_lose_access_at_once(env: Env) -> None:
    # a user of its own: pausing a user ends their sessions, and the shared clients' must live on
    shared = env.world.actors["unit"]
    user = env.svc.create_user(SYSTEM, "lean-unit", "harbour-lamp-73", "unit", unit_id=shared.unit_id, display_name="lean-unit")
    unit = env.svc.actor_for_session(env.svc.start_session(user.id))
    assert unit is not None and unit.unit_id == shared.unit_id and unit.username == "lean-unit"
    token = env.svc.issue_token(SYSTEM, unit.user_id, "lean")
    session = env.svc.start_session(unit.user_id)
    assert env.svc.actor_for_token(token) == unit
    assert env.svc.actor_for_session(session) == unit
    assert env.svc.actor_for_token("yql_not-a-token") is None and env.svc.actor_for_session("not-a-session") is None
    env.svc.set_user_active(SYSTEM, unit.user_id, False)
    try:
        assert env.svc.actor_for_token(token) is None and env.svc.actor_for_session(session) is None
    finally:
        env.svc.set_user_active(SYSTEM, unit.user_id, True)
    assert env.svc.actor_for_token(token) == unit  # the token was not revoked, only the user paused
    revoked = next(t for t in env.svc.list_tokens(SYSTEM) if t.name == "lean")
    env.svc.revoke_token(SYSTEM, revoked.id)
    assert env.svc.actor_for_token(token) is None


def test_the_alert_list_links_the_cases_opened_for_its_alerts(env: Env) -> None:
    from datetime import timedelta

    from alerts.store import AlertStore
    from yuqing.timeutil import now

    store = env.app.state.alerts = AlertStore(env.url)
    try:
        ts = now()
        with_case, without = make_alert(9001, {"topic": "工资拖欠"}, ts), make_alert(9002, {"topic": "工资拖欠"}, ts - timedelta(seconds=1))
        with store.begin() as conn:
            store.insert_in(conn, with_case)
            store.insert_in(conn, without)
        mon = env.world.actors["monitor"]
        case = env.svc.create_case(mon, NewCase(title="某工地拖欠工资", source="12345", case_type="投诉", alert_id=with_case.id))
        assert env.svc.case_numbers_for_alerts(mon, [with_case.id, without.id]) == [(case.id, case.number, with_case.id)]
        assert env.svc.case_numbers_for_alerts(env.world.actors["unit"], [with_case.id]) == []  # not assigned to it
        page = env.client("monitor").get("/alerts").text
        row = page.split(f'data-alert="{with_case.id}"', 1)[1].split("</tr>", 1)[0]
        assert f'<a href="/cases/{case.id}">{case.number}</a>' in row
        other = page.split(f'data-alert="{without.id}"', 1)[1].split("</tr>", 1)[0]
        assert "/cases/" not in other
    finally:
        with store.begin() as conn:
            conn.execute(text("delete from alert_alerts where fingerprint in ('matrix-9001', 'matrix-9002')"))
        env.app.state.alerts = None


@pytest.mark.postgres
def test_an_idle_connection_the_server_dropped_is_replaced_before_use(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    db = Database(postgres_url)
    db.migrate()  # as the session's other tests left it, or anew when run alone
    svc = LedgerService(db)
    try:

        def backend() -> int:
            with db.read() as s:
                return int(s.execute(text("select pg_backend_pid()")).scalar_one())

        def drop(pid: int) -> None:
            with psycopg.connect(_dsn(POSTGRES_ADMIN_URL), autocommit=True) as admin:
                admin.execute("select pg_terminate_backend(%s)", (pid,))

        pid = backend()
        drop(pid)
        monkeypatch.setattr(ledger.db, "PING_AFTER_IDLE", 0.0)  # the pooled connection counts as idle
        pid2 = backend()  # pinged at checkout, found dead, replaced: the caller saw nothing
        assert pid2 != pid
        # The control: a connection in use a moment ago is not pinged, so that one request fails
        # (the web app answers 503), and the pool is renewed for the next.
        monkeypatch.setattr(ledger.db, "PING_AFTER_IDLE", 3600.0)
        drop(pid2)
        with pytest.raises(DBAPIError) as failed:
            backend()
        assert failed.value.connection_invalidated
        assert backend() not in (pid, pid2)
        assert svc.actor_for_token("yql_no-such-token") is None
    finally:
        db.close()

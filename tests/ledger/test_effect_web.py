"""The 回应效果 section on the case page: a responded case whose event's posts are in the store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.alerts.conftest import make_post
from tests.ledger.conftest import Env, at, clock
from yuqing.store.sqlite import SqliteStore

T = at("2026-11-10T12:00:00+08:00")  # the unit replies at this time


def _store(tmp_path: Path, before: int, after: int, event_id: str = "ev-effect") -> SqliteStore:
    store = SqliteStore(f"sqlite:///{tmp_path}/store.db")
    posts = [make_post(f"梅峰河黑臭 {i}", at=T - timedelta(hours=2 + i), event_id=event_id, post_id=f"wz:b{i}") for i in range(before)]
    posts += [
        make_post(f"梅峰河又臭了 {i}", at=T + timedelta(hours=1 + i), event_id=event_id, post_id=f"wz:a{i}", source="weibo")
        for i in range(after)
    ]
    store.write(posts)
    return store


def _responded(env: Env, event_id: str = "ev-effect") -> int:
    env.svc.clock = clock(T)
    c = env.case("responded", event_id=event_id)
    assert c.responded_at == T
    return c.id


def test_case_page_shows_the_verdict_and_its_figures(env: Env, tmp_path: Path) -> None:
    case_id = _responded(env)
    env.app.state.store = _store(tmp_path, before=2, after=4)
    env.svc.clock = clock(T + timedelta(days=4))
    page = env.client("monitor").get(f"/cases/{case_id}").text
    assert 'data-verdict="升温"' in page
    assert 'class="before-posts">2<' in page and 'class="after-posts">4<' in page
    assert "新来源 1 个（weibo）" in page
    assert "达到回应前 2 条的 1.5 倍" in page
    assert "<th>回应前 72 小时</th><th>回应后 72 小时</th>" in page


def test_too_early_before_the_window_has_passed(env: Env, tmp_path: Path) -> None:
    case_id = _responded(env)
    env.app.state.store = _store(tmp_path, before=4, after=0)
    env.svc.clock = clock(T + timedelta(hours=10))
    page = env.client("leader").get(f"/cases/{case_id}").text
    assert 'data-verdict="尚早"' in page and "至 2026-11-13 12:00 可判断" in page
    env.svc.clock = clock(T + timedelta(hours=72))
    assert 'data-verdict="平息"' in env.client("leader").get(f"/cases/{case_id}").text


def test_no_data_when_the_event_has_no_posts(env: Env, tmp_path: Path) -> None:
    case_id = _responded(env, event_id="ev-empty")
    env.app.state.store = _store(tmp_path, before=3, after=0)  # posts of another event
    env.svc.clock = clock(T + timedelta(days=4))
    page = env.client("monitor").get(f"/cases/{case_id}").text
    assert 'data-verdict="无数据"' in page and "事件暂无帖子" in page


def test_no_section_for_units_and_a_note_before_the_reply(env: Env, tmp_path: Path) -> None:
    env.app.state.store = _store(tmp_path, before=3, after=3)
    env.svc.clock = clock(T)
    c = env.case("in_progress", event_id="ev-effect")
    page = env.client("monitor").get(f"/cases/{c.id}").text
    assert "尚未回复或公开" in page and "data-verdict" not in page
    case_id = _responded(env, event_id="ev-other")
    assert "回应效果" not in env.client("unit").get(f"/cases/{case_id}").text


def test_alert_page_shows_the_effect_of_the_events_case(env: Env, tmp_path: Path) -> None:
    from alerts.store import AlertStore
    from tests.ledger.test_alert_link import clear_alerts, make_alert

    clear_alerts(env.url)
    case_id = _responded(env)
    env.app.state.store = _store(tmp_path, before=6, after=1)
    store = env.app.state.alerts = AlertStore(env.url)
    alert = make_alert(1, {"event_id": "ev-effect", "topic": "环境污染和生态破坏"}, T)
    with store.begin() as conn:
        store.insert_in(conn, alert)
    try:
        env.svc.clock = clock(T + timedelta(days=5))
        page = env.client("monitor").get(f"/alerts/{alert.id}").text
        assert f'id="effect-{case_id}"' in page and 'data-verdict="平息"' in page
        assert f'<a href="/cases/{case_id}">' in page
    finally:
        env.app.state.alerts = None


def test_the_ledgers_response_events_name_the_event(env: Env) -> None:
    """What the alerts' rebound rule reads from the bus topic ``ledger``."""
    from sqlalchemy import select

    from ledger.events import decode
    from ledger.tables import OutboxMessage

    _responded(env, event_id="ev-bus")
    with env.db.read() as s:
        events = [decode(m.payload.encode()) for m in s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]
    [responded] = [e for e in events if e.type == "case.responded"]
    assert (responded.event_id, responded.at) == ("ev-bus", T)
    assert all(e.event_id == "ev-bus" for e in events)

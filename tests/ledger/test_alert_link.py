"""Alerts and cases, both ways, on both databases: the real alert engine fires an alert into the
ledger's database; the ledger's alert pages show it, open exactly one case for it in one click,
acknowledge and resolve it (and the engine then stays quiet); the case links back."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select

from alerts import db as alerts_db
from alerts.events import ALERTS_TOPIC, AlertAcknowledged, AlertResolved, decode_alert_event
from alerts.model import PostRef
from alerts.store import Alert, AlertStore, new_alert_id
from ledger.events import TOPIC, decode
from ledger.schemas import NewCase
from ledger.states import SYSTEM
from ledger.tables import AuditEntry
from tests.alerts.conftest import Clock, Harness, make_harness_from, make_post
from tests.ledger.conftest import Env
from yuqing.bus.sqlite import SqliteBus
from yuqing.events import PostClassified, Source
from yuqing.store.sqlite import SqliteStore
from yuqing.timeutil import now

RULES = """
rules:
  - name: 欠薪集中
    type: frequency
    description: 同一事件一小时内多次反映
    match: {topic: 工资拖欠}
    threshold: 3
    window: 1h
    group_wait: 0s
    repeat_interval: 1h
    unit: 县人社局
"""
NOTIFIERS = [{"type": "inbox", "name": "值班室"}, {"type": "inbox", "name": "领导"}]
ROUTES = [{"notifiers": ["值班室"], "escalate_after": "30m", "escalate_to": ["领导"]}]
WENZHENG = Source(id="wzjx", kind="board", name="问政江西")


@dataclass
class Fired:
    h: Harness
    bus: SqliteBus
    alert: Alert
    posts: list[PostClassified]


def _post(title: str, minute: int, score: int, reasons: list[str], pid: str, start: Any, *, url: bool = True) -> PostClassified:
    p = make_post(
        title=title,
        at=start + timedelta(minutes=minute),
        score=score,
        level="高" if score >= 50 else "中",
        post_id=pid,
        reasons=reasons,
        url="__auto__" if url else None,
    )
    return p.model_copy(update={"source": WENZHENG})


def clear_alerts(url: str) -> None:
    engine = alerts_db.get_engine(url)
    with alerts_db.begin(engine) as conn:
        for table in reversed(alerts_db.metadata.sorted_tables):
            conn.execute(delete(table))


@pytest.fixture
def fired(env: Env, tmp_path: Path) -> Iterator[Fired]:
    """The real engine, on the ledger's database and an embedded bus, after three posts about one
    wage-arrears event: one firing alert, notified once. Its clock is the wall clock minus 10
    minutes, so acknowledgements (stamped with the wall clock) land where the engine expects them."""
    from alerts.config import AlertsConfig
    from app.settings import BusConfig, DatabaseConfig, Settings

    clear_alerts(env.url)
    bus = SqliteBus(f"sqlite:///{tmp_path}/bus.db")
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    settings = Settings(
        bus=BusConfig(url=bus.url),
        database=DatabaseConfig(url=env.url),
        state_url=f"sqlite:///{tmp_path}/state.db",
        alerts=AlertsConfig.model_validate({"rules": str(rules), "notifiers": NOTIFIERS, "routes": ROUTES, "group_wait": "0s"}),
    )
    start = now().replace(second=0, microsecond=0) - timedelta(minutes=30)
    clock = Clock(start)
    h = make_harness_from(settings, clock, bus)
    posts = [
        _post("龙城镇某工地拖欠农民工工资", 0, 45, ["欠薪"], "wzjx:101", start),
        _post("农民工讨薪无果求助", 10, 62, ["欠薪", "群体诉求"], "wzjx:102", start),
        _post("工地老板失联 工资三个月未发", 20, 55, ["失联"], "wzjx:103", start, url=False),
    ]
    store = SqliteStore(f"sqlite:///{tmp_path}/store.db")
    store.write(posts)
    for p in posts:
        h.at(p.published_at)
        h.feed(p)
    [alert] = h.alerts()
    assert alert.status == "firing" and len(h.deliveries()) == 1
    env.app.state.alerts = h.svc.store
    env.app.state.store = store
    try:
        yield Fired(h, bus, alert, posts)
    finally:
        env.app.state.alerts = None
        h.close()
        bus.close()
        alerts_db.dispose(env.url)


def _fmt(at: datetime | None) -> str:
    assert at is not None
    return f"{at:%Y-%m-%d %H:%M}"


def test_the_alert_pages_show_the_alert(env: Env, fired: Fired) -> None:
    a = fired.alert
    listing = env.client("leader").get("/alerts")  # open alerts by default
    assert listing.status_code == 200 and f'<a href="/alerts/{a.id}">农民工讨薪无果求助</a>' in listing.text
    assert "告警中" in listing.text
    assert f"/alerts/{a.id}" not in env.client("leader").get("/alerts?status=resolved").text
    page = env.client("leader").get(f"/alerts/{a.id}")
    assert page.status_code == 200
    text = page.text
    for fragment in (
        "【高】农民工讨薪无果求助",
        '<span class="badge a-firing" id="alert-status">告警中</span>',
        "<dt>规则</dt><dd>欠薪集中（频次）</dd><dt>条件</dt><dd>1 小时内 3 条（阈值 3 条）</dd>",
        "<dt>主题</dt><dd>工资拖欠</dd><dt>地区</dt><dd>彭泽县/龙城镇</dd>",
        "<dt>责任单位</dt><dd>县人社局</dd>",
        '<a href="/events/ev-1">ev-1</a>',
        "共 3 条（负面 3 条）",
        f"<dt>首次出现</dt><dd>{_fmt(a.first_seen)}</dd><dt>最近出现</dt><dd>{_fmt(a.last_seen)}</dd>",
        "<b>风险依据：</b>欠薪；群体诉求；失联",
        '<a href="https://wz.example.cn/post/102" rel="noopener noreferrer">农民工讨薪无果求助</a>',
        '<a href="https://wz.example.cn/post/101" rel="noopener noreferrer">龙城镇某工地拖欠农民工工资</a>',
        "工地老板失联 工资三个月未发",
        "尚未立案",
        "<td>首次</td><td>值班室</td>",
    ):
        assert fragment in text, fragment
    # the delivery's times (aware datetimes from notify.store), in Shanghai time: queued and sent
    # when the third post fired the alert (no group wait, the inbox answers at once)
    fired_at = _fmt(fired.posts[-1].published_at)
    assert f"<tr><td>{fired_at}</td><td>首次</td><td>值班室</td>\n<td>已发送（{fired_at}）</td><td>1</td></tr>" in text
    # riskiest first
    assert text.index("农民工讨薪无果求助</a>") < text.index("工地老板失联") < text.index("龙城镇某工地拖欠农民工工资</a>")
    # a leader reads, but neither acknowledges nor opens cases
    assert 'action="/alerts/' not in text
    assert env.client("monitor").get("/alerts/" + a.id[:6]).status_code == 404  # one address per alert, no prefixes
    assert env.client("monitor").get("/alerts/al-000000000000").status_code == 404


def test_one_click_opens_exactly_one_case_and_they_link_both_ways(env: Env, fired: Fired) -> None:
    a = fired.alert
    env.svc.bus = fired.bus
    mon = env.client("monitor")
    page = mon.get(f"/alerts/{a.id}").text
    assert f'action="/alerts/{a.id}/case"' in page and f'action="/alerts/{a.id}/ack"' in page
    r = mon.form(f"/alerts/{a.id}/case")
    assert r.status_code == 303
    [case] = env.svc.list_cases(SYSTEM).items
    assert r.headers["location"] == f"/cases/{case.id}"
    assert (
        case.alert_id,
        case.event_id,
        case.title,
        case.source,
        case.source_ref,
        case.case_type,
        case.topic,
        case.risk_level,
        case.region,
        case.post_ids,
        case.post_urls,
        case.petitioner,
        case.status,
    ) == (
        a.id,
        "ev-1",
        "农民工讨薪无果求助",
        "问政江西",
        "102",
        "舆情",
        "工资拖欠",
        "高",
        "彭泽县/龙城镇",
        ["wzjx:102", "wzjx:103", "wzjx:101"],
        ["https://wz.example.cn/post/102", "https://wz.example.cn/post/101"],
        "",
        "pending",
    )
    assert case.summary == (
        "预警规则「欠薪集中」：1 小时内 3 条（阈值 3 条）。\n"
        "风险依据：欠薪；群体诉求；失联。\n"
        f"帖子共 3 条（负面 3 条），首次 {_fmt(a.first_seen)}，最近 {_fmt(a.last_seen)}。\n"
        "重点帖子：农民工讨薪无果求助；工地老板失联 工资三个月未发；龙城镇某工地拖欠农民工工资。"
    )
    # audited and published like any other registration
    with env.db.read() as s:
        [audit] = s.scalars(select(AuditEntry).where(AuditEntry.case_id == case.id)).all()
    assert (audit.event, audit.actor_name, audit.from_status, audit.to_status) == ("case.created", "jiance", None, "pending")
    consumer = fired.bus.consumer(TOPIC, "test")
    [event] = [decode(m.value) for m in consumer.poll(max_records=100, timeout=1)]
    consumer.close()
    assert (event.type, event.case_id, event.case_number, event.actor) == ("case.created", case.id, case.number, "jiance")

    # the alert page now lists the case, and the button leads to it
    for role in ("monitor", "leader"):
        page = env.client(role).get(f"/alerts/{a.id}").text
        assert f'<a href="/cases/{case.id}">{case.number}</a>' in page
        assert f'action="/alerts/{a.id}/case"' not in page
    assert f'<a href="/cases/{case.id}" id="open-case">查看本预警的案件</a>' in mon.get(f"/alerts/{a.id}").text
    assert f'<a href="/cases/{case.id}">{case.number}</a>' in mon.get("/alerts").text

    # a second click (a stale page, another monitor) opens the same case instead of a duplicate
    r = env.client("admin").form(f"/alerts/{a.id}/case")
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{case.id}"
    assert f"该预警已立案：{case.number}，未重复登记" in env.client("admin").get(r.headers["location"]).text
    assert env.svc.list_cases(SYSTEM).total == 1
    # the API refuses a second case for the alert too
    r = env.client("monitor", token=True).post("/api/v1/cases", json={"title": "再登记一次", "alert_id": a.id})
    assert r.status_code == 422 and r.json()["detail"] == f"该预警已立案，编号 {case.number}"

    # the case links back to its alert and its event
    page = mon.get(f"/cases/{case.id}").text
    assert f'<dd id="case-alert"><a href="/alerts/{a.id}">{a.id}</a></dd>' in page
    assert '<dd id="case-event"><a href="/events/ev-1">ev-1</a></dd>' in page


def test_simultaneous_clicks_make_one_case(env: Env) -> None:
    """The duplicate check runs under the case-number lock: racing requests all get the one case."""
    mon = env.world.actors["monitor"]
    new = NewCase(title="拖欠工资", alert_id="al-race00000000", event_id="ev-race")
    barrier = threading.Barrier(4)

    def click() -> tuple[int, bool]:
        barrier.wait()
        case, created = env.svc.open_case(mon, new)
        return case.id, created

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: click(), range(4)))
    [case] = env.svc.list_cases(SYSTEM).items
    assert sorted(results, key=lambda r: not r[1]) == [(case.id, True)] + [(case.id, False)] * 3


def test_an_open_case_for_the_event_is_reused(env: Env, fired: Fired) -> None:
    a = fired.alert
    earlier = env.svc.create_case(env.world.actors["monitor"], NewCase(title="拖欠工资（从事件立案）", event_id="ev-1", source="12345"))
    page = env.client("monitor").get(f"/alerts/{a.id}").text
    assert f'<a href="/cases/{earlier.id}" id="open-case">该事件已立案，查看案件</a>' in page
    assert f"{earlier.number}</a>" in page and "（同一事件）" in page
    r = env.client("monitor").form(f"/alerts/{a.id}/case")
    assert r.headers["location"] == f"/cases/{earlier.id}"
    assert f"该事件已立案：{earlier.number}，未重复登记" in env.client("monitor").get(f"/cases/{earlier.id}").text
    assert env.svc.list_cases(SYSTEM).total == 1


def test_acknowledge_then_resolve_from_the_page(env: Env, fired: Fired) -> None:
    a, h = fired.alert, fired.h
    env.svc.bus = fired.bus
    mon = env.client("monitor")
    r = mon.form(f"/alerts/{a.id}/ack", {"note": "已转人社局核实"})
    assert r.status_code == 303 and r.headers["location"] == f"/alerts/{a.id}"
    acked = h.svc.store.get(a.id)
    assert (acked.status, acked.acked_by, acked.ack_note) == ("acknowledged", "jiance", "已转人社局核实")
    assert acked.acked_at is not None and abs(acked.acked_at - now()) < timedelta(seconds=60)
    page = mon.get(f"/alerts/{a.id}").text
    assert "已确认预警：不再重复通知和升级" in page and "已确认</span>" in page
    assert f"{_fmt(acked.acked_at)} 由 jiance 确认：已转人社局核实" in page
    assert f'action="/alerts/{a.id}/ack"' not in page and f'action="/alerts/{a.id}/resolve"' in page

    # The engine heeds it: more posts and two hours on, past the repeat interval and the 30-minute
    # escalation, and still only the first notification (unacknowledged, both would have gone out).
    start = fired.posts[0].published_at
    h.at(start + timedelta(minutes=40))
    h.feed(_post("讨薪农民工聚集工地门口", 40, 70, ["聚集"], "wzjx:104", start))
    h.at(start + timedelta(hours=2, minutes=30))
    assert [(d.kind, d.notifier) for d in h.deliveries()] == [("first", "值班室")]
    assert h.svc.store.get(a.id).post_count == 4

    r = mon.form(f"/alerts/{a.id}/ack")
    assert r.status_code == 409 and "预警当前状态为「已确认」，不能确认（仅限：等待中、告警中）" in r.text

    r = env.client("admin").form(f"/alerts/{a.id}/resolve", {"note": "工资已兑付"})
    assert r.status_code == 303
    done = h.svc.store.get(a.id)
    assert (done.status, done.resolved_by, done.resolve_note) == ("resolved", "admin", "工资已兑付")
    page = mon.get(f"/alerts/{a.id}").text
    assert "由 admin 解除：工资已兑付" in page and 'action="/alerts/' in page  # only 立案 is left
    assert f'action="/alerts/{a.id}/resolve"' not in page and f'action="/alerts/{a.id}/case"' in page
    assert f"/alerts/{a.id}" in mon.get("/alerts?status=resolved").text
    assert f"/alerts/{a.id}" not in mon.get("/alerts").text
    r = mon.form(f"/alerts/{a.id}/resolve")
    assert r.status_code == 409 and "预警当前状态为「已解除」，不能解除" in r.text

    # both changes went out on the bus, with who did them
    consumer = fired.bus.consumer(ALERTS_TOPIC, "test")
    events = [decode_alert_event(m.value) for m in sorted(consumer.poll(10_000, timeout=0.5), key=lambda m: (m.timestamp, m.offset))]
    consumer.close()
    lifecycle = [e for e in events if isinstance(e, AlertAcknowledged | AlertResolved)]
    assert [(type(e).__name__, e.by, e.note) for e in lifecycle] == [
        ("AlertAcknowledged", "jiance", "已转人社局核实"),
        ("AlertResolved", "admin", "工资已兑付"),
    ]


def test_who_may_see_and_do_what(env: Env, fired: Fired) -> None:
    a = fired.alert
    # a unit reads its own unit's alerts only; this one is for "县人社局" (its rule's unit), neither's
    for role in ("unit", "other_unit"):
        assert f"/alerts/{a.id}" not in env.client(role).get("/alerts").text
        r = env.client(role).get(f"/alerts/{a.id}")
        assert r.status_code == 404 and 'role="alert"' in r.text
    for action, what in (("case", "从舆情预警立案"), ("ack", "确认舆情预警"), ("resolve", "解除舆情预警")):
        for role in ("leader", "unit"):
            r = env.client(role).form(f"/alerts/{a.id}/{action}")
            assert r.status_code == 403 and f"只有舆情监测员和管理员可以{what}" in r.text
    assert env.svc.list_cases(SYSTEM).total == 0 and fired.h.svc.store.get(a.id).status == "firing"
    assert '<a href="/alerts">舆情预警</a>' in env.client("leader").get("/cases").text
    # a unit assigned the case sees neither its alert id nor its event id (internal: issue 13), nor a link
    mon = env.world.actors["monitor"]
    case, _ = env.svc.open_case(mon, NewCase(title="拖欠工资", alert_id=a.id, event_id="ev-1", unit_id=env.world.units["县生态环境局"]))
    page = env.client("unit").get(f"/cases/{case.id}").text
    assert a.id not in page and "ev-1" not in page and 'id="case-alert"' not in page


def test_unit_users_see_their_units_alerts(env: Env) -> None:
    """By the rule's unit, else by ledger.topic_units of the alert's topic (工资拖欠 -> 县人力资源和社会保障局)."""
    seeded = seed_alert(env)["alert"]
    try:
        rsj = env.client("other_unit")
        assert f'<a href="/alerts/{seeded}">' in rsj.get("/alerts").text
        page = rsj.get(f"/alerts/{seeded}")
        assert page.status_code == 200 and f'action="/alerts/{seeded}/ack"' not in page.text  # reads, does not act
        assert f"/alerts/{seeded}" not in env.client("unit").get("/alerts").text
        assert env.client("unit").get(f"/alerts/{seeded}").status_code == 404
    finally:
        env.app.state.alerts = None


def test_state_changes_without_the_csrf_token_are_refused(env: Env, fired: Fired) -> None:
    a = fired.alert
    mon = env.client("monitor")
    mon.get(f"/alerts/{a.id}")
    for action in ("case", "ack", "resolve"):
        for data in ({}, {"csrf_token": "forged"}):
            r = mon.post(f"/alerts/{a.id}/{action}", data=data)
            assert r.status_code == 403 and "安全校验失败（CSRF）" in r.text
    assert env.svc.list_cases(SYSTEM).total == 0 and fired.h.svc.store.get(a.id).status == "firing"


def test_without_the_alert_database_the_pages_say_so(env: Env) -> None:
    assert env.app.state.alerts is None
    assert "未连接预警库" in env.client("monitor").get("/alerts").text
    r = env.client("monitor").get("/alerts/al-123456789abc")
    assert r.status_code == 404 and "未连接预警库" in r.text


# -- for the authorisation matrix (tests/ledger/test_authz.py): alerts straight through the store --
_seq = itertools.count()


def make_alert(n: int, labels: dict[str, str], ts: datetime) -> Alert:
    return Alert(
        id=new_alert_id(), fingerprint=f"matrix-{n}", rule="矩阵", rule_type="any", status="firing", severity="高",
        labels=labels, title=f"矩阵预警{n}", metric="1 条", reasons=["欠薪"],
        post_count=1, negative_count=1, created_at=ts, fired_at=ts, first_seen=ts, last_seen=ts, last_hit_at=ts, notify_at=ts,
        notifications=1, first_notified_at=ts, last_notified_at=ts, notified_post_count=1, notified_severity="高", suppressed=None,
        notifiers=["inbox"], escalations=[], escalation_level=0, group_wait=timedelta(0), repeat_interval=timedelta(hours=1), clears_itself=False,
        next_action_at=ts + timedelta(hours=1),
    )  # fmt: skip


def seed_alert(env: Env) -> dict[str, Any]:
    """A firing alert with one post, written through AlertStore as the engine writes it (cheap enough
    for one per matrix cell); its event is its own, so opening a case from it never collides."""
    store = env.app.state.alerts = AlertStore(env.url)
    n = next(_seq)
    ts = now()
    alert = make_alert(n, {"event_id": f"ev-matrix-{n}", "topic": "工资拖欠"}, ts)
    post = PostRef(
        f"matrix:{n}", ts.timestamp(), f"矩阵帖子{n}", None, 60, "高", True, ("欠薪",), "工资拖欠", None, "matrix", f"ev-matrix-{n}"
    )
    with store.begin() as conn:
        store.insert_in(conn, alert)
        store.attach_in(conn, alert.id, [post], ts)
    return {"alert": alert.id}


def test_an_alert_per_topic_claims_no_event_or_region() -> None:
    """Grouped by topic, an alert spans events and places: its riskiest post's must not become the case's."""
    from ledger.config import LedgerConfig
    from web.alert_intake import case_from_alert

    top = _post("某工地拖欠工资", 0, 60, ["欠薪"], "wzjx:9", now())
    alert = make_alert(9, {"topic": "工资拖欠"}, top.published_at)
    row = {"post_id": top.id, "title": top.title, "url": top.url}
    new = case_from_alert(alert, [row], LedgerConfig(), top=top)
    assert (new.event_id, new.region, new.topic, new.source, new.source_ref, new.alert_id) == (
        None,
        "",
        "工资拖欠",
        "问政江西",
        "9",
        alert.id,
    )

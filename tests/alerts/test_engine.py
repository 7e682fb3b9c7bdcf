"""Hygiene and lifecycle on the real engine, database and embedded bus, with an explicit clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from alerts.events import AlertAcknowledged, AlertEscalated, AlertFired, AlertResolved
from alerts.store import LifecycleError
from tests.alerts.conftest import T0, Harness, Receiver, make_post

FREQ = """
rules:
  - name: 欠薪集中
    type: frequency
    match: {topic: 工资拖欠}
    threshold: 3
    window: 1h
    group_wait: 30s
    repeat_interval: 1h
"""

NEW = """
rules:
  - name: 新事件
    type: new_event
    risk_level: 中
    group_wait: 0s
"""

H = Callable[..., Harness]


def surge(h: Harness, n: int, *, start_min: float = 0, every_min: float = 5, event: str = "ev-1", **kw: object) -> None:
    """Feed n posts of one event, one every `every_min` minutes, the clock following them."""
    for i in range(n):
        when = T0 + timedelta(minutes=start_min + i * every_min)
        h.at(when)
        h.feed(make_post(at=when, event_id=event, **kw))  # type: ignore[arg-type]


def test_group_wait_collects_then_one_notification(harness: H) -> None:
    h = harness(FREQ)
    surge(h, 3, every_min=0.1)  # three posts within 12 seconds
    assert h.deliveries() == []  # still in the 30 s group wait
    [alert] = h.alerts()
    assert alert.status == "pending"
    h.feed(make_post(at=h.clock.now))  # a fourth joins the group during the wait
    h.at(T0 + timedelta(seconds=41))  # the wait began with the third post, at 12 s
    assert h.deliveries() == []
    h.at(T0 + timedelta(seconds=43))
    [d] = h.deliveries()
    assert d.kind == "first" and d.status == "sent" and d.key == f"{alert.id}:1"
    assert d.notification["data"]["post_count"] == 4
    assert h.alerts()[0].status == "firing"


def test_repeat_interval_only_with_new_posts(harness: H) -> None:
    h = harness(FREQ)
    surge(h, 3, every_min=1)
    h.later(seconds=30)
    assert len(h.deliveries()) == 1
    h.later(hours=2)  # no new posts: no repeat
    assert len(h.deliveries()) == 1
    h.feed(make_post(at=h.clock.now))
    h.feed(make_post(at=h.clock.now))
    h.feed(make_post(at=h.clock.now))
    h.later(seconds=1)  # more than an hour since the first notification: repeat now
    assert [d.kind for d in h.deliveries()] == ["first", "repeat"]
    h.feed(make_post(at=h.clock.now))
    h.later(minutes=59)
    assert len(h.deliveries()) == 2  # within the repeat interval
    h.later(minutes=2)
    assert [d.kind for d in h.deliveries()] == ["first", "repeat", "repeat"]
    assert len({d.notification["data"]["alert_id"] for d in h.deliveries()}) == 1


def test_silence_holds_until_it_ends(harness: H) -> None:
    h = harness(NEW)
    h.at(T0)
    h.svc.store.add_silence({"topic": "工资拖欠", "region": "/^彭泽县/"}, T0, T0 + timedelta(hours=1), "张三", "处置中")
    h.feed(make_post(at=T0))
    h.feed(make_post(at=T0, topic="安全生产", event_id="ev-2"))  # not matched by the silence
    a1, a2 = sorted(h.alerts(), key=lambda a: a.labels["event_id"])
    assert a1.suppressed and a1.suppressed.startswith("silenced:")
    assert [d.alert_id for d in h.deliveries()] == [a2.id]
    h.later(minutes=59)
    assert len(h.deliveries()) == 1
    h.later(minutes=2)
    assert sorted(d.alert_id for d in h.deliveries()) == sorted([a1.id, a2.id])


def test_config_silence_and_expiry(harness: H) -> None:
    h = harness(NEW, silences=[{"matchers": {"rule": "新事件"}, "ends": (T0 + timedelta(days=1)).isoformat(), "comment": "维护"}])
    h.at(T0)
    h.feed(make_post(at=T0))
    assert h.deliveries() == []
    [s] = h.svc.store.list_silences(now=T0)
    assert h.svc.store.expire_silence(s.id, h.clock.now)
    h.later(seconds=1)
    assert len(h.deliveries()) == 1


def test_quiet_hours_hold_all_but_major(harness: H) -> None:
    h = harness(NEW, quiet_hours={"enabled": True, "start": "22:00", "end": "07:00"})
    night = T0.replace(hour=23)
    h.at(night)
    h.feed(make_post(at=night, level="高", score=60))
    h.feed(make_post(at=night, level="重大", score=90, event_id="ev-2"))
    assert [d.notification["severity"] for d in h.deliveries()] == ["重大"]
    assert next(a for a in h.alerts() if a.labels["event_id"] == "ev-1").suppressed == "quiet_hours"
    h.at(night.replace(hour=6, minute=59) + timedelta(days=1))
    assert len(h.deliveries()) == 1
    h.at(night.replace(hour=7, minute=0) + timedelta(days=1))
    assert [d.notification["severity"] for d in h.deliveries()] == ["重大", "高"]


def test_major_alert_inhibits_lower_ones_for_the_same_event(harness: H) -> None:
    inhibited = """
rules:
  - name: 重大新事件
    type: new_event
    risk_level: 重大
    group_wait: 0s
  - name: 关键词
    type: any
    match: {keywords: 讨薪}
    severity: 中
    group_wait: 0s
"""
    h2 = harness(inhibited)  # 关键词 alerts are 中; the 重大 new-event alert of ev-9 silences ev-9's
    h2.at(T0 + timedelta(days=1))
    h2.feed(make_post(at=h2.clock.now, level="重大", score=90, content="讨薪", event_id="ev-9"))
    h2.feed(make_post(at=h2.clock.now, level="中", score=40, content="讨薪", event_id="ev-10"))
    new = [a for a in h2.alerts() if a.created_at >= h2.clock.now]
    by_rule = {(a.rule, a.labels["event_id"]): a for a in new}
    assert by_rule[("关键词", "ev-9")].suppressed == f"inhibited:{by_rule[('重大新事件', 'ev-9')].id}"
    sent = {d.alert_id for d in h2.deliveries() if d.created_at >= h2.clock.now}
    assert sent == {by_rule[("重大新事件", "ev-9")].id, by_rule[("关键词", "ev-10")].id}
    # Resolving the 重大 alert lifts the inhibition.
    h2.svc.store.resolve(by_rule[("重大新事件", "ev-9")].id, "李四", now=h2.clock.now)
    h2.later(minutes=2)
    assert by_rule[("关键词", "ev-9")].id in {d.alert_id for d in h2.deliveries()}


def test_severity_upgrade_notifies_at_once(harness: H) -> None:
    h = harness(FREQ)
    surge(h, 3, every_min=1)
    h.later(seconds=30)
    h.later(minutes=1)
    h.feed(make_post(at=h.clock.now, level="重大", score=95))
    h.later(seconds=1)
    assert [d.kind for d in h.deliveries()] == ["first", "upgrade"]
    assert h.deliveries()[1].notification["title"].startswith("【风险升级】【重大】")


def test_lifecycle_ack_resolve_and_bus_events(harness: H) -> None:
    h = harness(FREQ)
    surge(h, 3, every_min=1)
    h.later(seconds=30)
    [alert] = h.alerts()
    with pytest.raises(LifecycleError, match="needs the name"):
        h.svc.store.acknowledge(alert.id, " ")
    acked = h.svc.store.acknowledge(alert.id[:8], "王五", "已联系人社局", now=h.clock.now)
    assert (acked.status, acked.acked_by, acked.acked_at, acked.ack_note) == (
        "acknowledged",
        "王五",
        h.clock.now,
        "已联系人社局",
    )
    with pytest.raises(LifecycleError, match="only a firing alert"):
        h.svc.store.acknowledge(alert.id, "王五")
    for _ in range(5):
        h.feed(make_post(at=h.clock.now))
    h.later(hours=2)
    assert len(h.deliveries()) == 1  # acknowledged: no repeats
    h.svc.store.resolve(alert.id, "王五", "已兑付", now=h.clock.now)
    with pytest.raises(LifecycleError, match="already 已解除"):
        h.svc.store.resolve(alert.id, "王五")
    surge(h, 3, start_min=200, every_min=1)  # the same thing again: a new alert
    h.later(seconds=30)
    first, second = h.alerts()
    assert first.id == alert.id and first.status == "resolved" and second.status == "firing" and second.id != alert.id
    h.svc.engine.publish_events()
    events = h.bus_events()
    assert [type(e) for e in events] == [AlertFired, AlertAcknowledged, AlertResolved, AlertFired]
    fired = events[0]
    assert isinstance(fired, AlertFired)
    assert (fired.alert_id, fired.rule, fired.rule_type, fired.severity, fired.post_count) == (alert.id, "欠薪集中", "frequency", "中", 3)
    assert fired.labels == {"event_id": "ev-1", "topic": "工资拖欠", "region": "彭泽县/龙城镇", "source": "wenzheng"}
    assert fired.url == f"http://127.0.0.1:8600/alerts/{alert.id}" and len(fired.posts) == 3 and fired.suppressed is None
    assert events[1].by == "王五" and events[2].note == "已兑付"  # type: ignore[union-attr]


def test_escalation_when_not_acknowledged(harness: H, receiver: Receiver) -> None:
    routes = [{"notifiers": ["inbox"], "escalate_after": "30m", "escalate_to": ["leader"]}]
    notifiers = [{"type": "inbox", "name": "inbox"}, {"type": "webhook", "name": "leader", "url": receiver.url + "/leader"}]
    h = harness(NEW, routes=routes, notifiers=notifiers)
    h.at(T0)
    h.feed(make_post(at=T0))
    h.feed(make_post(at=T0, event_id="ev-2"))
    a1, a2 = sorted(h.alerts(), key=lambda a: a.labels["event_id"])
    h.svc.store.acknowledge(a2.id, "值班员", now=T0)
    h.later(minutes=29)
    assert receiver.requests == []
    h.later(minutes=2)
    [req] = receiver.requests
    body = req.json()
    assert body["key"] == f"{a1.id}:e1" and body["title"].startswith("【未确认·已升级】") and "该预警发出 30 分钟 仍未确认" in body["text"]
    h.later(hours=3)
    assert len(receiver.requests) == 1  # one escalation step, once
    h.svc.engine.publish_events()
    esc = [e for e in h.bus_events() if isinstance(e, AlertEscalated)]
    assert [(e.alert_id, e.level, e.notifiers) for e in esc] == [(a1.id, 1, ["leader"])]


def test_routing_by_topic_region_unit(harness: H) -> None:
    notifiers = [{"type": "inbox", "name": n} for n in ("renshe", "pengze", "default", "major")]
    routes = [
        {"match": {"severity": "重大"}, "notifiers": ["major"], "continue": True},
        {"match": {"unit": "县人社局"}, "notifiers": ["renshe"]},
        {"match": {"topic": ["安全生产"], "region": "彭泽县/龙城镇"}, "notifiers": ["pengze"]},
        {"notifiers": ["default"]},
    ]
    rules = """
rules:
  - {name: 欠薪, type: any, match: {topic: 工资拖欠}, unit: 县人社局, group_wait: 0s}
  - {name: 其他, type: any, match: {topic: [安全生产, 其他]}, group_wait: 0s}
"""
    h = harness(rules, routes=routes, notifiers=notifiers)
    h.at(T0)
    h.feed(make_post(at=T0, event_id="a"))
    h.feed(make_post(at=T0, topic="安全生产", event_id="b"))
    h.feed(make_post(at=T0, topic="安全生产", region="彭泽县/太白镇", event_id="c"))
    h.feed(make_post(at=T0, topic="其他", level="重大", score=95, event_id="d"))
    got = {d.notification["data"]["labels"]["event_id"]: set() for d in h.deliveries()}
    for d in h.deliveries():
        got[d.notification["data"]["labels"]["event_id"]].add(d.notifier)
    assert got == {"a": {"renshe"}, "b": {"pengze"}, "c": {"default"}, "d": {"major", "default"}}


def test_auto_resolve_after_inactivity(harness: H) -> None:
    h = harness(NEW, auto_resolve_after="6h")
    h.at(T0)
    h.feed(make_post(at=T0))
    h.later(hours=5, minutes=59)
    assert h.alerts()[0].status == "firing"
    h.later(minutes=2)
    [a] = h.alerts()
    assert (a.status, a.resolved_by, a.resolve_note) == ("resolved", "system", "6 小时内无新帖，自动解除")


def test_flatline_alert_clears_itself(harness: H) -> None:
    rules = "rules:\n  - {name: 来源中断, type: flatline, window: 2h, keys: [hotline], group_wait: 0s, severity: 中}\n"
    h = harness(rules)
    h.at(T0)
    h.later(hours=2, minutes=1)
    [a] = h.alerts()
    assert a.status == "firing" and a.labels == {"source": "hotline"} and a.metric == "最近2 小时内 0 条（少于 1 条），此前未收到任何帖子"
    assert len(h.deliveries()) == 1
    h.later(hours=30)  # silent for a long time: no auto-resolve, no repeat (no new posts)
    assert h.alerts()[0].status == "firing" and len(h.deliveries()) == 1
    h.feed(make_post(at=h.clock.now, source="hotline"))
    h.later(seconds=1)
    [a] = h.alerts()
    assert (a.status, a.resolved_by) == ("resolved", "system") and a.resolve_note.startswith("已恢复")


def test_old_posts_are_ignored_by_the_live_engine(harness: H) -> None:
    h = harness(NEW, max_post_age="1d")
    h.at(T0)
    h.feed(make_post(at=T0 - timedelta(days=2)))
    assert h.alerts() == [] and h.svc.engine.stats["too_old"] == 1


def test_escalation_held_by_quiet_hours_goes_out_when_they_end(harness: H, receiver: Receiver) -> None:
    routes = [{"notifiers": ["inbox"], "escalate_after": "30m", "escalate_to": ["leader"]}]
    notifiers = [{"type": "inbox", "name": "inbox"}, {"type": "webhook", "name": "leader", "url": receiver.url}]
    h = harness(NEW, routes=routes, notifiers=notifiers, quiet_hours={"enabled": True, "start": "22:00", "end": "07:00"})
    evening = T0.replace(hour=21, minute=45)
    h.at(evening)
    h.feed(make_post(at=evening))
    assert len(h.deliveries()) == 1
    h.at(evening + timedelta(minutes=31))  # 22:16: escalation due, but quiet hours
    assert receiver.requests == []
    [a] = h.alerts()
    assert a.next_action_at is not None and a.next_action_at > h.clock.now  # not re-judged at every commit
    h.at(evening.replace(hour=7, minute=0) + timedelta(days=1))
    assert len(receiver.requests) == 1 and receiver.requests[0].json()["key"] == f"{a.id}:e1"


def test_the_store_hands_out_aware_datetimes_and_keeps_epoch_seconds(harness: H) -> None:
    """One time type at the boundary: what the store returns is aware datetimes (and timedeltas),
    what the table holds stays epoch seconds, and the two agree."""
    from sqlalchemy import select

    from alerts import db

    h = harness(NEW.replace("    group_wait: 0s\n", ""), group_wait="30s", repeat_interval="2h")
    h.at(T0)
    first = make_post(at=T0 - timedelta(minutes=3))
    h.feed(first)
    h.later(seconds=31)
    [a] = h.alerts()
    stamps = {n: getattr(a, n) for n in ("created_at", "fired_at", "first_seen", "last_seen", "last_hit_at", "notify_at")}
    assert all(v is not None and v.utcoffset() == timedelta(hours=8) for v in stamps.values())
    assert (a.created_at, a.notify_at, a.fired_at, a.first_seen) == (
        T0,
        T0 + timedelta(seconds=30),
        T0 + timedelta(seconds=31),
        first.published_at,
    )
    assert (a.group_wait, a.repeat_interval) == (timedelta(seconds=30), timedelta(hours=2))
    with h.svc.store.engine.connect() as conn:
        row = conn.execute(select(db.alerts).where(db.alerts.c.id == a.id)).mappings().one()
    assert isinstance(row["created_at"], float) and row["created_at"] == T0.timestamp() and row["group_wait"] == 30.0
    [p] = h.svc.store.top_posts(a.id)
    assert p["published_at"] == first.published_at and "published_ts" not in p
    assert h.svc.store.find(since=T0) == [a] and h.svc.store.find(since=T0 + timedelta(seconds=1)) == []
    s = h.svc.store.add_silence({"rule": "新事件"}, T0, T0 + timedelta(hours=1), "张三")
    [listed] = h.svc.store.list_silences(now=T0)
    assert listed == s and listed.ends_at == T0 + timedelta(hours=1) and listed.active(T0 + timedelta(minutes=59))
    assert h.svc.store.list_silences(now=T0 + timedelta(hours=1)) == []
    from datetime import UTC

    acked = h.svc.store.acknowledge(a.id, "王五", now=(T0 + timedelta(minutes=1)).astimezone(UTC))
    assert acked.acked_at == T0 + timedelta(minutes=1) and acked.acked_at.utcoffset() == timedelta(hours=8)
    h.svc.engine.publish_events()
    [ack] = [e for e in h.bus_events() if isinstance(e, AlertAcknowledged)]
    assert ack.at.isoformat() == (T0 + timedelta(minutes=1)).isoformat()  # said in +08:00, as before

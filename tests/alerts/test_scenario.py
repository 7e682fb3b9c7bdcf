"""Real posts through the real classifier and the embedded bus, with a planted wage-arrears surge.

Background: 200 real citizens' messages (tests/alerts/data/background_posts.jsonl, a slice of
shared/data/wenzheng_posts.jsonl, 30 of them about unpaid wages, each its own case), spread over
three days. Planted: 21 messages about one real case (planted_surge.jsonl: the real post
tipdm2020c_fj3:194331 re-sent by different workers), one every 30 minutes from day 2, 09:00.
The clock is driven in 5-minute steps; no sleeps.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from alerts.events import AlertFired
from alerts.stage import GROUP
from processors.classify import Classifier
from tests.alerts.conftest import Harness
from yuqing.bus import OutMessage
from yuqing.events import POSTS_CLASSIFIED, PostClassified, PostCollected, Source, decode
from yuqing.timeutil import TZ
from yuqing.worker import Stage

DATA = Path(__file__).with_name("data")
D0 = datetime(2026, 3, 2, 0, 0, tzinfo=TZ)
SURGE_START = D0 + timedelta(days=1, hours=9)

RULES = """
rules:
  - name: 欠薪事件集中反映
    type: frequency
    match:
      topic: 工资拖欠
      keywords: 工资 欠薪 工钱 血汗钱 劳务费
    group_by: [event_id]
    threshold: 5
    window: 3h
    group_wait: 5m
    repeat_interval: 4h
"""


def load(name: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines()]


def classified() -> tuple[list[PostClassified], set[str]]:
    background = load("background_posts.jsonl")
    planted = load("planted_surge.jsonl")
    step = timedelta(days=3) / len(background)
    raw = [
        PostCollected(
            id=f"bg:{r['id']}",
            title=r["title"],
            content=r["content"],
            published_at=D0 + step * i,
            source=Source(id=r["source"], kind="replay", name=r["source"]),
        )
        for i, r in enumerate(background)
    ]
    raw += [
        PostCollected(
            id=r["id"],
            title=r["title"],
            content=r["content"],
            published_at=SURGE_START + timedelta(minutes=30 * i),
            source=Source(id="wenzheng", kind="replay", name="问政"),
        )
        for i, r in enumerate(planted)
    ]
    raw.sort(key=lambda p: p.published_at)
    posts = Classifier().classify_many(raw)
    return posts, {p.id for p in posts if p.id.startswith("planted:")}


def test_one_grouped_alert_per_event_per_repeat_interval(harness: Callable[..., Harness]) -> None:
    posts, planted = classified()
    surge_events = {p.event_id for p in posts if p.id in planted}
    assert len(surge_events) == 1, "the classifier should see the planted posts as one event"
    background_wage = [p for p in posts if p.id not in planted and p.topic == "工资拖欠"]
    assert len(background_wage) >= 15 and max(Counter(p.event_id for p in background_wage).values()) < 5

    h = harness(RULES)
    stage = Stage("alerts", h.bus, POSTS_CLASSIFIED, GROUP, lambda b: decode(b, PostClassified), h.svc.engine.handle, linger=0.0)
    pending = list(posts)
    t = D0
    while t <= D0 + timedelta(days=3, hours=1):
        due = [p for p in pending if p.published_at <= t]
        pending = pending[len(due) :]
        if due:
            h.bus.publish(POSTS_CLASSIFIED, [OutMessage(p.id, p.to_bytes()) for p in due])
        h.clock.now = t
        while stage.run_once(timeout=0):
            pass
        h.at(t)
        t += timedelta(minutes=5)
    stage.close()

    [alert] = h.alerts()
    assert alert.labels["event_id"] in surge_events and alert.post_count == 21 and alert.rule == "欠薪事件集中反映"
    sent = h.deliveries()
    assert [d.kind for d in sent] == ["first", "repeat", "repeat"]
    assert [d.created_at - SURGE_START for d in sent] == [
        timedelta(hours=2, minutes=5),  # 5th post at +2 h, then the 5-minute group wait
        timedelta(hours=6, minutes=5),  # repeat interval 4 h, new posts meanwhile
        timedelta(hours=10, minutes=5),  # the last post came at +10 h
    ]
    assert {d.notification["data"]["alert_id"] for d in sent} == {alert.id}
    assert alert.status == "resolved" and alert.resolved_by == "system"  # a day without new posts
    h.svc.engine.publish_events()
    kinds = Counter(type(e).__name__ for e in h.bus_events())
    assert kinds == Counter({"AlertFired": 1, "AlertResolved": 1})
    fired = next(e for e in h.bus_events() if isinstance(e, AlertFired))
    assert fired.topic == "工资拖欠" and fired.post_count == 5  # as it stood when the group wait ended

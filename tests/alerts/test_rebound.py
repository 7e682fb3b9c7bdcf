"""The ``rebound`` rule: an event heats up again after its case was answered (constructed streams)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from alerts.model import Hit, PostRef
from alerts.rules.rebound import ReboundConfig, ReboundRule
from alerts.stage import LEDGER_GROUP, make_ledger_stage
from ledger.events import TOPIC, make_event
from tests.alerts.conftest import T0, Clock, Harness, Receiver, make_post
from yuqing.bus import OutMessage

R = T0 + timedelta(hours=6)  # the response


def rule(**kw: Any) -> ReboundRule:
    return ReboundRule(ReboundConfig(name="回应后升温", **kw))


def feed(r: ReboundRule, *hours: float, event_id: str = "ev-1") -> list[Any]:
    """Posts of one event at R + hours (negative: before the response); the hits they cause."""
    out: list[Any] = []
    for h in hours:
        p = make_post(at=R + timedelta(hours=h), event_id=event_id)
        out += r.observe(p, PostRef.of(p))
    return out


def test_fires_when_posts_after_the_response_outnumber_those_before() -> None:
    r = rule()
    assert feed(r, -5, -2) == []
    assert r.note_response("ev-1", R, 7, "YQ-2026-00007") == []
    assert feed(r, 1, 2) == []  # 2 posts: below min_count 3
    [hit] = feed(r, 3)  # 3 >= 1.5 x 2
    assert isinstance(hit, Hit)
    assert hit.group == (("event_id", "ev-1"),)
    assert hit.count == 3 and len(hit.posts) == 3
    assert hit.metric == "YQ-2026-00007 于 03-02 16:00 回应后，1 天内 3 条，回应前同等时长 2 条（阈值 1.5 倍、至少 3 条）"
    assert hit.extra_reasons == ("回应后升温：关联案件 YQ-2026-00007",)


def test_does_not_fire_when_the_event_calms() -> None:
    r = rule()
    feed(r, -6, -5, -4, -3, -2, -1)
    r.note_response("ev-1", R, 7, "YQ-2026-00007")
    assert feed(r, 1, 5, 9, 13, 17, 21, 23) == []  # 7 in the day after < 1.5 x 6


def test_does_not_fire_without_a_response_or_for_another_event() -> None:
    r = rule()
    assert feed(r, 1, 2, 3, 4, 5) == []
    r.note_response("ev-2", R, 8, "YQ-2026-00008")
    assert feed(r, 6, 7) == []


def test_counts_only_the_window_after_the_response_and_stops_after_watch() -> None:
    r = rule(window=timedelta(hours=2), watch=timedelta(days=1))
    r.note_response("ev-1", R, 7, "YQ-2026-00007")
    assert feed(r, 0.5, 3, 6, 9) == []  # never three within two hours
    assert len(feed(r, 10, 10.5)) == 1  # 9, 10, 10.5 within two hours
    assert feed(r, 30, 30.5, 31) == []  # past the watch (R + 1 day)


def test_a_response_noticed_late_is_judged_at_once() -> None:
    r = rule()
    feed(r, -1, 1, 2, 3)
    [hit] = r.note_response("ev-1", R, 7, "YQ-2026-00007")
    assert hit.count == 3  # the response itself counts from its time: 1 before, 3 after


def test_the_earliest_response_counts() -> None:
    r = rule()
    r.note_response("ev-1", R, 7, "YQ-2026-00007")
    r.note_response("ev-1", R + timedelta(days=1), 7, "YQ-2026-00007")  # a later disclosure
    assert r.response("ev-1") == {"response_at": R.timestamp(), "case_id": 7, "case_number": "YQ-2026-00007"}
    r.note_response("ev-1", R - timedelta(hours=1), 7, "YQ-2026-00007")
    assert r.response("ev-1")["response_at"] == (R - timedelta(hours=1)).timestamp()  # type: ignore[index]


def test_posts_without_an_event_are_ignored() -> None:
    r = rule()
    r.note_response("", R, 7, "YQ-2026-00007")
    p = make_post(at=R + timedelta(hours=1), event_id="")
    assert r.observe(p, PostRef.of(p)) == [] and not r.windows and not r.meta


def test_the_response_is_forgotten_after_watch_and_window() -> None:
    r = rule(window=timedelta(hours=1), watch=timedelta(hours=2))
    r.note_response("ev-1", R, 7, "YQ-2026-00007")
    r.expire(R + timedelta(hours=2, minutes=59))
    assert r.response("ev-1") is not None
    r.expire(R + timedelta(hours=3, minutes=1))
    assert r.response("ev-1") is None


RULES = """
rules:
  - name: 回应后升温
    type: rebound
    window: 1d
    min_count: 3
"""


def responded(event_id: str = "ev-1", at: datetime = R, kind: str = "case.responded") -> Any:
    return make_event(
        kind,
        case_id=7,
        case_number="YQ-2026-00007",
        action="respond",
        from_status="in_progress",
        to_status="responded",
        actor="sthj",
        actor_role="unit",
        unit="县生态环境局",
        event_id=event_id,
        at=at,
    )


def test_the_engine_learns_responses_from_ledger_events_and_keeps_them(harness: Callable[..., Harness], clock: Clock) -> None:
    h = harness(RULES)
    assert h.svc.engine.follows_ledger
    clock.now = R - timedelta(hours=3)
    h.feed(make_post(at=clock.now, event_id="ev-1"))
    clock.now = R
    h.svc.engine.handle_ledger([responded(kind="case.accepted"), responded(event_id="ev-9", kind="case.updated"), responded()])
    assert h.svc.engine.stats["responses"] == 1
    h = h.restart()  # the response is in the rule's persisted state
    for i in (1, 2, 3):
        clock.now = R + timedelta(hours=i)
        h.feed(make_post(at=clock.now, event_id="ev-1"))
    [alert] = h.alerts()
    assert alert.rule == "回应后升温" and alert.labels["event_id"] == "ev-1"
    assert "回应后升温：关联案件 YQ-2026-00007" in alert.reasons
    assert alert.post_count == 3


def test_the_stage_reads_the_ledger_topic(harness: Callable[..., Harness], clock: Clock) -> None:
    h = harness(RULES)
    h.bus.publish(TOPIC, [OutMessage("7", b"not json"), OutMessage("7", responded(kind="case.disclosed").to_bytes())])
    runtime = SimpleNamespace(bus=h.bus, settings=h.settings)
    stage = make_ledger_stage(h.svc, runtime)  # type: ignore[arg-type]
    try:
        assert stage.group == LEDGER_GROUP
        assert stage.drain(idle_polls=1, poll_timeout=0.05) == 2
    finally:
        stage.close()
    assert stage.stats.dead_lettered == 1  # the bad message, not the batch
    rebound = h.svc.engine.by_name["回应后升温"]
    assert rebound.response("ev-1")["case_number"] == "YQ-2026-00007"


def test_engines_without_rebound_rules_do_not_follow_the_ledger(harness: Callable[..., Harness]) -> None:
    h = harness("rules:\n  - {name: a, type: any}\n")
    assert not h.svc.engine.follows_ledger


def test_yuqing_run_follows_the_ledger_topic(tmp_path: Path, receiver: Receiver) -> None:
    """The stage as ``yuqing run`` starts it: posts on posts.classified, the case's reply on ledger."""
    from alerts import db
    from alerts.config import AlertsConfig
    from alerts.stage import start
    from app.settings import BusConfig, DatabaseConfig, Settings
    from yuqing.events import POSTS_CLASSIFIED
    from yuqing.runtime import Runtime
    from yuqing.timeutil import now

    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.replace("min_count: 3", "min_count: 3\n    group_wait: 0s"), encoding="utf-8")
    alerts = AlertsConfig.model_validate(
        {
            "rules": str(rules),
            "notifiers": [{"type": "webhook", "name": "hook", "url": receiver.url + "/hook"}],
            "routes": [{"notifiers": ["hook"]}],
            "linger_ms": 20,
            "tick_interval": "200ms",
        }
    )
    settings = Settings(
        bus=BusConfig(url=f"sqlite:///{tmp_path}/bus.db"),
        database=DatabaseConfig(url=f"sqlite:///{tmp_path}/alerts.db"),
        state_url=f"sqlite:///{tmp_path}/state.db",
        alerts=alerts,
    )
    runtime = Runtime(settings)
    stop = threading.Event()
    threads = start(runtime, None, stop)
    try:
        reply = now() - timedelta(hours=5)
        before = [make_post(at=reply - timedelta(hours=2), event_id="ev-run", post_id="run:0")]
        runtime.bus.publish(POSTS_CLASSIFIED, [OutMessage(p.id, p.to_bytes()) for p in before])
        runtime.bus.publish(TOPIC, [OutMessage("7", responded(event_id="ev-run", at=reply).to_bytes())])
        after = [make_post(at=reply + timedelta(hours=1 + i), event_id="ev-run", post_id=f"run:{1 + i}") for i in range(3)]
        runtime.bus.publish(POSTS_CLASSIFIED, [OutMessage(p.id, p.to_bytes()) for p in after])
        [got] = receiver.wait_for(1, timeout=30)
        body = got.json()
        assert "回应后升温" in body["title"] and "关联案件 YQ-2026-00007" in body["text"]
        assert sorted(p["id"] for p in body["data"]["posts"]) == ["run:1", "run:2", "run:3"]
    finally:
        stop.set()
        for t in threads:
            t.join(10)
        runtime.close()
        db.dispose(settings.database.url)

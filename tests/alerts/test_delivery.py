"""Retries, recording, channel isolation and secrets, on real HTTP and the real database."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import pytest

from notify.channels.inbox import Inbox
from tests.alerts.conftest import T0, Harness, Receiver, make_post

H = Callable[..., Harness]
NEW = "rules:\n  - {name: 新事件, type: new_event, risk_level: 中, group_wait: 0s}\n"


def test_retries_with_exponential_backoff_and_every_attempt_recorded(harness: H, receiver: Receiver) -> None:
    h = harness(NEW, notifiers=[{"type": "webhook", "name": "hook", "url": receiver.url}], retry={"attempts": 4, "backoff": "2s"})
    receiver.replies = [(500, b"boom"), (503, b"busy")]
    h.at(T0)
    h.feed(make_post(at=T0))
    [d] = h.deliveries()
    assert (d.status, d.attempts) == ("pending", 1)
    h.later(seconds=1.9)
    assert len(receiver.requests) == 1  # not yet: the first backoff is 2 s
    h.later(seconds=0.2)
    assert len(receiver.requests) == 2
    h.later(seconds=3.9)
    assert len(receiver.requests) == 2  # the second backoff is 4 s
    h.later(seconds=0.2)
    [d] = h.deliveries()
    assert (d.status, d.attempts, d.last_status) == ("sent", 3, "HTTP 200")
    tries = h.svc.store.attempts(d.id)
    assert [(a.attempt, a.ok, a.retryable, a.status) for a in tries] == [
        (1, False, True, "HTTP 500: boom"),
        (2, False, True, "HTTP 503: busy"),
        (3, True, True, "HTTP 200"),
    ]
    assert [round((a.at - T0).total_seconds(), 1) for a in tries] == [0.0, 2.1, 6.2]
    assert len({r.body for r in receiver.requests}) == 1  # the same notification each time


def test_gives_up_after_the_last_attempt_or_a_permanent_error(harness: H, receiver: Receiver) -> None:
    h = harness(NEW, notifiers=[{"type": "webhook", "name": "hook", "url": receiver.url}], retry={"attempts": 2, "backoff": "1s"})
    receiver.default = (500, b"down")
    h.at(T0)
    h.feed(make_post(at=T0))
    h.later(seconds=5)
    h.later(seconds=60)
    [d] = h.deliveries()
    assert (d.status, d.attempts) == ("failed", 2)
    receiver.default = (410, b"gone")
    h.feed(make_post(at=h.clock.now, event_id="ev-2"))
    d2 = h.deliveries()[1]
    assert (d2.status, d2.attempts, d2.last_status) == ("failed", 1, "HTTP 410: gone")


def test_a_hanging_channel_does_not_block_the_others(harness: H, receiver: Receiver) -> None:
    notifiers = [{"type": "webhook", "name": "slow", "url": receiver.url, "timeout": 30}, {"type": "inbox", "name": "fast"}]
    h = harness(NEW, notifiers=notifiers, routes=[{"notifiers": ["slow", "fast"]}])
    receiver.hold = threading.Event()
    stop = threading.Event()
    threads = h.svc.deliverer.start(stop, idle=0.05)
    try:
        h.at(T0)
        h.svc.engine.handle([make_post(at=T0), make_post(at=T0, event_id="ev-2")])
        inbox = Inbox(h.settings.database.url)
        for _ in range(400):
            if inbox.unread_count("fast") == 2:
                break
            threading.Event().wait(0.025)
        assert inbox.unread_count("fast") == 2  # both delivered while "slow" still hangs on the first
        assert receiver.requests == []
        receiver.hold.set()
        receiver.wait_for(2)
        assert len(receiver.requests) == 2
    finally:
        receiver.hold.set()
        stop.set()
        h.svc.deliverer.wake({"slow", "fast"})
        for t in threads:
            t.join(5)


def test_secrets_never_reach_logs_or_records(harness: H, receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = receiver.url.replace("127.0.0.1", "127.0.0.1") + "/robot/send?access_token=TOKEN-XYZ"
    h = harness(NEW, notifiers=[{"type": "dingtalk", "name": "ding", "url": url, "secret": "SEC-ABC"}], retry={"attempts": 1})
    receiver.default = (200, b'{"errcode":310000,"errmsg":"keywords not in content"}')
    h.at(T0)
    h.feed(make_post(at=T0))
    [d] = h.deliveries()
    assert d.status == "failed"
    records = " ".join(a.status for a in h.svc.store.attempts()) + caplog.text + repr(h.settings) + str(h.settings.model_dump())
    assert "TOKEN-XYZ" not in records and "SEC-ABC" not in records
    assert "errcode 310000" in records


def test_secrets_can_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from alerts.config import AlertsConfig

    monkeypatch.setenv("DING_SECRET", "from-env")
    cfg = AlertsConfig.model_validate(
        {"notifiers": [{"type": "dingtalk", "url": "http://x/robot", "secret": "${DING_SECRET}"}], "routes": [{"notifiers": ["dingtalk"]}]}
    )
    assert cfg.notifiers[0].secret.get_secret_value() == "from-env"  # type: ignore[attr-defined]
    monkeypatch.delenv("DING_SECRET")
    with pytest.raises(ValueError, match="environment variable DING_SECRET is not set"):
        AlertsConfig.model_validate(
            {"notifiers": [{"type": "dingtalk", "url": "http://x", "secret": "${DING_SECRET}"}], "routes": [{"notifiers": ["dingtalk"]}]}
        )


def test_inbox_is_idempotent_and_readable(harness: H) -> None:
    h = harness(NEW, notifiers=[{"type": "inbox", "name": "值班室"}])
    h.at(T0)
    h.feed(make_post(at=T0, title="某小区业主聚集维权"))
    inbox = Inbox(h.settings.database.url)
    [m] = inbox.messages("值班室")
    assert (
        m.title.startswith("【中】新事件：某小区业主聚集维权")
        and m.severity == "中"
        and m.url == f"http://127.0.0.1:8600/alerts/{h.alerts()[0].id}"
    )
    assert m.data["alert_id"] == h.alerts()[0].id and m.read_at is None
    from notify.base import Notification

    assert h.svc.notifiers["值班室"].send(Notification(title=m.title, text=m.text, key=m.key)).status == "already in the inbox"
    assert inbox.mark_read(m.id, "张三") and not inbox.mark_read(m.id, "张三")
    assert inbox.unread_count() == 0 and inbox.messages(unread=True) == []

"""A restart neither loses a window nor re-sends what was sent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from alerts.stage import GROUP
from tests.alerts.conftest import T0, Harness, Receiver, make_post
from yuqing.bus import OutMessage
from yuqing.events import POSTS_CLASSIFIED, PostClassified, decode
from yuqing.worker import Stage

H = Callable[..., Harness]
FREQ = "rules:\n  - {name: 欠薪集中, type: frequency, threshold: 3, window: 1h, group_wait: 0s, repeat_interval: 1h}\n"


def test_windows_survive_a_restart(harness: H) -> None:
    h = harness(FREQ)
    h.at(T0)
    h.feed(make_post(at=T0), make_post(at=T0 + timedelta(minutes=1)))
    assert h.alerts() == []
    h2 = h.restart()
    try:
        h2.at(T0 + timedelta(minutes=2))
        h2.feed(make_post(at=T0 + timedelta(minutes=2)))
        [a] = h2.alerts()
        assert a.post_count == 3 and len(h2.deliveries()) == 1
    finally:
        h2.close()


def test_redelivered_batch_after_a_restart_sends_nothing_again(harness: H) -> None:
    h = harness(FREQ)
    batch = [make_post(at=T0 + timedelta(minutes=i)) for i in range(4)]
    h.at(T0 + timedelta(minutes=4))
    h.feed(*batch)
    [alert] = h.alerts()
    [sent] = h.deliveries()
    h2 = h.restart()
    try:
        h2.at(T0 + timedelta(minutes=5))
        h2.feed(*batch)  # the bus delivers the same batch again (offsets were not committed)
        h2.later(hours=2)
        assert [a.id for a in h2.alerts()] == [alert.id] and h2.alerts()[0].post_count == 4
        assert [d.id for d in h2.deliveries()] == [sent.id]  # no repeat: nothing new arrived
    finally:
        h2.close()


def test_pending_retry_is_resumed_by_the_next_process(harness: H, receiver: Receiver) -> None:
    h = harness(
        FREQ.replace("frequency, threshold: 3", "frequency, threshold: 1"),
        notifiers=[{"type": "webhook", "name": "hook", "url": receiver.url}],
    )
    receiver.replies = [(500, b"down")]
    h.at(T0)
    h.feed(make_post(at=T0))
    assert h.deliveries()[0].status == "pending"
    h.close()
    h2 = h.restart()
    try:
        h2.later(seconds=3)
        [d] = h2.deliveries()
        assert (d.status, d.attempts) == ("sent", 2) and len(receiver.requests) == 2
    finally:
        h2.close()


def test_crash_before_commit_on_the_embedded_bus(harness: H) -> None:
    """The engine handled a batch but the process died before the bus offsets were committed."""
    h = harness(FREQ)
    posts = [make_post(at=T0 + timedelta(minutes=i)) for i in range(3)]
    h.bus.publish(POSTS_CLASSIFIED, [OutMessage(p.id, p.to_bytes()) for p in posts])
    h.at(T0 + timedelta(minutes=3))

    def stage(hh: Harness) -> Stage[PostClassified]:
        return Stage("alerts", hh.bus, POSTS_CLASSIFIED, GROUP, lambda b: decode(b, PostClassified), hh.svc.engine.handle, linger=0.01)

    s1 = stage(h)
    msgs = s1.consumer().poll(100, timeout=0.5)
    h.svc.engine.handle([decode(m.value, PostClassified) for m in msgs])  # handled ...
    s1.close()  # ... but never committed
    h.svc.deliverer.run_due()
    assert len(h.deliveries()) == 1
    h2 = h.restart()
    try:
        s2 = stage(h2)
        assert s2.drain(idle_polls=1, poll_timeout=0.2) == 3  # redelivered
        s2.close()
        h2.svc.deliverer.run_due()
        assert len(h2.alerts()) == 1 and len(h2.deliveries()) == 1
    finally:
        h2.close()

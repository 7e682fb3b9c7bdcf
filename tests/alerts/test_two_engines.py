"""Two alert engines: one active at a time (a lease in the database, fenced by its epoch), the
other a hot standby that takes over when the active one dies — no alert is lost, and none is
notified twice but the one that may be on the wire at the instant of the kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from alerts import db
from alerts.lease import Fenced, Lease
from tests.alerts.conftest import Receiver, make_post
from yuqing.bus import OutMessage, open_bus
from yuqing.events import POSTS_CLASSIFIED
from yuqing.timeutil import now

ROOT = Path(__file__).resolve().parents[2]


class FakeClock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def lease_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/alerts.db"
    else:
        from tests.fixtures.postgres import create_database, drop_database

        url = create_database(prefix="yuqing_lease")
    yield url
    db.dispose(url)
    if request.param == "postgres":
        drop_database(url)


def test_one_holder_and_the_fencing_token(lease_db: str) -> None:
    engine = db.get_engine(lease_db)
    clock = FakeClock()
    a = Lease(engine, seconds=10, clock=clock, holder="a")
    b = Lease(engine, seconds=10, clock=clock, holder="b")
    assert a.acquire() and a.epoch == 1
    assert not b.acquire() and not b.held
    clock.t += 9  # a renews in time: b still cannot take it
    a.renew()
    clock.t += 9
    assert not b.acquire()
    clock.t += 2  # a stalled past its lease: b takes over with a new epoch
    assert b.acquire() and b.epoch == 2
    # a wakes up and tries to commit: its whole transaction is refused and rolled back.
    with pytest.raises(Fenced, match="epoch 1 was taken over"), db.begin(engine) as conn:
        conn.execute(insert(db.windows).values(rule="r", key="g", state={"n": 1}))
        a.renew_in(conn)
    assert not a.held
    with engine.connect() as conn:
        assert conn.execute(select(db.windows)).all() == []
    b.renew()  # b is unaffected
    b.release()  # a clean stop hands over at once
    assert a.acquire() and a.epoch == 3


def _settings(tmp_path: Path, receiver: Receiver) -> Path:
    cfg = tmp_path / "yuqing.yaml"
    cfg.write_text(
        f"""
bus: {{url: "sqlite:///{tmp_path}/bus.db", partitions: 4}}
database: {{url: "sqlite:///{tmp_path}/ledger.db"}}
state_url: "sqlite:///{tmp_path}/state.db"
alerts:
  rules: "{tmp_path}/rules.yaml"
  tick_interval: 200ms
  lease_seconds: 5
  linger_ms: 20
  batch_size: 5
  quiet_hours: {{enabled: false}}
  notifiers: [{{type: webhook, name: hook, url: "{receiver.url}"}}]
  routes: [{{notifiers: [hook]}}]
ledger: {{enabled: false}}
""",
        encoding="utf-8",
    )
    (tmp_path / "rules.yaml").write_text(
        "rules:\n  - {name: 每个事件, type: any, group_wait: 0s, repeat_interval: 24h, match: {topic: 工资拖欠}}\n", encoding="utf-8"
    )
    return cfg


def _engine(cfg: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "YUQING_CONFIG": str(cfg), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "yuqing", "alerts", "run"], cwd=cfg.parent, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )


def _holder(url: str) -> str | None:
    engine = db.get_engine(url)
    with engine.connect() as conn:
        row = conn.execute(select(db.leases.c.holder, db.leases.c.expires_at)).one_or_none()
    return row.holder if row is not None and row.expires_at > time.time() else None


def _wait(pred, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_sigkill_the_active_engine_mid_stream_every_alert_is_notified_once(tmp_path: Path, receiver: Receiver) -> None:
    cfg = _settings(tmp_path, receiver)
    url = f"sqlite:///{tmp_path}/ledger.db"
    first = _engine(cfg, tmp_path / "first.log")
    procs = [first]
    try:
        _wait(lambda: _holder(url) is not None, 60, "the first engine to take the lease")
        second = _engine(cfg, tmp_path / "second.log")
        procs.append(second)
        # the second starts on standby (a lease of 5 s: a loaded machine does not stall the first past it)
        _wait(lambda: "on standby" in (tmp_path / "second.log").read_text(encoding="utf-8"), 60, "the second engine to stand by")
        active_pid = int(str(_holder(url)).split(":")[1])
        assert active_pid == first.pid
        # The stream starts once the second engine is on standby: on a loaded machine its start-up
        # (seconds) could otherwise outlast the 8 notifications before the kill.
        second_log = tmp_path / "second.log"
        _wait(lambda: "on standby" in second_log.read_text(encoding="utf-8"), 60, "the second engine to stand by")
        bus = open_bus(f"sqlite:///{tmp_path}/bus.db", partitions=4)
        events = [f"ev-{i:03d}" for i in range(60)]
        posts = [make_post(at=now(), event_id=e, post_id=f"wz:{e}") for e in events]

        def publish() -> None:  # a stream: one post every 50 ms, going on while the engine is killed
            for p in posts:
                bus.publish(POSTS_CLASSIFIED, [OutMessage(p.id, p.to_bytes())])
                time.sleep(0.05)

        publisher = threading.Thread(target=publish)
        publisher.start()
        receiver.wait_for(8, timeout=60)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert len(receiver.requests) < 40, "the kill came too late to be mid-stream"
        publisher.join(30)
        _wait(lambda: _holder(url) is not None and int(str(_holder(url)).split(":")[1]) == second.pid, 60, "the standby to take over")
        receiver.wait_for(60, timeout=90)
        time.sleep(2 * 0.2 + 1)  # a few more ticks: anything sent twice would arrive now
        bus.close()
        per_event = Counter(json.loads(r.body)["data"]["labels"]["event_id"] for r in receiver.requests)
        assert sorted(per_event) == events  # nothing lost
        # Nothing notified twice, but for the one notification that may have been on the wire when
        # the active engine was killed (one delivery thread per channel: at most one in flight). A
        # robot gives no way to know whether it arrived, so the standby sends it again, under the
        # same idempotency key (X-Yuqing-Delivery) for receivers that can de-duplicate.
        twice = [e for e, n in per_event.items() if n > 1]
        assert len(twice) <= 1 and max(per_event.values()) <= 2, per_event
        for e in twice:
            keys = {r.headers["X-Yuqing-Delivery"] for r in receiver.requests if json.loads(r.body)["data"]["labels"]["event_id"] == e}
            assert len(keys) == 1
        assert second.poll() is None, "the standby must keep running"
        log = (tmp_path / "second.log").read_text(encoding="utf-8")
        assert "on standby" in log and "is active now" in log
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
        db.dispose(url)

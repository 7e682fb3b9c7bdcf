"""The engine as ``yuqing run`` starts it: a consumer thread, a timer tick, one thread per channel —
on the embedded bus, on Kafka (tansu), and with the alert tables on PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alerts import db
from alerts.config import AlertsConfig
from alerts.events import ALERTS_TOPIC, AlertFired, decode_alert_event
from alerts.stage import start
from app.settings import BusConfig, DatabaseConfig, Settings
from tests.alerts.conftest import Receiver, make_post
from yuqing.bus import OutMessage
from yuqing.events import POSTS_CLASSIFIED
from yuqing.runtime import Runtime
from yuqing.timeutil import now

RULES = "rules:\n  - {name: 新事件, type: new_event, risk_level: 中, group_wait: 0s}\n"


def settings_for(tmp_path: Path, receiver: Receiver, bus_url: str, db_url: str, **bus: Any) -> Settings:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    alerts = AlertsConfig.model_validate(
        {
            "rules": str(rules),
            "notifiers": [{"type": "webhook", "name": "hook", "url": receiver.url + "/hook"}],
            "routes": [{"notifiers": ["hook"]}],
            "linger_ms": 20,
            "tick_interval": "200ms",
        }
    )
    return Settings(
        bus=BusConfig(url=bus_url, **bus), database=DatabaseConfig(url=db_url), state_url=f"sqlite:///{tmp_path}/state.db", alerts=alerts
    )


def run_and_check(settings: Settings, receiver: Receiver, group_wait_s: float = 30.0) -> None:
    runtime = Runtime(settings)
    stop = threading.Event()
    threads = start(runtime, None, stop)
    try:
        posts = [make_post(at=now(), event_id=f"ev-stage-{i}", post_id=f"stage:{i}") for i in range(3)]
        runtime.bus.publish(POSTS_CLASSIFIED, [OutMessage(p.id, p.to_bytes()) for p in posts])
        got = receiver.wait_for(3, timeout=group_wait_s)
        assert sorted(r.json()["data"]["posts"][0]["id"] for r in got) == ["stage:0", "stage:1", "stage:2"]
        assert all(r.path == "/hook" and r.json()["title"].startswith("【中】新事件：") for r in got)
        consumer = runtime.bus.consumer(ALERTS_TOPIC, "test-reader")
        events: list[Any] = []
        deadline = time.monotonic() + group_wait_s
        while len(events) < 3 and time.monotonic() < deadline:
            msgs = consumer.poll(100, timeout=1.0)
            events += [decode_alert_event(m.value) for m in msgs]
        consumer.close()
        assert sorted(e.labels["event_id"] for e in events if isinstance(e, AlertFired)) == ["ev-stage-0", "ev-stage-1", "ev-stage-2"]
    finally:
        stop.set()
        for t in threads:
            t.join(10)
        runtime.close()
        db.dispose(settings.database.url)


def test_run_on_the_embedded_bus(tmp_path: Path, receiver: Receiver) -> None:
    run_and_check(settings_for(tmp_path, receiver, f"sqlite:///{tmp_path}/bus.db", f"sqlite:///{tmp_path}/ledger.db"), receiver)


def test_disabled_alerts_start_nothing(tmp_path: Path) -> None:
    settings = Settings(alerts=AlertsConfig(enabled=False))
    assert start(Runtime(settings), None, threading.Event()) == []


@pytest.fixture
def kafka_url() -> Iterator[str]:
    from tests.fixtures.tansu import start_tansu

    with start_tansu() as url:  # fixed topic names: a broker of our own
        yield url


@pytest.mark.kafka
@pytest.mark.slow
def test_run_on_kafka(tmp_path: Path, receiver: Receiver, kafka_url: str) -> None:
    from tests.fixtures.tansu import TEST_BUS_OPTIONS

    settings = settings_for(tmp_path, receiver, kafka_url, f"sqlite:///{tmp_path}/ledger.db", **TEST_BUS_OPTIONS)  # type: ignore[arg-type]
    run_and_check(settings, receiver, group_wait_s=60)


@pytest.mark.postgres
def test_alert_tables_on_postgresql(tmp_path: Path, receiver: Receiver, postgres_url: str) -> None:
    run_and_check(settings_for(tmp_path, receiver, f"sqlite:///{tmp_path}/bus.db", postgres_url), receiver)

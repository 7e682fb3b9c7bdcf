"""Fixtures for the alert tests: a real HTTP receiver, a real SMTP server, posts, a clock."""

from __future__ import annotations

import itertools
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from yuqing.events import PostClassified, Risk, Source
from yuqing.timeutil import TZ

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=TZ)  # a Monday, 10:00 in Shanghai


@dataclass
class Received:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A threaded HTTP server on 127.0.0.1 that records every request and answers as told."""

    url: str
    requests: list[Received] = field(default_factory=list)
    replies: list[tuple[int, bytes]] = field(default_factory=list)  # consumed in order, then `default`
    default: tuple[int, bytes] = (200, b'{"errcode":0,"errmsg":"ok"}')
    hold: threading.Event | None = None  # when set, requests wait for it before answering
    got: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, n: int, timeout: float = 10.0) -> list[Received]:
        with self.got:
            self.got.wait_for(lambda: len(self.requests) >= n, timeout)
        return list(self.requests)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    import time

    rec: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            path, _, query = self.path.partition("?")
            r = Received("POST", path, query, {k: v for k, v in self.headers.items()}, body, time.time())
            if rec.hold is not None:
                rec.hold.wait(30)
            # Recorded before answering: once the client has its reply, the test sees the request.
            with rec.got:
                rec.requests.append(r)
                status, reply = rec.replies.pop(0) if rec.replies else rec.default
                rec.got.notify_all()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    rec = Receiver(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        if rec.hold is not None:
            rec.hold.set()
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_ids = itertools.count(1)


def make_post(
    title: str = "某公司拖欠农民工工资",
    content: str = "我们几十个农民工被拖欠工资半年，多次讨薪无果。",
    *,
    at: datetime = T0,
    topic: str = "工资拖欠",
    sentiment: str = "negative",
    level: str = "中",
    score: int = 40,
    event_id: str = "ev-1",
    region: str | None = "彭泽县/龙城镇",
    source: str = "wenzheng",
    post_id: str | None = None,
    url: str | None = "__auto__",
    reasons: list[str] | None = None,
) -> PostClassified:
    pid = post_id or f"{source}:{next(_ids)}"
    return PostClassified(
        id=pid,
        title=title,
        content=content,
        url=f"https://wz.example.cn/post/{pid.split(':')[-1]}" if url == "__auto__" else url,
        published_at=at,
        collected_at=at,
        classified_at=at,
        source=Source(id=source, kind="replay", name=source),
        topic=topic,
        sentiment=sentiment,
        risk=Risk(score=score, level=level, reasons=reasons if reasons is not None else [f"重点领域「{topic}」+20"]),  # type: ignore[arg-type]
        event_id=event_id,
        region=region,
    )


class Clock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now += timedelta(**kw)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def post() -> Callable[..., PostClassified]:
    return make_post


# -- the engine on real backends ------------------------------------------------------------
@dataclass
class Harness:
    """The alert service on a SQLite database and the embedded bus, with an explicit clock."""

    svc: Any
    clock: Clock
    bus: Any
    settings: Any

    def feed(self, *posts: PostClassified) -> None:
        self.svc.engine.handle(list(posts))
        self.svc.deliverer.run_due()

    def at(self, when: datetime) -> None:
        self.clock.now = when
        self.svc.engine.tick()
        self.svc.deliverer.run_due()

    def later(self, **kw: float) -> None:
        self.at(self.clock.now + timedelta(**kw))

    def deliveries(self, notifier: str | None = None, kind: str | None = None) -> list[Any]:
        return [d for d in self.svc.store.deliveries(kind=kind) if notifier is None or d.notifier == notifier]

    def alerts(self, status: str | None = None) -> list[Any]:
        return sorted(self.svc.store.find(status, limit=10_000), key=lambda a: (a.created_at, a.labels.get("event_id", ""), a.rule))

    def bus_events(self) -> list[Any]:
        from alerts.events import ALERTS_TOPIC, decode_alert_event

        consumer = self.bus.consumer(ALERTS_TOPIC, f"test-{next(_ids)}")
        try:
            msgs = consumer.poll(10_000, timeout=0.05)
        finally:
            consumer.close()
        return [decode_alert_event(m.value) for m in sorted(msgs, key=lambda m: (m.timestamp, m.partition, m.offset))]

    def restart(self) -> Harness:
        """A new service on the same database and bus, as after a process restart."""
        return make_harness_from(self.settings, self.clock, self.bus)

    def close(self) -> None:
        self.svc.close()


def make_harness_from(settings: Any, clock: Clock, bus: Any, rules: Any = None) -> Harness:
    from alerts.rules.registry import load_rules
    from alerts.service import build_service

    if rules is None:
        rules = load_rules(settings.alerts.rules)
    svc = build_service(settings, bus=bus, clock=clock, rules=rules)
    return Harness(svc, clock, bus, settings)


@pytest.fixture
def harness(tmp_path: Any, clock: Clock) -> Iterator[Callable[..., Harness]]:
    from alerts import db
    from alerts.config import AlertsConfig
    from app.settings import BusConfig, DatabaseConfig, Settings
    from yuqing.bus.sqlite import SqliteBus

    made: list[Harness] = []
    bus = SqliteBus(f"sqlite:///{tmp_path}/bus.db")
    db_url = f"sqlite:///{tmp_path}/alerts.db"

    def make(rules: str, **alerts: Any) -> Harness:
        rules_file = tmp_path / f"rules-{len(made)}.yaml"
        rules_file.write_text(rules, encoding="utf-8")
        alerts.setdefault("notifiers", [{"type": "inbox", "name": "inbox"}])
        alerts.setdefault("routes", [{"notifiers": [alerts["notifiers"][0]["name"]]}])
        alerts.setdefault("group_wait", "0s")
        settings = Settings(
            bus=BusConfig(url=bus.url),
            database=DatabaseConfig(url=db_url),
            state_url=f"sqlite:///{tmp_path}/state.db",
            alerts=AlertsConfig.model_validate({"rules": str(rules_file), **alerts}),
        )
        h = make_harness_from(settings, clock, bus)
        made.append(h)
        return h

    try:
        yield make
    finally:
        for h in made:
            h.close()
        bus.close()
        db.dispose(db_url)

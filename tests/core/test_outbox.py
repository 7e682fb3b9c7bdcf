"""The shared transactional outbox (``yuqing.outbox``) on SQLite and PostgreSQL, publishing to the
embedded bus: events appended in the caller's transaction (and only if it commits) reach the bus in
order, once; with the bus down they wait, one log line says so, commits stop trying, and the
scheduled flush sends everything when the bus is back — nothing lost, nothing twice."""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Column, DateTime, Engine, Float, Integer, MetaData, String, Table, Text, create_engine, select

from yuqing.bus import Bus, open_bus
from yuqing.outbox import Outbox, OutboxTable
from yuqing.sqldb import begin, open_engine
from yuqing.timeutil import now

SHAPES = ("topic_column", "one_topic_epoch")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = open_engine(f"sqlite:///{tmp_path}/outbox.db")
    else:
        eng = create_engine(request.getfixturevalue("postgres_url"))
    yield eng
    eng.dispose()


def make_outbox(engine: Engine, shape: str) -> tuple[Outbox, Table]:
    """An outbox table of either shape the house uses (the ledger's: a topic column and aware
    datetimes; the alerts': one topic, other column names, epoch seconds), on a fresh name."""
    md = MetaData()
    name = f"test_outbox_{secrets.token_hex(4)}"
    if shape == "topic_column":
        table = Table(
            name,
            md,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("topic", String(100), nullable=False),
            Column("key", String(100), nullable=False),
            Column("payload", Text, nullable=False),
            Column("created_at", DateTime(timezone=True), nullable=False),
            Column("published_at", DateTime(timezone=True), index=True),
        )
        spec = OutboxTable(table)
    else:
        table = Table(
            name,
            md,
            Column("seq", Integer, primary_key=True, autoincrement=True),
            Column("key", String(100), nullable=False),
            Column("event", Text, nullable=False),
            Column("created_at", Float, nullable=False),
            Column("published_at", Float),
        )
        spec = OutboxTable(table, seq="seq", payload="event", topic_column=None, topic=f"t-{name}", epoch=True)
    md.create_all(engine)
    return Outbox(spec, read=engine.connect, write=lambda: begin(engine), name="test"), table


@pytest.fixture
def bus(tmp_path: Path) -> Iterator[Bus]:
    b = open_bus(f"sqlite:///{tmp_path}/bus.db", partitions=2)
    yield b
    b.close()


def topic_of(box: Outbox) -> str:
    return box.spec.topic or "events"


def append(box: Outbox, engine: Engine, *events: tuple[str, int]) -> None:
    """Append events (key, n) in one transaction of the caller's."""
    with begin(engine) as conn:
        for key, n in events:
            box.append_in(conn, key, json.dumps({"key": key, "n": n}), topic=topic_of(box))


def read_all(bus: Bus, topic: str) -> list[dict[str, int | str]]:
    consumer = bus.consumer(topic, f"check-{uuid.uuid4().hex[:6]}")
    try:
        got = []
        while batch := consumer.poll(500, 0.2):
            got += [json.loads(m.value) for m in batch]
        return got
    finally:
        consumer.close()


def by_key(events: list[dict[str, int | str]]) -> dict[str, list[int | str]]:
    out: dict[str, list[int | str]] = {}
    for e in events:
        out.setdefault(str(e["key"]), []).append(e["n"])
    return out


@pytest.mark.parametrize("shape", SHAPES)
def test_committed_events_reach_the_bus_in_order_once(engine: Engine, bus: Bus, shape: str) -> None:
    box, table = make_outbox(engine, shape)
    append(box, engine, ("a", 1), ("b", 1), ("a", 2))
    with pytest.raises(RuntimeError), begin(engine) as conn:  # a change that rolls back tells nobody
        box.append_in(conn, "a", json.dumps({"key": "a", "n": 99}), topic=topic_of(box))
        raise RuntimeError("rolled back")
    append(box, engine, ("b", 2), ("a", 3))
    assert box.pending() == 5
    assert box.flush_after_commit(bus) == 5
    assert box.pending() == 0 and box.flush_after_commit(bus) == 0  # nothing twice
    events = read_all(bus, topic_of(box))
    assert len(events) == 5 and by_key(events) == {"a": [1, 2, 3], "b": [1, 2]}
    with engine.connect() as conn:
        rows = conn.execute(select(table)).mappings().all()
    stamps = [r["published_at"] for r in rows]
    if shape == "topic_column":
        assert all(isinstance(s, datetime) for s in stamps)  # (SQLite's DateTime keeps no zone: the ledger's AwareDateTime does)
    else:
        assert all(isinstance(s, float) and abs(s - now().timestamp()) < 60 for s in stamps)


def test_batches_larger_than_a_round_trip_keep_their_order(engine: Engine, bus: Bus) -> None:
    box, _ = make_outbox(engine, "topic_column")
    append(box, engine, *[("k", i) for i in range(23)])
    assert box.flush(bus, limit=5) == 23
    assert by_key(read_all(bus, "events")) == {"k": list(range(23))}


def test_an_event_needs_the_topic_its_table_publishes_to(engine: Engine) -> None:
    with_topic, _ = make_outbox(engine, "topic_column")
    one_topic, _ = make_outbox(engine, "one_topic_epoch")
    with begin(engine) as conn:
        with pytest.raises(ValueError, match="needs its topic"):
            with_topic.append_in(conn, "k", "{}")
        with pytest.raises(ValueError, match="publishes to"):
            one_topic.append_in(conn, "k", "{}", topic="elsewhere")
    with pytest.raises(ValueError, match="either a topic column or its one topic"):
        OutboxTable(with_topic.spec.table, topic="x")


class Lock:
    """The embedded bus's file held by another writer: its publishes fail, as with a broker away."""

    def __init__(self, bus: Bus) -> None:
        self.path = bus.path  # type: ignore[attr-defined]
        bus._conn.execute("PRAGMA busy_timeout=50")  # type: ignore[attr-defined]  # fail fast, not in 30 s
        self.conn: sqlite3.Connection | None = None

    def __enter__(self) -> Lock:
        self.conn = sqlite3.connect(self.path, isolation_level=None)
        self.conn.execute("BEGIN EXCLUSIVE")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.conn is not None
        self.conn.execute("ROLLBACK")
        self.conn.close()


@pytest.mark.parametrize("shape", SHAPES)
def test_bus_down_then_back_loses_nothing_and_sends_nothing_twice(
    engine: Engine, bus: Bus, shape: str, caplog: pytest.LogCaptureFixture
) -> None:
    box, _ = make_outbox(engine, shape)
    topic = topic_of(box)
    append(box, engine, ("a", 1))
    assert box.flush_after_commit(bus) == 1
    caplog.set_level(logging.WARNING, logger="yuqing.outbox")
    with Lock(bus):
        append(box, engine, ("a", 2), ("b", 1))
        assert box.flush_after_commit(bus) == 0  # the change stands; nothing raised
        assert box.bus_down and box.pending() == 2
        append(box, engine, ("a", 3))
        assert box.flush_after_commit(bus) == 0
        assert box.flush_pending(bus) == 0  # the scheduled retry: still down, said once already
        assert box.flush_pending(bus) == 0
    down = [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(down) == 1 and "database is locked" in down[0].getMessage()
    # The bus answers again, but commits do not try it until the scheduled flush re-opens the path.
    append(box, engine, ("b", 2))
    assert box.flush_after_commit(bus) == 0 and box.pending() == 4
    assert box.flush_pending(bus) == 4
    assert not box.bus_down and box.pending() == 0
    assert [r.getMessage() for r in caplog.records if "is back;" in r.getMessage()] == ["test: the bus is back; 4 waiting events published"]
    append(box, engine, ("a", 4))
    assert box.flush_after_commit(bus) == 1  # the path is open again
    events = read_all(bus, topic)
    assert len(events) == 6 and by_key(events) == {"a": [1, 2, 3, 4], "b": [1, 2]}
    assert len(caplog.records) == 2  # one outage, two lines


def test_times_are_written_in_the_tables_own_representation(engine: Engine, bus: Bus) -> None:
    box, table = make_outbox(engine, "one_topic_epoch")
    at = now() - timedelta(hours=1)
    with begin(engine) as conn:
        box.append_in(conn, "k", "{}", at=at)
    with engine.connect() as conn:
        created = conn.execute(select(table.c.created_at)).scalar_one()
    assert created == pytest.approx(at.timestamp())

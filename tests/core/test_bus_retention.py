"""Retention of the embedded bus: old consumed messages go, unconsumed ones and offsets stay."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from yuqing.bus import OutMessage
from yuqing.bus.sqlite import SqliteBus


def _age_all(path: Path, seconds: float) -> None:
    with sqlite3.connect(path) as db:
        db.execute("UPDATE log SET ts = ts - ?", (seconds,))
    db.close()


def test_purge_keeps_what_a_group_has_not_consumed_and_the_offset_counter(tmp_path: Path) -> None:
    bus = SqliteBus(f"sqlite:///{tmp_path}/b.db", partitions=1)
    bus.publish("t", [OutMessage(None, f"m{i}".encode()) for i in range(10)])
    bus.publish("t.dlq", [OutMessage(None, b"dead")])
    consumer = bus.consumer("t", "g")
    consumer.commit(consumer.poll(6, 0.1))  # the group has done m0..m5
    _age_all(bus.path, 40 * 86400)
    assert bus.purge(30 * 86400) == 6  # m0..m5; the dead letter is the dlq's newest, so kept
    consumer.close()
    again = bus.consumer("t", "g")
    rest = again.poll(100, 0.1)
    assert [m.value for m in rest] == [f"m{i}".encode() for i in range(6, 10)]
    again.commit(rest)
    bus.publish("t", [OutMessage(None, b"new")])
    new = again.poll(100, 0.1)
    assert [(m.offset, m.value) for m in new] == [(10, b"new")]  # offsets continue, nothing re-read
    assert bus.purge(30 * 86400) == 4  # m6..m9 are old and committed now; "new" is young and uncommitted
    assert bus.purge(30 * 86400) == 0
    again.close()
    bus.close()


def test_purge_by_age_only(tmp_path: Path) -> None:
    bus = SqliteBus(f"sqlite:///{tmp_path}/b.db", partitions=1)
    bus.publish("t", [OutMessage(None, b"x"), OutMessage(None, b"y")])
    c = bus.consumer("t", "g")
    c.commit(c.poll(10, 0.1))
    assert bus.purge(30 * 86400) == 0  # consumed but young
    _age_all(bus.path, 31 * 86400)
    assert bus.purge(30 * 86400) == 1  # x goes; y is the partition's newest
    c.close()
    bus.close()

"""A document the store rejects for good goes to the dead-letter topic; the rest of its batch is stored."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from yuqing.bus import OutMessage, open_bus
from yuqing.errors import StoreError
from yuqing.worker import Stage


def test_non_retryable_rejection_dead_letters_only_the_bad_message(tmp_path: Path) -> None:
    bus = open_bus(f"sqlite:///{tmp_path}/bus.db")
    bus.publish("in", [OutMessage(str(i), f"post-{i}".encode()) for i in range(6)])
    stored: list[str] = []
    calls: list[int] = []

    def handle(items: Sequence[str]) -> None:
        calls.append(len(items))
        if "post-3" in items:
            raise StoreError("mapper_parsing_exception on post-3", retryable=False)
        stored.extend(items)

    stage = Stage("t", bus, "in", "g", decode=lambda b: b.decode(), handle=handle, batch_size=10, linger=0.05)
    assert stage.drain(idle_polls=1, poll_timeout=0.05) == 6
    assert sorted(stored) == ["post-0", "post-1", "post-2", "post-4", "post-5"]
    assert calls[0] == 6 and calls[1:] == [1] * 6
    dlq = bus.consumer("in.dlq", "x").poll(10, 0.2)
    assert [m.value for m in dlq] == [b"post-3"]
    assert dlq[0].headers["error"] == "rejected downstream: mapper_parsing_exception on post-3"
    assert stage.stats.dead_lettered == 1 and stage.stats.handled == 5
    stage.close()


def test_retryable_failure_is_retried_not_dead_lettered(tmp_path: Path) -> None:
    bus = open_bus(f"sqlite:///{tmp_path}/bus.db")
    bus.publish("in", [OutMessage(str(i), f"post-{i}".encode()) for i in range(3)])
    attempts: list[int] = []
    stored: list[str] = []

    def handle(items: Sequence[str]) -> None:
        attempts.append(len(items))
        if len(attempts) < 3:
            raise StoreError("connection refused")
        stored.extend(items)

    stage = Stage("t", bus, "in", "g", decode=lambda b: b.decode(), handle=handle, batch_size=10, linger=0.05, max_backoff=0.01)
    stage.drain(idle_polls=1, poll_timeout=0.05)
    assert sorted(stored) == ["post-0", "post-1", "post-2"] and attempts == [3, 3, 3]
    assert stage.stats.retries == 2 and stage.stats.dead_lettered == 0
    assert bus.consumer("in.dlq", "x").poll(10, 0.1) == []
    stage.close()

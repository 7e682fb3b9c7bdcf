"""The consume loop every stage runs: poll a batch, decode, handle, commit.

Guarantees:
- offsets are committed only after ``handle`` returned, so a crash or a failed downstream write
  means the batch is delivered again (at-least-once);
- a message that cannot be decoded or validated (PoisonMessage) goes to ``<topic>.dlq`` with
  the reason and its original bytes, and the loop carries on;
- a retryable failure (BackendError) rewinds to the committed offsets and retries with
  exponential backoff, logging one line when the outage starts, one every five minutes while it
  lasts and one when it ends;
- a non-retryable failure (``BackendError.retryable`` false: the store rejects a document as
  invalid) is narrowed down by handling the batch's messages one by one; those that still fail
  go to the dead-letter topic with the reason, the others are handled, and the loop goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from yuqing.bus import Bus, Consumer, Message, OutMessage
from yuqing.errors import BackendError, PoisonMessage
from yuqing.events import dead_letter_topic

log = logging.getLogger("yuqing.worker")

OUTAGE_REMINDER = 300.0  # seconds between "still failing" lines during one outage

T = TypeVar("T")


@dataclass
class StageStats:
    batches: int = 0
    handled: int = 0
    dead_lettered: int = 0
    retries: int = 0
    last_error: str | None = None


@dataclass
class Stage(Generic[T]):
    """One consuming stage: ``decode`` turns bus bytes into T (raising PoisonMessage), ``handle``
    processes a whole batch (raising BackendError when it may succeed later)."""

    name: str
    bus: Bus
    topic: str
    group: str
    decode: Callable[[bytes], T]
    handle: Callable[[Sequence[T]], None]
    batch_size: int = 500
    linger: float = 0.2
    max_backoff: float = 30.0
    stats: StageStats = field(default_factory=StageStats)
    _consumer: Consumer | None = None

    def consumer(self) -> Consumer:
        if self._consumer is None:
            self._consumer = self.bus.consumer(self.topic, self.group)
        return self._consumer

    def dead_letter(self, msg: Message, reason: str) -> None:
        headers = {
            "error": reason[:2000],
            "stage": self.name,
            "original_topic": msg.topic,
            "original_partition": str(msg.partition),
            "original_offset": str(msg.offset),
        }
        self.bus.publish(dead_letter_topic(msg.topic), [OutMessage(msg.key, msg.value, headers)])
        self.stats.dead_lettered += 1
        log.warning("%s: dead-lettered %s[%d]@%d: %s", self.name, msg.topic, msg.partition, msg.offset, reason)

    def run_once(self, timeout: float | None = None) -> int:
        """Process one batch; returns how many messages were consumed (0 when idle)."""
        consumer = self.consumer()
        messages = consumer.poll(self.batch_size, self.linger if timeout is None else timeout)
        if not messages:
            return 0
        decoded: list[tuple[Message, T]] = []
        for msg in messages:
            try:
                decoded.append((msg, self.decode(msg.value)))
            except PoisonMessage as exc:
                self.dead_letter(msg, str(exc))
        handled = len(decoded)
        if decoded:
            try:
                self.handle([item for _, item in decoded])
            except BackendError as exc:
                if exc.retryable:
                    raise
                handled = self._isolate(decoded, exc)
        consumer.commit(messages)
        self.stats.batches += 1
        self.stats.handled += handled
        return len(messages)

    def _isolate(self, decoded: list[tuple[Message, T]], exc: BackendError) -> int:
        log.warning("%s: batch of %d rejected (%s); handling its messages one by one", self.name, len(decoded), exc)
        handled = 0
        for msg, item in decoded:
            try:
                self.handle([item])
                handled += 1
            except BackendError as one:
                if one.retryable:
                    raise
                self.dead_letter(msg, f"rejected downstream: {one}")
        return handled

    def drain(self, idle_polls: int = 2, poll_timeout: float = 0.2) -> int:
        """Process until the topic has been idle for ``idle_polls`` polls (used by the demo and tests)."""
        total, idle = 0, 0
        while idle < idle_polls:
            n = self._run_with_retry(poll_timeout)
            total += n
            idle = idle + 1 if n == 0 else 0
        return total

    def _run_with_retry(self, timeout: float | None = None, stop: threading.Event | None = None) -> int:
        """``run_once`` until it succeeds. An outage is logged once when it starts (ERROR), once
        every ``OUTAGE_REMINDER`` seconds while it lasts, and once when it ends (WARNING), with
        each retry at DEBUG only: a store down for an hour is three lines, not a thousand."""
        backoff = 0.5
        started: float | None = None
        retries = 0
        reminded = 0.0
        while True:
            try:
                n = self.run_once(timeout)
            except BackendError as exc:
                self.stats.retries += 1
                self.stats.last_error = str(exc)
                retries += 1
                t = time.monotonic()
                if started is None:
                    started = reminded = t
                    log.error(
                        "%s: %s; retrying with backoff up to %.0fs (nothing committed: the batch will be redelivered)",
                        self.name,
                        exc,
                        self.max_backoff,
                    )
                elif t - reminded >= OUTAGE_REMINDER:
                    reminded = t
                    log.error("%s: still failing after %.0fs and %d retries: %s", self.name, t - started, retries, exc)
                else:
                    log.debug("%s: retry %d failed: %s; next in %.1fs", self.name, retries, exc, backoff)
                if self._consumer is not None:
                    self._consumer.rewind()
                if stop is not None and stop.wait(backoff):
                    return 0
                if stop is None:
                    time.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                continue
            if started is not None:
                log.warning("%s: recovered after %.0fs and %d retries", self.name, time.monotonic() - started, retries)
            return n

    def run_forever(self, stop: threading.Event) -> None:
        log.info("%s: consuming %s as group %s", self.name, self.topic, self.group)
        try:
            while not stop.is_set():
                self._run_with_retry(stop=stop)
        finally:
            self.close()

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None

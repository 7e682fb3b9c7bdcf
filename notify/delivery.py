"""Delivering recorded notifications: one attempt at a time, retries with exponential backoff.

Every attempt is recorded in ``alert_attempts`` (time, outcome, reply, duration) and the
delivery's state in ``alert_deliveries`` (pending -> sent | failed), in the alerts database
(``notify.store.DeliveryStore``). The alert engine, the ledger's reminders and the briefings all
deliver this way.

Each channel has its own worker thread (``start``), so a channel that hangs until its timeout
or keeps failing delays only its own messages. ``run_due`` does the same work synchronously —
tests and the demo drive it with an explicit clock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from notify.base import DeliveryResult, Notification, Notifier
from notify.config import RetryConfig
from notify.store import Delivery, DeliveryStore
from yuqing.timeutil import now as wall_now

log = logging.getLogger("yuqing.notify.delivery")


class Deliverer:
    def __init__(
        self, store: DeliveryStore, notifiers: dict[str, Notifier], retry: RetryConfig, *, clock: Callable[[], datetime] = wall_now
    ) -> None:
        self.store = store
        self.notifiers = notifiers
        self.retry = retry
        self.clock = clock
        self._wake: dict[str, threading.Event] = {name: threading.Event() for name in notifiers}
        self.sent = 0
        self.failed = 0
        # Deliver only while this returns True (several engines: only the active one delivers).
        self.gate: Callable[[], bool] | None = None

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return min(self.retry.backoff.total_seconds() * 2 ** (attempt - 1), self.retry.max_backoff.total_seconds())

    def attempt(self, d: Delivery) -> str:
        """One attempt at one delivery; returns its new status."""
        notifier = self.notifiers.get(d.notifier)
        started = time.perf_counter()
        if notifier is None:
            result = DeliveryResult(False, f"notifier {d.notifier!r} is not configured", retryable=False)
        else:
            n = Notification(**d.notification)
            try:
                result = notifier.send(n)
            except Exception as exc:  # a bug in one channel must not stop the others: record it, keep going
                log.exception("alerts: notifier %s raised", d.notifier)
                result = DeliveryResult(False, notifier.scrub(f"{type(exc).__name__}: {exc}")[:300], retryable=True)
        duration_ms = (time.perf_counter() - started) * 1000
        at = self.clock()
        attempt_no = d.attempts + 1
        next_at = at + timedelta(seconds=self.backoff(attempt_no)) if attempt_no < self.retry.attempts else None
        status = self.store.record_attempt(d, result.ok, result.retryable, result.status, duration_ms, at, next_at)
        if status == "sent":
            self.sent += 1
            log.info("alerts: %s delivered to %s (attempt %d): %s", d.key, d.notifier, attempt_no, result.status)
        elif status == "failed":
            self.failed += 1
            log.error("alerts: %s to %s failed for good after %d attempt(s): %s", d.key, d.notifier, attempt_no, result.status)
        else:
            log.warning(
                "alerts: %s to %s attempt %d failed (%s); retrying in %.0fs",
                d.key,
                d.notifier,
                attempt_no,
                result.status,
                self.backoff(attempt_no),
            )
        return status

    def run_due(self, notifier: str | None = None) -> int:
        """Attempt every delivery that is due now (once each); returns how many were attempted."""
        done = 0
        # Only this deliverer's own channels: the ledger's deliverer (reminders, briefings) shares the table.
        for name in [notifier] if notifier is not None else list(self.notifiers):
            while True:
                batch = self.store.due_deliveries(self.clock(), name)
                if not batch:
                    break
                for d in batch:
                    self.attempt(d)
                    done += 1
        return done

    # -- threaded ---------------------------------------------------------------------------
    def wake(self, names: set[str]) -> None:
        for name in names:
            ev = self._wake.get(name)
            if ev is not None:
                ev.set()

    def _worker(self, name: str, stop: threading.Event, idle: float) -> None:
        ev = self._wake[name]
        while not stop.is_set():
            ev.clear()
            if self.gate is not None and not self.gate():
                ev.wait(idle)
                continue
            try:
                self.run_due(name)
                nxt = self.store.next_delivery_at(name)
            except Exception:  # the database may be briefly unavailable: log, wait, try again
                log.exception("alerts: delivery worker %s", name)
                nxt = None
            wait = idle if nxt is None else max(0.0, min(idle, (nxt - self.clock()).total_seconds()))
            if wait:
                ev.wait(wait)

    def start(self, stop: threading.Event, idle: float = 1.0) -> list[threading.Thread]:
        threads = []
        for name in self.notifiers:
            t = threading.Thread(target=self._worker, args=(name, stop, idle), name=f"alerts-deliver-{name}", daemon=True)
            t.start()
            threads.append(t)
        return threads

    def close(self) -> None:
        for n in self.notifiers.values():
            n.close()


class ClaimingDeliverer(Deliverer):
    """A deliverer that claims each delivery before attempting it: the ledger stage may run in
    several processes (no lease as for the alert engine), and a message must not go out twice.
    The claim moves the delivery's next attempt past the attempt's longest duration; a process
    that dies mid-attempt thus leaves it to be retried after that."""

    def attempt(self, d: Delivery) -> str:
        notifier = self.notifiers.get(d.notifier)
        hold = (notifier.config.timeout if notifier is not None and notifier.config is not None else 10.0) + 60.0
        if not self.store.claim(d, self.clock() + timedelta(seconds=hold)):
            return "claimed elsewhere"
        return super().attempt(d)

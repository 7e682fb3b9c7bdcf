"""The background backfill: after a scheme is created, edited or deleted (web UI, API, CLI import),
the stored posts are re-tagged by a thread of the web app, without blocking the request or the
pipeline, with its progress readable by the pages (``BackfillJob.state``).

The thread wakes when ``kick``ed (a save in this process) or every ``poll`` seconds (a change made
elsewhere: ``yuqing schemes import``, another web worker), and runs ``schemes.backfill.backfill``
whenever the checkpoint in ``yuqing_schemes_backfill`` is not finished for the schemes' current
revision. So everything the CLI's backfill guarantees holds here: killed at any moment (even the
whole process, SIGKILL), the next run of the same revision resumes after the last committed page,
and a replayed page rewrites nothing. A revision that moves during a run stops it after the page
in hand; the next run starts over with the new schemes.

Before a run over a new revision the job waits ``settle`` seconds (by default a little more than
the processing stage's matcher reload, ``schemes.tagger.Tagger.reload_seconds``): until then the
pipeline may still tag with the old schemes, and a post it stores during a run, in a part of the
store the run has passed, would keep the old tags. Further saves during the wait restart it.

One runner at a time across processes: the lease (``schemes.backfill.Lease``); a process that
finds it held by another leaves the work to that one and shows its progress from the checkpoint.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from schemes.backfill import Lease, LeaseLost, backfill, status
from schemes.store import SchemeStore
from yuqing.store import Store

log = logging.getLogger("schemes.backfill")
SETTLE_SECONDS = 12.0  # the Tagger re-reads the schemes every 10 s


@dataclass
class State:
    """What the pages show. ``state``: ``idle`` (no schemes change was ever backfilled here: no
    checkpoint), ``waiting`` (a change is not yet backfilled: settling or not started), ``running``,
    ``finished`` (the checkpoint covers the current revision), ``failed`` (the last run raised;
    it is retried), ``no_store`` (a change is waiting but this app has no post store)."""

    state: str
    revision: int
    done: int = 0
    total: int = 0
    written: int = 0
    error: str = ""

    @property
    def percent(self) -> int:
        return 100 if self.state == "finished" else (int(100 * self.done / self.total) if self.total else 0)

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"percent": self.percent}


class BackfillJob:
    def __init__(
        self,
        table: SchemeStore,
        store: Callable[[], Store | None],
        *,
        settle: float = SETTLE_SECONDS,
        poll: float = 30.0,
        batch: int = 200,
        pause: float = 0.05,
        lease_seconds: float = 60.0,
    ) -> None:
        self.table = table
        self.store = store
        self.settle = settle
        self.poll = poll
        self.batch = batch
        self.pause = pause
        self.lease = Lease(table, seconds=lease_seconds)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._running = False
        self._error = ""

    # -- control ----------------------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stopping.clear()
                self._thread = threading.Thread(target=self._loop, name="schemes-backfill", daemon=True)
                self._thread.start()

    def kick(self) -> None:
        """A scheme changed in this process: (re)start the settle wait and run soon."""
        self.start()
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    # -- what the pages show ----------------------------------------------------------------------
    def state(self) -> State:
        rev = self.table.revision()
        cp = status(self.table)
        if cp is None:
            return State(("waiting" if self.store() is not None else "no_store") if rev else "idle", rev)
        if cp.revision != rev:
            return State("waiting" if self.store() is not None else "no_store", rev, 0, 0, 0, self._error)
        if cp.finished:
            return State("finished", rev, cp.done, cp.total, cp.written)
        running = self._running or self.lease.holder_now() is not None
        return State("running" if running else ("failed" if self._error else "waiting"), rev, cp.done, cp.total, cp.written, self._error)

    # -- the thread -------------------------------------------------------------------------------
    def _pending(self) -> int | None:
        """The revision to backfill, or None when the checkpoint covers it."""
        rev = self.table.revision()
        cp = status(self.table)
        if cp is None and rev == 0:
            return None  # no scheme was ever saved
        if cp is not None and cp.revision == rev and cp.finished:
            return None
        return rev

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.run_once()
                self._error = ""
            except Exception as exc:  # the store or database is down: say so, retry at the next wake
                self._error = str(exc)[:300]
                log.warning("schemes backfill failed, retrying in %.0f s: %s", self.poll, exc)
            if self._stopping.is_set():  # a stop during the settle wait used up the wake: do not sleep a poll
                break
            self._wake.wait(self.poll)
            self._wake.clear()

    def run_once(self) -> bool:
        """Backfill if there is anything to do and nobody else is; True when a run finished."""
        store = self.store()
        rev = self._pending()
        if store is None or rev is None:
            return False
        cp = status(self.table)
        if (cp is None or cp.revision != rev) and self.settle > 0:
            # a new revision: let the pipeline's taggers load it first; a later save restarts the wait
            deadline = time.monotonic() + self.settle
            while (left := deadline - time.monotonic()) > 0:
                if self._stopping.is_set():
                    return False
                if self._wake.wait(left):
                    self._wake.clear()
                    deadline = time.monotonic() + self.settle
            if self._stopping.is_set():
                return False
            rev = self._pending()
            if rev is None:
                return False
        if not self.lease.acquire():
            return False  # another process runs it; the pages read its checkpoint
        self._running = True
        try:
            moved = lambda: self._stopping.is_set() or self.table.revision() != rev  # noqa: E731
            t0 = time.monotonic()
            result = backfill(store, self.table, batch=self.batch, pause=self.pause, stop=moved, lease=self.lease)
            if result.finished:
                log.info(
                    "schemes backfill: %d post(s), %d re-tagged (revision %d) in %.1f s",
                    result.done,
                    result.written,
                    result.revision,
                    time.monotonic() - t0,
                )
            else:
                self._wake.set()  # stopped because the schemes moved: go again at once
            return result.finished
        except LeaseLost as exc:
            log.warning("%s", exc)
            return False
        finally:
            self._running = False
            self.lease.release()

"""The 总览's figures, kept a few seconds per store and 监测方案 (issue 9, web app speed).

The overview is some thirty aggregate queries over the store (two windows of counts by topic,
sentiment and risk, rising events, flatlined sources): ~20 ms of CPU, the same for every reader,
and the figures move by the hour. ``cached`` computes them once per ``SECONDS`` for a given store
and scheme; the readers who ask meanwhile get that answer, and when it runs out one reader computes
the next while the others wait for it (no stampede of 50 identical computations). Firing alerts
are not kept here: the page reads them each time, and the alert inbox is live anyway.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")
SECONDS = 5.0

_lock = threading.Lock()
_entries: weakref.WeakKeyDictionary[Any, dict[Hashable, tuple[float, Any]]] = weakref.WeakKeyDictionary()
_computing: dict[tuple[int, Hashable], threading.Lock] = {}


def cached(store: Any, key: Hashable, compute: Callable[[], T], seconds: float = SECONDS) -> T:
    """``compute()``'s answer for (``store``, ``key``), at most ``seconds`` old. Keyed by the store
    object itself (weakly): a store replaced by another starts afresh."""
    now = time.monotonic()
    with _lock:
        hit = _entries.get(store, {}).get(key)
        if hit is not None and now - hit[0] < seconds:
            return hit[1]  # type: ignore[no-any-return]
        slot = _computing.setdefault((id(store), key), threading.Lock())
    with slot:  # one computes; the others wait here and then find its answer
        with _lock:
            hit = _entries.get(store, {}).get(key)
            if hit is not None and time.monotonic() - hit[0] < seconds:
                return hit[1]  # type: ignore[no-any-return]
        started = time.monotonic()
        value = compute()
        with _lock:
            _entries.setdefault(store, {})[key] = (started, value)
        return value


def clear() -> None:
    """Forget every kept answer (tests that change a store's posts and read the overview again)."""
    with _lock:
        _entries.clear()

"""The 总览's figures kept a few seconds (``web.overview_cache``): one computation per store, key and
period, a replaced store starts afresh, and readers who arrive while it runs wait for its answer
instead of each computing the same."""

from __future__ import annotations

import threading
import time

from web import overview_cache


class FakeStore:  # any object will do: the cache is keyed by the store object itself
    pass


def test_an_answer_is_kept_for_its_period_per_store_and_key() -> None:
    store, calls = FakeStore(), []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert overview_cache.cached(store, "a", compute, seconds=0.3) == 1
    assert overview_cache.cached(store, "a", compute, seconds=0.3) == 1  # kept
    assert overview_cache.cached(store, "b", compute, seconds=0.3) == 2  # another scheme
    assert overview_cache.cached(FakeStore(), "a", compute, seconds=0.3) == 3  # another store
    time.sleep(0.35)
    assert overview_cache.cached(store, "a", compute, seconds=0.3) == 4  # run out: computed again


def test_readers_arriving_together_share_one_computation() -> None:
    store, calls, results = FakeStore(), [], []
    start = threading.Barrier(8)

    def compute() -> str:
        calls.append(1)
        time.sleep(0.2)
        return "figures"

    def reader() -> None:
        start.wait()
        results.append(overview_cache.cached(store, None, compute))

    threads = [threading.Thread(target=reader) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == ["figures"] * 8 and len(calls) == 1

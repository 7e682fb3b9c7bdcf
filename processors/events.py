"""Events: near-duplicate and same-incident posts share an ``event_id``.

SimHash (64 bit) over a post's content tokens; a post joins the most recent earlier event whose
fingerprint is within ``max_distance`` bits and whose last post is within ``window`` of it.
Candidates are found through four 16-bit bands (LSH): two fingerprints within 3 bits share at
least one band exactly, and larger distances are still caught often enough for same-incident
posts that repeat the same facts.
"""

from __future__ import annotations

import hashlib
from collections import Counter, deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import numpy as np

_MASK = (1 << 64) - 1


@lru_cache(maxsize=200_000)
def _h64(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")


def simhash(tokens: list[str]) -> int:
    """64-bit SimHash, token weight = count, tokens of one character ignored (mostly noise)."""
    weights = Counter(t for t in tokens if len(t) >= 2)
    if not weights:
        return 0
    hashes = np.fromiter((_h64(t) for t in weights), np.uint64, len(weights))
    w = np.fromiter(weights.values(), np.float64, len(weights))
    bits = np.unpackbits(hashes.view(np.uint8).reshape(-1, 8), axis=1, bitorder="little")  # (n, 64), bit i of each hash
    acc = (2.0 * bits - 1.0).T @ w
    return int(np.packbits(acc > 0, bitorder="little").view("<u8")[0]) & _MASK


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


@dataclass
class _Entry:
    fingerprint: int
    event_id: str
    at: datetime


class EventClusterer:
    """Stateful: remembers recent fingerprints. ``assign`` is deterministic for a given order."""

    def __init__(self, window: timedelta = timedelta(hours=72), max_distance: int = 12, capacity: int = 200_000) -> None:
        self.window = window
        self.max_distance = max_distance
        self.capacity = capacity
        self._entries: deque[_Entry] = deque()
        self._bands: dict[tuple[int, int], list[_Entry]] = {}

    def assign(self, post_id: str, tokens: list[str], at: datetime) -> str:
        fp = simhash(tokens)
        best: _Entry | None = None
        if fp:
            for band in range(4):
                for cand in self._bands.get((band, fp >> (16 * band) & 0xFFFF), ()):
                    if abs(cand.at - at) <= self.window and hamming(cand.fingerprint, fp) <= self.max_distance:
                        if best is None or hamming(cand.fingerprint, fp) < hamming(best.fingerprint, fp):
                            best = cand
        event_id = best.event_id if best else "ev-" + hashlib.sha1(post_id.encode("utf-8")).hexdigest()[:16]
        if fp:
            self._remember(_Entry(fp, event_id, at))
        return event_id

    def _remember(self, entry: _Entry) -> None:
        self._entries.append(entry)
        for band in range(4):
            self._bands.setdefault((band, entry.fingerprint >> (16 * band) & 0xFFFF), []).append(entry)
        while len(self._entries) > self.capacity:
            old = self._entries.popleft()
            for band in range(4):
                bucket = self._bands.get((band, old.fingerprint >> (16 * band) & 0xFFFF))
                if bucket and old in bucket:
                    bucket.remove(old)

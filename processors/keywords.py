"""Keywords per post: TF-IDF over the post's tokens with jieba.analyse's IDF table and stop
words, computed from the one tokenisation (``jieba.analyse.extract_tags`` would segment again)."""

from __future__ import annotations

import heapq
from collections import Counter
from functools import lru_cache

from jieba.analyse import TFIDF


@lru_cache(maxsize=1)
def _idf() -> tuple[dict[str, float], float, frozenset[str]]:
    tf = TFIDF()
    return tf.idf_freq, tf.median_idf, frozenset(tf.stop_words)


def keywords(tokens: list[str], k: int = 8) -> list[str]:
    if k <= 0:
        return []
    idf, median, stop = _idf()
    scored = [(-c * idf.get(t, median), t) for t, c in Counter(tokens).items() if len(t) >= 2 and t not in stop and not t.isdigit()]
    return [t for _, t in heapq.nsmallest(k, scored)]

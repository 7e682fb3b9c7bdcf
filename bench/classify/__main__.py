"""bench/classify: the full classify step on one core over real posts of 300+ characters,
beside tokenisation alone (the floor) and snownlp's stock ``SnowNLP(text).sentiments`` (the
baseline the issue names), plus the command a user runs (``python -m yuqing classify FILE`` in a
subprocess on the same posts, start-up included) and the processing worker's throughput and peak
memory.

The machine may be shared: besides wall-clock rates, the rates per CPU second of the process
(``time.process_time``, and the children's rusage for subprocesses) are given, which other
processes on the core disturb much less; the load average is printed with them.

    python -m bench.classify [--posts N] [--snownlp-posts N] [--worker-posts N]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._common import one_core, peak_rss_mb, real_posts, result_line

BLOCK = 256  # posts per classify_many call: `yuqing classify` writes blocks of this size


def _rate(n: int, seconds: float) -> float:
    return round(n / seconds, 1) if seconds > 0 else float("inf")


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def cli_run(rows: list[dict[str, object]], tmp: Path) -> tuple[float, float]:
    """``python -m yuqing classify FILE`` on ``rows`` in a subprocess (pinned like this process):
    (wall seconds, CPU seconds), start-up included. Checks every post came back classified."""
    src = tmp / f"in-{len(rows)}.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    # with the bytecode cache, as on a user's machine after the first run (CI and some shells
    # set PYTHONDONTWRITEBYTECODE, which makes every start compile yuqing's modules: ~40 ms)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cpu0, t0 = _children_cpu(), time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "yuqing", "classify", str(src)],
        capture_output=True,
        check=True,
        cwd=tmp,
        env=env,
    )
    wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    lines = out.stdout.splitlines()
    if len(lines) != len(rows) or "topic" not in json.loads(lines[-1]):
        raise SystemExit(f"yuqing classify returned {len(lines)} lines for {len(rows)} posts: {out.stderr.decode()[-500:]}")
    return wall, cpu


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def worker_child(n: int) -> None:
    """Run in a fresh process: publish n posts on an embedded bus, drain the processing stage."""
    one_core()
    from processors.classify import Classifier
    from processors.worker import make_stage
    from yuqing.bus import OutMessage, open_bus
    from yuqing.clikit import tune_gc
    from yuqing.events import POSTS_RAW, PostCollected, Source
    from yuqing.store import open_store
    from yuqing.timeutil import now

    rows = real_posts()
    with tempfile.TemporaryDirectory() as tmp:
        bus = open_bus(f"sqlite:///{tmp}/bus.db")
        store = open_store(f"sqlite:///{tmp}/store.db")
        src = Source(id="bench", kind="replay", name="bench")
        ref = now()
        posts = [
            PostCollected(id=f"bench:{i}", title=r["title"], content=r["content"], published_at=ref, source=src)
            for i, r in enumerate(rows[i % len(rows)] for i in range(n))
        ]
        bus.publish(POSTS_RAW, [OutMessage(p.id, p.to_bytes()) for p in posts])
        stage = make_stage(bus, store, Classifier(), batch_size=500, linger=0.05)
        tune_gc()  # as `yuqing run` does
        t0 = time.perf_counter()
        done = stage.drain(idle_polls=1, poll_timeout=0.05)
        secs = time.perf_counter() - t0
        stage.close()
        stored = store.search(__import__("yuqing.store", fromlist=["Query"]).Query(limit=1)).total
        print(json.dumps({"messages": done, "stored": stored, "seconds": secs, "peak_rss_mb": peak_rss_mb()}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=2000)
    ap.add_argument("--snownlp-posts", type=int, default=60)
    ap.add_argument("--worker-posts", type=int, default=3000)
    ap.add_argument("--worker-child", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker_child:
        worker_child(args.worker_child)
        return
    pin = one_core()
    rows = real_posts()
    sample = [rows[i % len(rows)] for i in range(args.posts)]
    chars = sum(len(r["title"]) + len(r["content"]) for r in sample) / len(sample)
    print(f"bench/classify: {len(sample)} real posts (mean {chars:.0f} characters), one core ({pin})")

    t0 = time.perf_counter()
    from processors.classify import Classifier
    from yuqing.clikit import tune_gc
    from yuqing.events import PostCollected, Source
    from yuqing.text import tokenize
    from yuqing.timeutil import now

    classifier = Classifier()
    tokenize("预热")
    tune_gc()  # as every ``yuqing`` process does (yuqing.clikit.GC_THRESHOLDS)
    load_ms = (time.perf_counter() - t0) * 1000

    src = Source(id="bench", kind="replay", name="bench")
    ref = now()
    posts = [
        PostCollected(id=f"bench:{i}", title=r["title"], content=r["content"], published_at=ref, source=src) for i, r in enumerate(sample)
    ]

    t0 = time.perf_counter()
    for p in posts:
        tokenize(p.title)
        tokenize(p.content)
    tok = _rate(len(posts), time.perf_counter() - t0)

    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()
    sub = posts[: max(1, len(posts) // 4)]
    t0 = time.perf_counter()
    for p in sub:
        jieba.lcut(p.title)
        jieba.lcut(p.content)
    py_jieba = _rate(len(sub), time.perf_counter() - t0)

    load_before = load()
    # in blocks, as the processing worker (its batches) and `yuqing classify` (blocks of 256) do
    c0, t0 = time.process_time(), time.perf_counter()
    for i in range(0, len(posts), BLOCK):
        classifier.classify_many(posts[i : i + BLOCK])
    full = _rate(len(posts), time.perf_counter() - t0)
    full_cpu = _rate(len(posts), time.process_time() - c0)
    # and one post at a time (``Classifier.classify``), fresh clusterer, the same posts
    one_by_one = Classifier(models=classifier.models, gazetteer=classifier.gazetteer)
    c0 = time.process_time()
    for p in posts:
        one_by_one.classify(p)
    single_cpu = _rate(len(posts), time.process_time() - c0)
    # the blocks again, caches warm, with yuqing's collector thresholds and with Python's default
    # ones (before yuqing tuned them), each on a fresh event index
    thresholds = gc.get_threshold()
    warm: dict[str, float] = {}
    for name, limits in (("tuned", thresholds), ("default", (700, 10, 10))):
        again = Classifier(models=classifier.models, gazetteer=classifier.gazetteer)
        gc.set_threshold(*limits)
        c0 = time.process_time()
        for i in range(0, len(posts), BLOCK):
            again.classify_many(posts[i : i + BLOCK])
        warm[name] = _rate(len(posts), time.process_time() - c0)
    gc.set_threshold(*thresholds)
    default_gc_cpu = warm["default"]

    # The user's command, on the same posts (id, title, content), start-up included; and on one
    # post, for the start-up alone.
    with tempfile.TemporaryDirectory() as tmp:
        cli_rows: list[dict[str, object]] = [
            {"id": f"bench:{i}", "title": r["title"], "content": r["content"]} for i, r in enumerate(sample)
        ]
        cli_run(cli_rows[:1], Path(tmp))  # writes the bytecode cache if missing; not timed
        cli_wall, cli_cpu = cli_run(cli_rows, Path(tmp))
        start_wall, start_cpu = cli_run(cli_rows[:1], Path(tmp))
    cli = _rate(len(cli_rows), cli_wall)
    cli_cpu_rate = _rate(len(cli_rows), cli_cpu)

    from snownlp import SnowNLP

    sub = posts[: args.snownlp_posts]
    t0 = time.perf_counter()
    for p in sub:
        _ = SnowNLP(p.text).sentiments
    snow = _rate(len(sub), time.perf_counter() - t0)

    out = subprocess.run(
        [sys.executable, "-m", "bench.classify", "--worker-child", str(args.worker_posts)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    worker = json.loads(out.stdout.strip().splitlines()[-1])
    wrate = _rate(worker["messages"], worker["seconds"])

    print()
    print(f"{'step':<48}{'posts/s':>10}{'vs snownlp':>12}")
    for name, rate in (
        ("tokenisation alone, rjieba (floor)", tok),
        ("tokenisation, Python jieba (for reference)", py_jieba),
        (f"full classify step (in process, blocks of {BLOCK})", full),
        ("  the same, per CPU second", full_cpu),
        ("  one post at a time, per CPU second", single_cpu),
        ("  again, caches warm, per CPU second", warm["tuned"]),
        ("  again, Python's default GC, per CPU second", default_gc_cpu),
        ("`python -m yuqing classify FILE` (start-up incl.)", cli),
        ("  the same, per CPU second", cli_cpu_rate),
        ("snownlp stock SnowNLP(text).sentiments", snow),
        ("worker: bus -> classify -> store -> bus", wrate),
    ):
        print(f"{name:<48}{rate:>10.1f}{rate / snow:>11.1f}x")
    print(
        f"\n`yuqing classify` start-up (one post): {start_wall:.2f} s wall, {start_cpu:.2f} s CPU; "
        f"load average {load_before} before the timed classify step, {load()} at the end"
    )
    print(
        f"\nmodel load + tokeniser start-up: {load_ms:.0f} ms; worker peak RSS {worker['peak_rss_mb']:.0f} MB "
        f"({worker['messages']} messages, {worker['stored']} stored)"
    )
    print(
        result_line(
            classify_posts_per_s=full,
            tokenize_posts_per_s=tok,
            python_jieba_posts_per_s=py_jieba,
            snownlp_posts_per_s=snow,
            classify_cpu_posts_per_s=full_cpu,
            classify_one_cpu_posts_per_s=single_cpu,
            classify_warm_cpu_posts_per_s=warm["tuned"],
            classify_default_gc_cpu_posts_per_s=default_gc_cpu,
            cli_posts_per_s=cli,
            cli_cpu_posts_per_s=cli_cpu_rate,
            cli_startup_s=round(start_wall, 2),
            speedup_vs_snownlp=round(full / snow, 1),
            worker_posts_per_s=wrate,
            worker_peak_rss_mb=round(worker["peak_rss_mb"]),
            startup_ms=round(load_ms),
            load_avg_1m=round(os.getloadavg()[0], 1),
        )
    )


if __name__ == "__main__":
    main()

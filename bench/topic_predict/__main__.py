"""bench/topic_predict: the per-post cost of the topic and sentiment models (``Models.predict``)
for the models in ``processors/models/`` against a baseline bundle, on the same posts.

The posts are real ones of the labelled set, tokenised once beforehand (tokenisation is the
same for both and is not what changed), so only vectorising and the heads are timed. The two
bundles run in alternating rounds in this one process, pinned to one core, and the CPU time of
the process (``time.process_time``) is read, which other processes on a shared machine disturb
much less than the wall clock; the best round of each is reported.

The baseline is ``--baseline DIR`` (a model directory), or by default the models of ``--rev``
(a git revision, default ``main``) extracted into a temporary directory.

    python -m bench.topic_predict [--posts N] [--rounds N] [--rev REV | --baseline DIR] [--current DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

from bench._common import ROOT, one_core, real_posts, result_line
from processors.models import MODEL_DIR, Models
from yuqing.text import tokenize

FILES = ("classifier.npz", "sentiment_bayes.marshal.gz")


def extract(rev: str, into: Path) -> Path:
    """The model files of git revision ``rev`` written into ``into``; refuses a revision without
    a classifier."""
    for name in FILES:
        spec = f"{rev}:processors/models/{name}"
        got = subprocess.run(["git", "-C", str(ROOT), "show", spec], capture_output=True)
        if got.returncode == 0:
            (into / name).write_bytes(got.stdout)
        elif name == "classifier.npz":
            raise SystemExit(f"bench.topic_predict: git has no {spec}: {got.stderr.decode().strip()}")
    return into


def timed(models: Models, posts: list[tuple[str, str, list[str], list[str]]]) -> float:
    t0 = time.process_time()
    for title, content, tt, bt in posts:
        models.predict(title, content, tt, bt)
    return time.process_time() - t0


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.topic_predict", description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--posts", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--rev", default="main", help="git revision whose processors/models/ is the baseline")
    ap.add_argument("--baseline", type=Path, help="a model directory to use as the baseline instead of --rev")
    ap.add_argument("--current", type=Path, default=MODEL_DIR, help="the model directory to measure (default processors/models)")
    args = ap.parse_args()
    pinned = one_core()
    rows = real_posts(min_chars=0, limit=args.posts)
    posts = [(r["title"], r["content"], tokenize(r["title"]), tokenize(r["content"])) for r in rows]
    with tempfile.TemporaryDirectory() as tmp:
        base_dir = args.baseline or extract(args.rev, Path(tmp))
        base, new = Models.load(base_dir), Models.load(args.current)
        if base.bundle is None or new.bundle is None:
            raise SystemExit("bench.topic_predict: a model directory holds no classifier.npz")
        timed(base, posts[:100]), timed(new, posts[:100])  # warm caches
        tb, tn = [], []
        for _ in range(args.rounds):
            tb.append(timed(base, posts))
            tn.append(timed(new, posts))
    n = len(posts)
    b_us, n_us = min(tb) / n * 1e6, min(tn) / n * 1e6
    same = sum(base.predict(*p).topic == new.predict(*p).topic for p in posts[:500])
    print(f"{n} posts, {args.rounds} alternating rounds, {pinned}, load {os.getloadavg()[0]:.1f}")
    print(
        f"baseline ({base_dir if args.baseline else args.rev}): best {b_us:.1f} us CPU per post, rounds {[round(t / n * 1e6, 1) for t in tb]}"
    )
    print(f"current ({args.current}): best {n_us:.1f} us CPU per post, rounds {[round(t / n * 1e6, 1) for t in tn]}")
    print(f"vocabulary {len(base.bundle.vectorizer.vocabulary)} -> {len(new.bundle.vectorizer.vocabulary)}; same topic on {same} of 500")
    print(result_line(baseline_us_per_post=round(b_us, 1), current_us_per_post=round(n_us, 1), ratio=round(n_us / b_us, 3)))


if __name__ == "__main__":
    main()

"""bench/schemes: tagging every post with the schemes it matches — 1,000 active schemes of 5–20
terms each — with the Aho-Corasick matcher (``schemes.matcher.Matcher``) and, as the baseline in
the same run, the naive loop that evaluates every scheme's expression by substring search
(``schemes.matcher.naive_match``), on one core. Both must give the same tags (checked).

    python -m bench.schemes [--schemes 1000] [--repeat 3]

Schemes are generated (seeded) from the vocabulary of the real posts shipped in the repo: words
and phrases, ``+`` and ``!`` items, exclude words, blank-line groups, nested parentheses in one
in ten and a regex in one in fifty. Posts: the labelled real posts plus the demo posts.
Time counts normalisation (NFKC) and matching, not tokenisation.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from collections import Counter

from bench._common import ROOT, one_core, real_posts, result_line
from schemes.matcher import Compiled, Matcher, naive_match
from yuqing.query import normalise, parse
from yuqing.text import tokenize

REGEXES = ["拖欠.{0,6}(工资|工钱)", "[0-9]{3,}元", "(噪音|噪声).{0,10}(扰民|影响)", "(停水|停电)了"]


def make_schemes(n: int, vocab: list[str], rng: random.Random) -> list[Compiled]:
    out: list[Compiled] = []
    while len(out) < n:
        k = len(out)
        budget = rng.randint(5, 20)
        groups = []
        used = 0
        while used < budget:
            size = min(budget - used, rng.randint(3, 10))
            items = []
            for j in range(size):
                r = rng.random()
                w = rng.choice(vocab)
                if r < 0.06:
                    w = f'"{w} {rng.choice(vocab)}"'
                if j == 0 and rng.random() < 0.1:
                    items.append("(" + " ".join(rng.sample(vocab, 3)) + ")")
                    used += 2  # three words
                elif j == 1 and rng.random() < 0.02:
                    items.append("/" + rng.choice(REGEXES) + "/")
                elif r < 0.2:
                    items.append("+" + w)
                elif r < 0.3:
                    items.append("!" + w)
                else:
                    items.append(w)
            if all(i.startswith("!") for i in items):
                items.append(rng.choice(vocab))
            groups.append(" ".join(items))
            used += size
        include = parse("\n\n".join(groups))
        room = 20 - len(include.words()) - len(include.regexes())
        if room < 0:
            continue
        excl = tuple(rng.sample(vocab, min(rng.randint(0, 3), max(0, room))))
        out.append(Compiled(f"方案{k:04d}", include, excl))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--schemes", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3, help="best of N passes")
    ap.add_argument("--naive-posts", type=int, default=300, help="posts the (slow) baseline runs over")
    args = ap.parse_args()
    cpu = one_core()
    demo = [json.loads(line) for line in (ROOT / "yuqing" / "demo" / "wenzheng.jsonl").read_text(encoding="utf-8").splitlines()]
    posts = real_posts(min_chars=0) + demo
    freq: Counter[str] = Counter()
    for p in posts:
        freq.update(t for t in set(tokenize(p["title"] + " " + p["content"])) if len(t) >= 2 and not t.isascii())
    # words that appear in 2..5% of posts: what schemes are written with (not 的/我们, not hapaxes)
    vocab = sorted(w for w, c in freq.items() if 2 <= c <= max(3, len(posts) // 20))
    rng = random.Random(10)
    schemes = make_schemes(args.schemes, vocab, rng)
    terms = [len(s.include.words()) + len(s.include.regexes()) + len(s.exclude) for s in schemes]
    t0 = time.perf_counter()
    matcher = Matcher(schemes)
    build_ms = (time.perf_counter() - t0) * 1000
    print(
        f"bench/schemes ({cpu}, load average {os.getloadavg()[0]:.2f}); {len(schemes)} schemes, "
        f"{min(terms)}-{max(terms)} terms (mean {sum(terms) / len(terms):.1f}), vocabulary {len(vocab)}; "
        f"{len(posts)} posts; automaton built in {build_ms:.0f} ms"
    )
    texts = [p["title"] + "\n" + p["content"] for p in posts]

    # Wall time and this thread's CPU time: on a shared machine the CPU time is the figure that
    # does not depend on the other processes (the wall time grows with the load average).
    best = best_cpu = float("inf")
    tags: list[list[str]] = []
    for _ in range(args.repeat):
        t, c = time.perf_counter(), time.thread_time()
        tags = [matcher.match_text(normalise(x)) for x in texts]
        best, best_cpu = min(best, time.perf_counter() - t), min(best_cpu, time.thread_time() - c)
    fast, fast_cpu = len(texts) / best, len(texts) / best_cpu

    sub = texts[: args.naive_posts]
    t, c = time.perf_counter(), time.thread_time()
    naive_tags = [naive_match(schemes, normalise(x)) for x in sub]
    naive, naive_cpu = len(sub) / (time.perf_counter() - t), len(sub) / (time.thread_time() - c)
    same = naive_tags == tags[: len(sub)]
    tagged = sum(1 for x in tags if x)
    mean = sum(len(x) for x in tags) / len(tags)
    print(
        f"matcher: {fast:,.0f} posts/s wall, {fast_cpu:,.0f} per CPU second ({best_cpu / len(texts) * 1e6:.0f} us CPU/post); "
        f"naive loop: {naive:,.0f} posts/s wall, {naive_cpu:,.0f} per CPU second, over {len(sub)} posts"
    )
    print(f"posts with a tag: {tagged}/{len(texts)}; mean tags per post {mean:.2f}; same tags as the naive loop: {same}")
    if not same:
        raise SystemExit("matcher and naive loop disagree")
    print(
        result_line(
            posts_per_s=round(fast),
            cpu_posts_per_s=round(fast_cpu),
            naive_posts_per_s=round(naive),
            naive_cpu_posts_per_s=round(naive_cpu),
            speedup=round(fast_cpu / naive_cpu, 1),
            schemes=len(schemes),
            mean_tags=round(mean, 2),
            load=round(os.getloadavg()[0], 2),
        )
    )


if __name__ == "__main__":
    main()

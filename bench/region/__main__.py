"""bench/region: the cost of region matching per post, beside tokenisation (which the classify
step pays anyway) and a naive scan that tests every gazetteer name with ``in`` (how the matcher
worked before the trie pattern), on the same posts in the same run, on one core.

    python -m bench.region [--repeat N]

Posts: the labelled real posts shipped in the repo (no 彭泽 place: most match nothing) and the demo
posts (九江市彭泽县<town> in most of them).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from bench._common import ROOT, one_core, real_posts, result_line
from processors.gazetteer import Gazetteer
from yuqing.text import tokenize


def _per_post_us(fn: Callable[[], Any], n: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return round(best / n * 1e6, 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3, help="best of N passes")
    args = ap.parse_args()
    cpu = one_core()
    g = Gazetteer.load()
    demo = [json.loads(line) for line in (ROOT / "yuqing" / "demo" / "wenzheng.jsonl").read_text(encoding="utf-8").splitlines()]
    sets = {"real": real_posts(min_chars=0), "demo": demo}
    names = sorted(g.names, key=len, reverse=True)
    out: dict[str, float | int | str] = {}
    print(f"bench/region ({cpu}); {len(names)} names in the gazetteer")
    print(f"{'posts':8s}{'n':>7s}{'region us':>12s}{'naive us':>11s}{'tokenise us':>13s}{'regions':>9s}")
    for label, posts in sets.items():
        toks = [(tokenize(p["title"]), tokenize(p["content"])) for p in posts]
        n = len(posts)

        def region(posts: list[dict[str, Any]] = posts, toks: list[tuple[list[str], list[str]]] = toks) -> list[str | None]:
            return [g.locate(p["title"], p["content"], title_tokens=t, body_tokens=b) for p, (t, b) in zip(posts, toks, strict=True)]

        def naive(posts: list[dict[str, Any]] = posts) -> None:
            for p in posts:
                text = p["title"] + "\n" + p["content"]
                [name for name in names if name in text]

        def tok(posts: list[dict[str, Any]] = posts) -> None:
            for p in posts:
                tokenize(p["title"])
                tokenize(p["content"])

        r, nv, tk = _per_post_us(region, n, args.repeat), _per_post_us(naive, n, args.repeat), _per_post_us(tok, n, args.repeat)
        found = sum(x is not None for x in region())
        print(f"{label:8s}{n:7d}{r:12.1f}{nv:11.1f}{tk:13.1f}{found:9d}")
        out |= {f"{label}_region_us": r, f"{label}_naive_us": nv, f"{label}_tokenize_us": tk, f"{label}_with_region": found}
    out["region_share_of_tokenize"] = round(float(out["demo_region_us"]) / float(out["demo_tokenize_us"]), 3)
    print(result_line(**out))


if __name__ == "__main__":
    main()

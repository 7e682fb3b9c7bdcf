"""bench/events: precision and recall of "same event" on the hand-read pair set
(``data/labels/event_pairs.jsonl``: retellings of one incident and look-alikes), for the
clusterer before (SimHash over tokens, ≤ 10 bits) and now (candidate keys + ``same_event``).
Not a timing benchmark; it also prints every pair the current rules get wrong, and the time
per fingerprint.

    python -m bench.events [--pairs FILE] [--quiet]

The pairs' times are ignored (the shared corpus spans years): this measures the text decision;
the 72-hour window applies on top of it in the pipeline.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from bench._common import ROOT, result_line
from processors.clustering import fingerprint, same_event, simhash
from yuqing.text import tokenize

PAIRS = ROOT / "data" / "labels" / "event_pairs.jsonl"


def _text(p: dict[str, Any]) -> str:
    return f"{p['title']}\n{p['content']}" if p["title"] else str(p["content"])


def before(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """The clusterer until 2026-12: SimHash of title + body tokens within 10 bits."""
    ta = tokenize(a["title"]) + tokenize(a["content"])
    tb = tokenize(b["title"]) + tokenize(b["content"])
    ha, hb = simhash(ta), simhash(tb)
    return bool(ha and hb and (ha ^ hb).bit_count() <= 10)  # Hamming distance of the two SimHashes


def after(a: dict[str, Any], b: dict[str, Any]) -> tuple[bool, str]:
    """Now: the pair must share a lookup key (else the store never offers one to the other),
    and ``same_event`` must hold."""
    fa, fb = fingerprint(a["title"], a["content"]), fingerprint(b["title"], b["content"])
    if not set(fa.keys) & set(fb.keys):
        return False, "no shared key"
    why = same_event(fa, fb)
    return why is not None, why or "rules say different"


def scores(pred: list[bool], gold: list[bool]) -> tuple[float, float, int, int, int]:
    tp = sum(p and g for p, g in zip(pred, gold, strict=True))
    fp = sum(p and not g for p, g in zip(pred, gold, strict=True))
    fn = sum(g and not p for p, g in zip(pred, gold, strict=True))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, tp, fp, fn


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=Path, default=PAIRS)
    ap.add_argument("--quiet", action="store_true", help="do not list the pairs the current rules get wrong")
    args = ap.parse_args()
    rows = [json.loads(line) for line in args.pairs.read_text(encoding="utf-8").splitlines() if line.strip()]
    gold = [bool(r["same_event"]) for r in rows]
    old = [before(r["a"], r["b"]) for r in rows]
    new_full = [after(r["a"], r["b"]) for r in rows]
    new = [p for p, _ in new_full]
    print(f"{len(rows)} pairs: {sum(gold)} same incident, {len(gold) - sum(gold)} look-alikes ({args.pairs})")
    print(f"{'':24} {'precision':>9} {'recall':>7} {'tp':>4} {'fp':>4} {'fn':>4}")
    for name, pred in (("before: SimHash <= 10", old), ("now: keys + same_event", new)):
        p, r, tp, fp, fn = scores(pred, gold)
        print(f"{name:24} {p:9.3f} {r:7.3f} {tp:4d} {fp:4d} {fn:4d}")
    for subset, keep in (
        ("demo corpus", lambda r: r["a"]["id"].startswith("demo:")),
        ("shared corpus", lambda r: not r["a"]["id"].startswith("demo:")),
    ):
        idx = [i for i, r in enumerate(rows) if keep(r)]
        pb = scores([old[i] for i in idx], [gold[i] for i in idx])
        pn = scores([new[i] for i in idx], [gold[i] for i in idx])
        print(f"  {subset} ({len(idx)} pairs): before P {pb[0]:.3f} R {pb[1]:.3f}; now P {pn[0]:.3f} R {pn[1]:.3f}")
    if not args.quiet:
        for r, g, (p, why) in zip(rows, gold, new_full, strict=True):
            if p != g:
                kind = "missed retelling" if g else "false merge"
                print(f"  {kind}: {r['note']} [{r['a']['id']} | {r['b']['id']}]: {why}")
    texts = [(r[s]["title"], r[s]["content"]) for r in rows for s in ("a", "b")] * 4
    tokens = [tokenize(t) + tokenize(c) for t, c in texts]
    t0 = time.perf_counter()
    for tok in tokens:
        simhash(tok)
    old_us = (time.perf_counter() - t0) / len(texts) * 1e6
    t0 = time.perf_counter()
    for title, content in texts:
        fingerprint(title, content)
    per = (time.perf_counter() - t0) / len(texts) * 1e6
    chars = sum(len(t) + len(c) for t, c in texts) / len(texts)
    print(f"per post (mean {chars:.0f} chars): SimHash of the tokens (before) {old_us:.0f} µs, fingerprint now {per:.0f} µs")
    pb, pn = scores(old, gold), scores(new, gold)
    print(
        result_line(
            pairs=len(rows),
            precision_before=round(pb[0], 3),
            recall_before=round(pb[1], 3),
            precision_now=round(pn[0], 3),
            recall_now=round(pn[1], 3),
            simhash_us=round(old_us),
            fingerprint_us=round(per),
        )
    )


if __name__ == "__main__":
    main()

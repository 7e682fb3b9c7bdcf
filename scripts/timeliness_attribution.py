"""How many official replies in a JSON-lines file of posts (default: the shared 问政 data) are
attributed to a configured unit, and how many stay unattributed, per source and per reason.

    PYTHONPATH=. python3 scripts/timeliness_attribution.py [FILE] [--settings yuqing.yaml]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter

from ledger.timeliness.attribution import UnitMatcher
from ledger.timeliness.config import TimelinessConfig


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("file", nargs="?", default="/work/shared/data/wenzheng_posts.jsonl")
    ap.add_argument("--settings", help="a settings file whose ledger.timeliness.units to use (default: the built-in list)")
    args = ap.parse_args()
    cfg = TimelinessConfig()
    if args.settings:
        from app.settings import load_settings

        cfg = load_settings(args.settings, environ={}).ledger.timeliness
    matcher = UnitMatcher(cfg.units)
    per_source: Counter[tuple[str, bool]] = Counter()
    reasons: Counter[str] = Counter()
    units: Counter[str] = Counter()
    with open(args.file, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if not row.get("reply"):
                continue
            att = matcher.attribute(str(row["reply"]), row.get("organization"))
            per_source[(row.get("source", "?"), att.unit is not None)] += 1
            reasons[att.how.split("（")[0]] += 1
            if att.unit:
                units[att.unit] += 1
    total = sum(per_source.values())
    matched = sum(n for (_, ok), n in per_source.items() if ok)
    for (source, ok), n in sorted(per_source.items()):
        print(f"{source:28} {'attributed' if ok else 'unattributed':12} {n}")
    print("how:", dict(reasons.most_common()))
    print("units:", dict(units.most_common()))
    print(f"RESULT replies={total} attributed={matched} unattributed={total - matched}")


if __name__ == "__main__":
    main()

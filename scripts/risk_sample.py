"""Draw the posts for the hand-read risk set (data/labels/risk.jsonl).

200 posts at random, 100 drawn at random among posts whose text carries words of serious
incidents (deaths, protest, large sums, many workers unpaid, fire, pollution, children), so that
重大 and 高 are represented, and 40 more among posts with words of the gravest kinds. Deterministic (seeded); writes one JSON object a line to stdout.

    python scripts/risk_sample.py > /tmp/risk_sample.jsonl
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

DATA = Path("/work/shared/data/wenzheng_posts.jsonl")
SERIOUS = re.compile(
    r"死亡|身亡|去世|遇难|丧命|受伤|重伤|抗议|维权|拉横幅|堵路|聚集|上访|围堵|跳楼|自杀|自焚|"
    r"爆炸|火灾|起火|坍塌|中毒|集资|跑路|[0-9一二三四五六七八九十百千两几]+(?:多)?(?:名|个)?(?:工人|农民工|户|人)|"
    r"[0-9.]+ ?[万亿]元|媒体|记者|曝光|超载|校车|恐吓|威胁|打人|黑恶"
)

GRAVEST = re.compile(
    r"死亡|身亡|去世|遇难|丧命|重伤|抗议|拉横幅|堵路|聚集|集体上访|群体|围堵|跳楼|自杀|爆炸|坍塌|中毒|"
    r"非法集资|跑路|[0-9十百几]+多?名?(?:农民工|工人)|[0-9.]+ ?亿元|超载"
)


def main() -> None:
    rows = [json.loads(line) for line in DATA.open(encoding="utf-8")]
    rng = random.Random(15)
    picked = rng.sample(range(len(rows)), 200)
    chosen = set(picked)
    serious = [i for i, r in enumerate(rows) if i not in chosen and SERIOUS.search(r["title"] + r["content"])]
    picked += rng.sample(serious, 100)
    # A second draw of 40 among posts with words of the gravest kinds, so that 重大 has support.
    chosen = set(picked)
    gravest = [i for i, r in enumerate(rows) if i not in chosen and GRAVEST.search(r["title"] + r["content"])]
    picked += rng.sample(gravest, 40)
    for i in picked:
        r = rows[i]
        json.dump({"id": r["id"], "title": r["title"], "content": r["content"]}, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")


if __name__ == "__main__":
    main()

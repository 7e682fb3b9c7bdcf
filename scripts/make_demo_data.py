"""Build the bundled demo sources from ../shared/data/wenzheng_posts.jsonl (run once; output committed).

The publishers anonymised place names (A市, A3区, A7县); the demo maps them onto 九江市/彭泽县 and
its townships so that region detection has something to find. Texts are otherwise unchanged.

    python scripts/make_demo_data.py ../shared/data/wenzheng_posts.jsonl yuqing/demo
"""

from __future__ import annotations

import csv
import json
import random
import re
import sys
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from yuqing.timeutil import parse_datetime

TOWNS = ["龙城镇", "马当镇", "定山镇", "芙蓉墩镇", "太白镇", "黄花镇", "天红镇", "杨梓镇", "浩山乡", "棉船镇"]


def localise(text: str, rng: random.Random) -> str:
    text = re.sub(r"A市", "九江市", text)
    return re.sub(r"A\d+[区县]", lambda m: "彭泽县" + rng.choice(TOWNS), text)


def main(src: str, out: str) -> None:
    rng = random.Random(42)
    with open(src, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    outdir = Path(out)
    outdir.mkdir(parents=True, exist_ok=True)
    pool = [r for r in rows if r["source"].startswith("tipdm2020c") and 60 <= len(r["content"]) <= 1500]
    wage = [r for r in pool if re.search("拖欠|欠薪|讨薪", r["title"] + r["content"]) and "工资" in r["title"] + r["content"]]
    picked = rng.sample(pool, 300)
    ids = {r["id"] for r in picked}
    picked += [r for r in rng.sample(wage, 30) if r["id"] not in ids]
    rng.shuffle(picked)
    # 1. replay JSONL (问政 boards), 2. RSS feed, 3. 12345 CSV
    replay, feed, hotline = picked[:220], picked[220:280], [r for r in rows if r["source"] == "fz12345_heichou"][:60]
    with open(outdir / "wenzheng.jsonl", "w", encoding="utf-8") as f:
        for r in replay:
            item = {k: r[k] for k in ("id", "title", "content", "published") if k in r}
            item["title"], item["content"] = localise(item["title"], rng), localise(item["content"], rng)
            if r.get("reply"):
                item["reply"] = localise(r["reply"], rng)
                item["replied_at"] = r.get("replied_at")
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
    items = []
    for r in feed:
        dt = parse_datetime(r["published"])
        items.append(
            "<item><title>{}</title><link>https://wz.jxnews.example/thread/{}</link><guid>{}</guid>"
            "<pubDate>{}</pubDate><description>{}</description></item>".format(
                escape(localise(r["title"], rng)),
                r["id"].split(":")[1],
                escape(r["id"]),
                format_datetime(dt) if dt else "",
                escape(localise(r["content"], rng)),
            )
        )
    (outdir / "wenzheng_jiujiang.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>问政九江（演示）</title>'
        "<link>https://wz.jxnews.example/</link><description>演示数据</description>\n" + "\n".join(items) + "\n</channel></rss>\n",
        encoding="utf-8",
    )
    with open(outdir / "hotline_12345.csv", "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(["工单编号", "标题", "诉求内容", "受理时间", "诉求类型", "办理结果", "办结时间", "承办单位"])
        for i, r in enumerate(hotline):
            w.writerow(
                [
                    f"GD2026{i + 1:06d}",
                    localise(r["title"], rng),
                    localise(r["content"], rng),
                    r["published"],
                    r.get("request_type", ""),
                    localise(r.get("reply", "") or "", rng),
                    r.get("replied_at", "") or "",
                    "县生态环境局",
                ]
            )
    print(f"demo: {len(replay)} replay posts, {len(feed)} feed items, {len(hotline)} hotline orders -> {outdir}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

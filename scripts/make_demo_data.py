"""Build the bundled demo sources from ../shared/data/wenzheng_posts.jsonl (run once; output committed).

The publishers anonymised place names (A市, A3区, A7县); the demo maps them onto 九江市/彭泽县 and
its townships so that region detection has something to find. Each post gets ONE township, drawn
from the real list in processors/gazetteer_pengze.yaml, used for every anonymised county in its
title, body and reply, so a post never names two towns by accident. Texts are otherwise unchanged.

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
from processors.gazetteer import Gazetteer
from yuqing.timeutil import parse_datetime


def towns() -> list[str]:
    """The county's 镇 and 乡, in the gazetteer's (official code) order."""
    return [p.name for p in Gazetteer.load().places if p.depth == 1 and p.name.endswith(("镇", "乡"))]


TOWNS = towns()


def localise(text: str, town: str) -> str:
    """``A市A3区`` -> ``九江市彭泽县<town>``: every anonymised county of one post becomes the same town."""
    text = re.sub(r"A市", "九江市", text)
    return re.sub(r"A\d+[区县]", "彭泽县" + town, text)


def main(src: str, out: str) -> None:
    rng = random.Random(42)
    places = random.Random(7)  # the towns: a stream of its own, so the sampled posts stay the same
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
            town = places.choice(TOWNS)
            item["title"], item["content"] = localise(item["title"], town), localise(item["content"], town)
            if r.get("reply"):
                item["reply"] = localise(r["reply"], town)
                item["replied_at"] = r.get("replied_at")
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
    items = []
    for r in feed:
        dt = parse_datetime(r["published"])
        town = places.choice(TOWNS)
        items.append(
            "<item><title>{}</title><link>https://wz.jxnews.example/thread/{}</link><guid>{}</guid>"
            "<pubDate>{}</pubDate><description>{}</description></item>".format(
                escape(localise(r["title"], town)),
                r["id"].split(":")[1],
                escape(r["id"]),
                format_datetime(dt) if dt else "",
                escape(localise(r["content"], town)),
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
            town = places.choice(TOWNS)
            w.writerow(
                [
                    f"GD2026{i + 1:06d}",
                    localise(r["title"], town),
                    localise(r["content"], town),
                    r["published"],
                    r.get("request_type", ""),
                    localise(r.get("reply", "") or "", town),
                    r.get("replied_at", "") or "",
                    "县生态环境局",
                ]
            )
    print(f"demo: {len(replay)} replay posts, {len(feed)} feed items, {len(hotline)} hotline orders -> {outdir}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

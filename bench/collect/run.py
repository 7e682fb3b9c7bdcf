"""Collector throughput: items per second parsed and published to the embedded SQLite bus.

10,000 items generated at run time from real posts (../shared/data/wenzheng_posts.jsonl):
4,000 in 20 RSS files, 3,000 in 30 JSON board pages, 3,000 in 3 CSV 12345 exports. Each kind
runs through ``collectors.service.run_source`` exactly as in production (parse, de-duplicate
against the state database, publish to the bus, save state). The baseline, measured in the same
run on the same feed files, is plain ``feedparser.parse`` (parsing only, no publishing).

    python -m bench.collect [--data PATH] [--items 10000]
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import shutil
import tempfile
import time
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import feedparser

from collectors.config import SourceConfig
from collectors.registry import make_collector
from collectors.service import run_source
from collectors.state import StateStore
from yuqing.bus.sqlite import SqliteBus
from yuqing.timeutil import now, parse_datetime

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "wenzheng_posts.jsonl"
PER_FEED, PER_PAGE, PER_CSV = 200, 100, 1000


def load(path: Path, n: int) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    out = []
    for i in range(n):  # cycle with a round suffix when more items than posts are asked for
        r = dict(rows[i % len(rows)])
        r["id"] = f"{r['id']}#{i // len(rows)}" if i >= len(rows) else r["id"]
        r["title"] = r["title"] if i < len(rows) else f"{r['title']}（{i // len(rows)}）"
        out.append(r)
    return out


def write_sources(posts: list[dict[str, Any]], root: Path) -> dict[str, list[Path]]:
    n = len(posts)
    n_rss, n_board = n * 4 // 10, n * 3 // 10
    rss, board, hot = posts[:n_rss], posts[n_rss : n_rss + n_board], posts[n_rss + n_board :]
    fallback = now()
    files: dict[str, list[Path]] = {"rss": [], "board": [], "csv": []}
    (root / "feeds").mkdir()
    for k in range(0, len(rss), PER_FEED):
        items = "\n".join(
            f"<item><title>{escape(p['title'])}</title><link>https://wz.example.gov.cn/t/{escape(p['id'])}</link>"
            f"<guid>{escape(p['id'])}</guid><pubDate>{format_datetime(parse_datetime(p['published']) or fallback)}</pubDate>"
            f"<description>{escape(p['content'])}</description></item>"
            for p in rss[k : k + PER_FEED]
        )
        f = root / "feeds" / f"feed_{k // PER_FEED:02d}.xml"
        f.write_text(
            f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>bench</title>\n{items}\n</channel></rss>\n',
            encoding="utf-8",
        )
        files["rss"].append(f)
    (root / "board").mkdir()
    for k in range(0, len(board), PER_PAGE):
        recs = [
            {"id": p["id"], "title": p["title"], "content": p["content"], "time": p["published"], "reply": p.get("reply")}
            for p in board[k : k + PER_PAGE]
        ]
        f = root / "board" / f"page_{k // PER_PAGE + 1}.json"
        f.write_text(json.dumps({"data": {"list": recs}}, ensure_ascii=False), encoding="utf-8")
        files["board"].append(f)
    (root / "board" / f"page_{len(files['board']) + 1}.json").write_text('{"data": {"list": []}}', encoding="utf-8")
    (root / "drop").mkdir()
    for k in range(0, len(hot), PER_CSV):
        f = root / "drop" / f"export_{k // PER_CSV}.csv"
        with open(f, "w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["工单编号", "标题", "诉求内容", "受理时间", "办理结果", "办结时间"])
            for i, p in enumerate(hot[k : k + PER_CSV]):
                w.writerow([f"GD{k + i:08d}", p["title"], p["content"], p["published"], p.get("reply") or "", p.get("replied_at") or ""])
        files["csv"].append(f)
    return files


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--items", type=int, default=10_000)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    tmp = Path(tempfile.mkdtemp(prefix="bench-collect-"))
    try:
        posts = load(args.data, args.items)
        files = write_sources(posts, tmp)
        # Baseline: plain feedparser over the same feed files (parse only).
        t0 = time.perf_counter()
        base_items = sum(len(feedparser.parse(f.read_bytes()).entries) for f in files["rss"])
        base_secs = time.perf_counter() - t0

        bus = SqliteBus(f"sqlite:///{tmp}/bus.db")
        state = StateStore(f"sqlite:///{tmp}/state.db")
        sources = {
            "rss": [SourceConfig(id=f"feed{i}", kind="rss", url=str(f)) for i, f in enumerate(files["rss"])],
            "board": [
                SourceConfig(
                    id="board",
                    kind="board",
                    url=str(tmp / "board" / "page_{page}.json"),
                    format="json",
                    items="data.list",
                    max_pages=len(files["board"]) + 1,
                    fields={"id": "id", "title": "title", "content": "content", "published": "time", "reply": "reply"},
                )
            ],
            "csv": [SourceConfig(id="hotline", kind="hotline", path=str(tmp / "drop"), settle_seconds=0)],
        }
        results: dict[str, tuple[int, float]] = {}
        for kind, cfgs in sources.items():
            t0 = time.perf_counter()
            n = 0
            for cfg in cfgs:
                report = run_source(make_collector(cfg), bus, state)
                if report.error:
                    raise SystemExit(f"{cfg.id}: {report.error}")
                n += report.published
            results[kind] = (n, time.perf_counter() - t0)
        on_bus = bus.topic_stats().get("posts.raw", 0)
        state.close()
        bus.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    total_n = sum(n for n, _ in results.values())
    total_s = sum(s for _, s in results.values())
    rate = {k: n / s for k, (n, s) in results.items()}
    base_rate = base_items / base_secs
    print(f"items generated from real posts: {len(posts):,} ({args.data.name}); on the bus after the run: {on_bus:,}")
    print(f"{'':<34}{'items':>8}{'seconds':>10}{'items/s':>10}")
    print(f"{'baseline feedparser.parse (rss)':<34}{base_items:>8,}{base_secs:>10.2f}{base_rate:>10,.0f}")
    for kind, (n, s) in results.items():
        print(f"{'yuqing ' + kind + ' (parse+dedup+publish)':<34}{n:>8,}{s:>10.2f}{rate[kind]:>10,.0f}")
    print(f"{'yuqing all kinds':<34}{total_n:>8,}{total_s:>10.2f}{total_n / total_s:>10,.0f}")
    ratio = rate["rss"] / base_rate
    print(f"rss: yuqing runs at {ratio:.2f}x the speed of plain feedparser.parse on the same files (overhead {1 / ratio:.2f}x the time)")
    print(
        f"RESULT items={total_n} items_per_s={total_n / total_s:.0f} rss_items_per_s={rate['rss']:.0f} "
        f"board_items_per_s={rate['board']:.0f} csv_items_per_s={rate['csv']:.0f} feedparser_items_per_s={base_rate:.0f} "
        f"rss_vs_feedparser={ratio:.2f}"
    )


if __name__ == "__main__":
    main()

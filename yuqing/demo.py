"""``yuqing demo``: the bundled demo sources through every stage on the embedded defaults.

The demo keeps everything under ``WORKDIR/yuqing-data`` — the same place the default settings
use — so ``yuqing search`` run in WORKDIR afterwards finds the demo's posts.
Source files are copied with their timestamps re-spread over the last 24 hours, so the
pipeline behaves as if the posts were arriving live.
"""

from __future__ import annotations

import csv
import importlib
import io
import re
import time
from collections.abc import Callable
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from collectors.config import SourceConfig
from yuqing.runtime import Runtime
from yuqing.settings import BusConfig, DatabaseConfig, Settings, StoreConfig
from yuqing.timeutil import now

BUNDLED = Path(__file__).with_name("demo")

# Later stages contribute a step: fn(runtime, echo) -> list of summary lines.
STEPS: list[str] = []

Echo = Callable[[str], None]


def _spread(n: int, hours: float = 24.0) -> list[Any]:
    ref = now()
    step = timedelta(hours=hours) / max(n, 1)
    return [ref - step * (n - i) for i in range(n)]


def prepare_sources(dest: Path) -> list[SourceConfig]:
    """Copy the bundled sources into ``dest`` with fresh timestamps; return their configs."""
    dest.mkdir(parents=True, exist_ok=True)
    feed = (BUNDLED / "wenzheng_jiujiang.xml").read_text(encoding="utf-8")
    dates = iter(_spread(feed.count("<pubDate>")))
    feed = re.sub(r"<pubDate>[^<]*</pubDate>", lambda m: f"<pubDate>{format_datetime(next(dates))}</pubDate>", feed)
    (dest / "wenzheng_jiujiang.xml").write_text(feed, encoding="utf-8")
    rows = list(csv.reader(io.StringIO((BUNDLED / "hotline_12345.csv").read_text(encoding="utf-8-sig"))))
    col = rows[0].index("受理时间")
    for row, dt in zip(rows[1:], _spread(len(rows) - 1)):
        row[col] = dt.strftime("%Y-%m-%d %H:%M:%S")
    with open(dest / "hotline_12345.csv", "w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(rows)
    return [
        SourceConfig(id="wenzheng-replay", kind="replay", name="问政留言（回放）", path=str(BUNDLED / "wenzheng.jsonl"), batch=100000),
        SourceConfig(id="wenzheng-jiujiang", kind="rss", name="问政九江", url=str(dest / "wenzheng_jiujiang.xml")),
        SourceConfig(id="hotline-12345", kind="hotline", name="12345 热线", path=str(dest / "hotline_12345.csv")),
    ]


def demo_settings(workdir: Path) -> Settings:
    data = (workdir / "yuqing-data").resolve()
    sources = prepare_sources(data / "demo-sources")
    return Settings(
        bus=BusConfig(url=f"sqlite:///{data}/bus.db"),
        store=StoreConfig(url=f"sqlite:///{data}/store.db"),
        database=DatabaseConfig(url=f"sqlite:///{data}/ledger.db"),
        state_url=f"sqlite:///{data}/state.db",
        sources=sources,
    )


def _bar(n: int, most: int, width: int = 30) -> str:
    return "█" * max(1 if n else 0, round(width * n / most)) if most else ""


def run_demo(workdir: Path, echo: Echo = print) -> dict[str, Any]:
    from collectors.registry import make_collector
    from collectors.service import run_source
    from processors.classify import Classifier
    from processors.worker import make_stage

    started = time.monotonic()
    workdir.mkdir(parents=True, exist_ok=True)
    settings = demo_settings(workdir)
    runtime = Runtime(settings)
    summary: dict[str, Any] = {}
    try:
        echo(f"[1/3] 采集：{len(settings.sources)} 个演示来源 → 消息总线 {settings.bus.url}")
        published = 0
        for src in settings.sources:
            r = run_source(make_collector(src), runtime.bus, runtime.state)
            published += r.published
            echo(f"      {src.display_name:<12} 获取 {r.fetched:>4} 条，发布 {r.published:>4} 条，重复 {r.duplicates} 条" + (f"，错误：{r.error}" if r.error else ""))
        echo(f"[2/3] 分类：主题 / 情感 / 风险 / 事件 / 地区 → 检索库 {settings.store.url}")
        t0 = time.monotonic()
        stage = make_stage(runtime.bus, runtime.store, Classifier(settings.processors), batch_size=200, linger=0.05)
        processed = 0
        while True:
            n = stage.run_once(timeout=0.2)
            if n == 0:
                break
            processed += n
            echo(f"      已处理 {processed} 条")
        stage.close()
        classify_secs = time.monotonic() - t0
        extra: list[str] = []
        echo("[3/3] 后续环节")
        for target in STEPS:
            module, _, name = target.partition(":")
            extra += getattr(importlib.import_module(module), name)(runtime, echo)
        elapsed = time.monotonic() - started
        topics = runtime.store.count_by("topic")
        sentiments = runtime.store.count_by("sentiment")
        risks = runtime.store.count_by("risk_level")
        total = sum(topics.values())
        summary = {
            "published": published, "processed": processed, "stored": total, "topics": topics, "sentiments": sentiments,
            "risk_levels": risks, "seconds": round(elapsed, 2), "posts_per_second": round(processed / classify_secs, 1) if classify_secs else None,
        }
        echo("")
        echo(f"演示完成：{total} 条帖子入库，用时 {elapsed:.1f} 秒（分类 {summary['posts_per_second']} 条/秒）")
        echo("各主题帖子数：")
        most = max(topics.values(), default=0)
        for topic, n in topics.items():
            echo(f"  {topic:<10}{n:>5}  {_bar(n, most)}")
        echo("情感：" + "，".join(f"{k} {v}" for k, v in sentiments.items()))
        echo("风险等级：" + "，".join(f"{k} {v}" for k, v in risks.items()))
        for line in extra:
            echo(line)
        where = "" if workdir.resolve() == Path.cwd().resolve() else f"cd {workdir} && "
        echo("")
        echo("接下来可以试试：")
        echo(f"  {where}yuqing search 工资 --json          # 全文检索演示帖子")
        echo(f"  {where}yuqing search --topic 工资拖欠 --sentiment negative")
        echo(f"  {where}yuqing sources                     # 各来源健康状况")
        echo("  yuqing run -c config/yuqing.example.yaml   # 常驻服务")
    finally:
        runtime.close()
    return summary

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
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import yuqing
from app.settings import BusConfig, DatabaseConfig, Settings, StoreConfig
from collectors.config import SourceConfig
from collectors.state import runtime_state
from yuqing.runtime import Runtime
from yuqing.store import Query
from yuqing.timeutil import now

BUNDLED = Path(yuqing.__file__).with_name("demo")  # the demo's data: yuqing/demo/

# Later stages contribute a step: fn(runtime, echo, **extra) -> list of summary lines; ``extra``
# is what the application hands a step from other stages (the ledger's 回应效果 stories need the
# classifier).
STEPS: list[str] = ["alerts.demo:step", "ledger.demo:step"]

Echo = Callable[[str], None]


def _spread(n: int, hours: float = 24.0) -> list[Any]:
    ref = now()
    step = timedelta(hours=hours) / max(n, 1)
    return [ref - step * (n - i) for i in range(n)]


_SITES: list[Any] = []


def stop_demo_sites() -> None:
    """Stop the local demo site(s) ``prepare_sources`` started."""
    while _SITES:
        _SITES.pop().stop()


def _demo_site(dest: Path) -> Any:
    """A local HTTP server (127.0.0.1, free port) answering the 领导留言板 API and the two board
    sites from the bundled fixtures, with times re-spread over the last 24 hours: the demo has
    no internet, and this way the liuyan and board collectors run over real HTTP as in production."""
    import atexit
    import json

    from collectors.fakes import FakeSite

    site = FakeSite()
    threads = json.loads((BUNDLED / "liuyan" / "threads.json").read_text(encoding="utf-8"))
    for t, dt in zip(threads, _spread(len(threads)), strict=True):
        delta = int(dt.timestamp()) - int(t["list"]["createDateline"])
        for obj in (t["list"], *t["content"]):
            for key in ("createDateline", "dateline", "threadsCheckTime", "lastAnswerTime"):
                if isinstance(obj.get(key), int):
                    obj[key] = min(obj[key] + delta, int(now().timestamp()))
    site.add_liuyan(threads)
    pages = [json.loads((BUNDLED / "board" / f"jiangxi_{n}.json").read_text(encoding="utf-8")) for n in (1, 2)]
    dates = iter(_spread(sum(len(p["data"]["list"]) for p in pages)))
    for n, page in reversed(list(enumerate(pages, start=1))):
        for item in reversed(page["data"]["list"]):
            item["createTime"] = next(dates).strftime("%Y-%m-%d %H:%M:%S")
        site.add_static(f"/api/wz/list?page={n}", json.dumps(page, ensure_ascii=False), "application/json;charset=UTF-8")
    site.add_static("/api/wz/list?page=3", json.dumps({"code": 0, "data": {"list": []}}), "application/json;charset=UTF-8")
    for n in (1, 2):
        html = (BUNDLED / "board" / f"jiujiang_{n}.html").read_text(encoding="utf-8")
        times = iter(_spread(html.count('class="time"')))

        def stamp(m: re.Match[str], t: Any = times) -> str:
            return m.group(1) + next(t).strftime("%Y-%m-%d %H:%M")

        html = re.sub(r'(<span class="time">)[^<]*', stamp, html)
        site.add_static(f"/wz/list_{n}.html", html)
    site.add_static("/wz/list_3.html", "<html><body><ul class='list'></ul></body></html>")
    site.start()
    _SITES.append(site)
    atexit.register(stop_demo_sites)
    return site


def _source(**fields: Any) -> SourceConfig:
    return SourceConfig.model_validate(fields)


def prepare_sources(dest: Path) -> list[SourceConfig]:
    """Copy the bundled sources into ``dest`` with fresh timestamps, start the local demo site
    for the web sources, and return the configs of all five kinds."""
    dest.mkdir(parents=True, exist_ok=True)
    feed = (BUNDLED / "wenzheng_jiujiang.xml").read_text(encoding="utf-8")
    dates = iter(_spread(feed.count("<pubDate>")))
    feed = re.sub(r"<pubDate>[^<]*</pubDate>", lambda m: f"<pubDate>{format_datetime(next(dates))}</pubDate>", feed)
    (dest / "wenzheng_jiujiang.xml").write_text(feed, encoding="utf-8")
    # 12345: a drop folder with a CSV export and an Excel export.
    rows = list(csv.reader(io.StringIO((BUNDLED / "hotline_12345.csv").read_text(encoding="utf-8-sig"))))
    col = rows[0].index("受理时间")
    for row, dt in zip(rows[1:], _spread(len(rows) - 1), strict=True):
        row[col] = dt.strftime("%Y-%m-%d %H:%M:%S")
    drop = dest / "hotline-drop"
    drop.mkdir(exist_ok=True)
    with open(drop / "12345_export.csv", "w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(rows[:41])
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["12345 政务服务便民热线 工单导出"])  # exports carry a title row above the header
    for row in [rows[0], *rows[41:]]:
        ws.append(row)
    wb.save(drop / "12345_export.xlsx")
    site = _demo_site(dest)
    return [
        _source(id="wenzheng-replay", kind="replay", name="问政留言（回放）", path=str(BUNDLED / "wenzheng.jsonl"), batch=100000),
        _source(id="wenzheng-jiujiang", kind="rss", name="问政九江", url=str(dest / "wenzheng_jiujiang.xml")),
        _source(id="hotline-12345", kind="hotline", name="12345 热线", path=str(drop), settle_seconds=0),
        _source(
            id="liuyan-jinan", kind="liuyan", name="领导留言板·晋安区委书记", url=site.url, fid="301", max_pages=5, retries=0, timeout=5
        ),
        _source(
            id="wenzheng-jiangxi",
            kind="board",
            name="问政江西",
            url=site.url + "/api/wz/list?page={page}",
            format="json",
            items="data.list",
            max_pages=5,
            retries=0,
            timeout=5,
            fields={
                "id": "id",
                "title": "title",
                "content": "content",
                "published": "createTime",
                "reply": "reply.content",
                "replied_at": "reply.time",
            },
            link=site.url + "/wz/detail?id={id}",
        ),
        _source(
            id="wenzheng-jiujiang-web",
            kind="board",
            name="问政九江（网页）",
            url=site.url + "/wz/list_{page}.html",
            format="html",
            items="ul.list > li.item",
            max_pages=5,
            retries=0,
            timeout=5,
            fields={"url": "a.title::attr(href)", "title": "a.title", "content": "p.summary", "published": "span.time"},
        ),
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


def _demo_schemes(settings: Settings, echo: Echo) -> Any:
    """Import the demo's 监测方案 (``yuqing/demo/schemes.yaml``) and return the tagger that uses them."""
    from schemes.store import SchemeStore
    from schemes.tagger import Tagger
    from schemes.yamlio import load_yaml

    table = SchemeStore(settings.database.url)
    try:
        schemes = load_yaml((BUNDLED / "schemes.yaml").read_text(encoding="utf-8"), where="yuqing/demo/schemes.yaml")
        table.save_all(schemes, by="demo")
    finally:
        table.close()
    echo(f"      监测方案 {len(schemes)} 个：" + "、".join(s.name for s in schemes))
    _demo_policies(settings, echo)
    return Tagger(settings.database.url)


def _demo_policies(settings: Settings, echo: Echo) -> None:
    """Register the demo's policy (``yuqing/demo/policies.yaml``), published today: the demo's
    posts are re-dated into the last 24 hours, so the real date would leave the page empty."""
    import yaml

    from schemes.policies import PolicyStore, validate_all

    rows = yaml.safe_load((BUNDLED / "policies.yaml").read_text(encoding="utf-8"))["policies"]
    policies = validate_all([r | {"published": now().date().isoformat()} for r in rows], where="yuqing/demo/policies.yaml")
    table = PolicyStore(settings.database.url)
    try:
        table.save_all(policies, by="demo")
    finally:
        table.close()
    echo(f"      政策 {len(policies)} 项：" + "、".join(p.title for p in policies))


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
            r = run_source(make_collector(src), runtime.bus, runtime_state(runtime))
            published += r.published
            echo(
                f"      {src.display_name:<12} 获取 {r.fetched:>4} 条，发布 {r.published:>4} 条，重复 {r.duplicates} 条"
                + (f"，错误：{r.error}" if r.error else "")
            )
        echo(f"[2/3] 分类：主题 / 情感 / 风险 / 事件 / 地区 / 监测方案 → 检索库 {settings.store.url}")
        tagger = _demo_schemes(settings, echo)
        t0 = time.monotonic()
        classifier = Classifier(settings.processors)
        stage = make_stage(runtime.bus, runtime.store, classifier, batch_size=200, linger=0.05, tagger=tagger)
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
            kwargs = {"classify": classifier.classify} if module == "ledger.demo" else {}
            extra += getattr(importlib.import_module(module), name)(runtime, echo, **kwargs)
        elapsed = time.monotonic() - started
        topics = runtime.store.count_by("topic")
        sentiments = runtime.store.count_by("sentiment")
        risks = runtime.store.count_by("risk_level")
        total = sum(topics.values())
        summary = {
            "published": published,
            "processed": processed,
            "stored": total,
            "topics": topics,
            "sentiments": sentiments,
            "risk_levels": risks,
            "seconds": round(elapsed, 2),
            "posts_per_second": round(processed / classify_secs, 1) if classify_secs else None,
        }
        echo("")
        echo(f"演示完成：{total} 条帖子入库，用时 {elapsed:.1f} 秒（分类 {summary['posts_per_second']} 条/秒）")
        echo("各主题帖子数：")
        most = max(topics.values(), default=0)
        for topic, n in topics.items():
            echo(f"  {topic:<10}{n:>5}  {_bar(n, most)}")
        echo("情感：" + "，".join(f"{k} {v}" for k, v in sentiments.items()))
        echo("风险等级：" + "，".join(f"{k} {v}" for k, v in risks.items()))
        tagged = Counter(name for p in runtime.store.search(Query(limit=100_000)).hits for name in p.schemes)
        echo("监测方案：" + ("，".join(f"{k} {v}" for k, v in sorted(tagged.items())) or "无匹配"))
        for line in extra:
            echo(line)
        where = "" if workdir.resolve() == Path.cwd().resolve() else f"cd {workdir} && "
        echo("")
        echo("接下来可以试试：")
        echo(f"  {where}yuqing search 工资 --json                        # 全文检索演示帖子")
        echo(f"  {where}yuqing search --topic 工资拖欠 --sentiment negative")
        echo(f"  {where}yuqing alerts list                               # 演示触发的预警")
        echo(f"  {where}yuqing ledger serve                              # 台账网页 http://127.0.0.1:8600/")
        echo("  yuqing doctor / yuqing run（配置见 config/yuqing.example.yaml）  # 接入真实来源后常驻运行")
    finally:
        runtime.close()
        stop_demo_sites()
    return summary

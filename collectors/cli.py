"""``yuqing collect`` and ``yuqing sources``."""

from __future__ import annotations

import json
import sys
import threading
from typing import Any

import click

from yuqing.clikit import Ctx, pass_ctx

_URL_KINDS = ("rss", "board", "liuyan")


def _options(pairs: tuple[str, ...]) -> dict[str, Any]:
    import yaml

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{pair!r}: use KEY=VALUE", param_hint="-o/--option")
        try:
            out[key.strip()] = yaml.safe_load(value) if value else ""
        except yaml.YAMLError:
            out[key.strip()] = value
    return out


@click.command()
@click.argument("source_name", required=False)
@click.option("--dry-run", is_flag=True, help="print the posts that would be published as JSONL; touch no state")
@click.option("--kind", help="with --dry-run: an ad-hoc source of this kind; SOURCE_NAME is then its URL or path")
@click.option("-o", "--option", "options", multiple=True, metavar="KEY=VALUE", help="with --kind: a setting of the ad-hoc source")
@click.option("--once", is_flag=True, help="one round over the sources, then exit")
@pass_ctx
def collect(ctx: Ctx, source_name: str | None, dry_run: bool, kind: str | None, options: tuple[str, ...], once: bool) -> None:
    """Worker: run the configured sources on their schedules and publish to posts.raw."""
    from collectors.config import SourceConfig, validate_sources
    from collectors.registry import make_collector
    from collectors.service import run_source
    from collectors.state import runtime_state
    from yuqing.runtime import Runtime

    settings = ctx.settings
    if kind:
        if not (dry_run and source_name):
            raise click.UsageError("--kind needs --dry-run and a URL or path: yuqing collect --dry-run --kind rss URL")
        field = "url" if kind in _URL_KINDS else "path"
        sources = [SourceConfig(id="adhoc", kind=kind, name="ad hoc", **{field: source_name, **_options(options)})]
        validate_sources(sources, "<command line>")
    else:
        if options:
            raise click.UsageError("-o/--option is for ad-hoc sources (--kind); configured sources take their settings from the file")
        sources = [s for s in settings.sources if s.enabled and (source_name is None or s.id == source_name)]
        if source_name and not sources:
            known = ", ".join(s.id for s in settings.sources) or "none configured"
            raise click.BadParameter(f"no enabled source {source_name!r} (known: {known})", param_hint="SOURCE_NAME")
    if dry_run:
        failed = False
        for src in sources:
            collector = make_collector(src)
            try:
                report = run_source(collector, None, None, dry_run=True)
            finally:
                collector.close()
            for post in report.posts:
                click.echo(post.model_dump_json())
            click.echo(
                f"{src.id}: 将发布 {len(report.posts)} 条（获取 {report.fetched}，重复 {report.duplicates}，"
                f"问题 {len(report.problems)}）" + (f"，错误：{report.error}" if report.error else ""),
                err=True,
            )
            failed = failed or bool(report.error)
        sys.exit(1 if failed else 0)
    runtime = Runtime(settings)
    try:
        if once:
            for src in sources:
                collector = make_collector(src)
                try:
                    r = run_source(collector, runtime.bus, runtime_state(runtime))
                finally:
                    collector.close()
                click.echo(
                    f"{src.id}: 获取 {r.fetched}，发布 {r.published}，回复更新 {r.updated}，重复 {r.duplicates}"
                    + (f"，暂存 {r.spooled}" if r.spooled else "")
                    + (f"，错误：{r.error}" if r.error else ""),
                    err=True,
                )
            return
        from apscheduler.schedulers.background import BackgroundScheduler

        from collectors.stage import start
        from yuqing.clikit import on_signals

        stop = threading.Event()
        on_signals(stop)
        scheduler = BackgroundScheduler(timezone="Asia/Shanghai")
        start(runtime, scheduler, stop)
        scheduler.start()
        while not stop.wait(1.0):
            pass
        scheduler.shutdown(wait=True)
    finally:
        runtime.close()


def _cell(text: str, width: int) -> str:
    """Pad to a display width: CJK characters take two columns."""
    import unicodedata

    shown = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(1, width - shown)


@click.command()
@click.option("--flatline-hours", type=float, default=None, help="flag every source silent this long (default: learnt per source)")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per source")
@click.option("--metrics", "as_metrics", is_flag=True, help="Prometheus text exposition")
@pass_ctx
def sources(ctx: Ctx, flatline_hours: float | None, as_json: bool, as_metrics: bool) -> None:
    """Health per source: last success, last error, items today, flatline."""
    from collectors.health import snapshot
    from collectors.metrics import render_statuses
    from collectors.state import StateStore

    settings = ctx.settings
    store = StateStore(settings.state_url)
    try:
        statuses = snapshot(list(settings.sources), store, override_hours=flatline_hours)
    finally:
        store.close()
    if as_metrics:
        click.echo(render_statuses(statuses), nl=False)
        return
    if as_json:
        for s in statuses:
            click.echo(json.dumps(s.to_dict(), ensure_ascii=False))
        return
    header = [("来源", 24), ("类型", 9), ("最近成功", 16), ("今日", 6), ("累计", 8), ("日均", 7), ("静默(时)", 10)]
    click.echo("".join(_cell(h, w) for h, w in header) + "状态")
    for s in statuses:
        last = f"{s.last_success:%m-%d %H:%M}" if s.last_success else "从未"
        typical = f"{s.typical_daily:g}" if s.typical_daily is not None else "-"
        silence = f"{s.silence_hours:.1f}" if s.silence_hours is not None else "-"
        status = s.status_zh
        if s.status == "error" and s.last_error:
            status += f"（连续 {s.failures} 次）：{s.last_error[:60]}"
        elif s.status == "spooling":
            status += f"：{s.spooled} 条"
        elif s.status == "flatline":
            status += f"：超过 {s.flatline_hours:g} 小时无新帖"
        elif s.status == "ok" and s.flatline_hours is None and s.enabled:
            status += "（静默判断：数据不足）"
        row = [(s.id, 24), (s.kind, 9), (last, 16), (str(s.items_today), 6), (str(s.items_total), 8), (typical, 7), (silence, 10)]
        click.echo("".join(_cell(v, w) for v, w in row) + status)

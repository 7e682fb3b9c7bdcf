"""``yuqing collect`` and ``yuqing sources``."""

from __future__ import annotations

import sys
import threading
import time

import click

from yuqing.cli import Ctx, pass_ctx


@click.command()
@click.argument("source_name", required=False)
@click.option("--dry-run", is_flag=True, help="print the posts that would be published as JSONL; touch no state")
@click.option("--kind", help="with --dry-run: an ad-hoc source of this kind; SOURCE_NAME is then its URL or path")
@click.option("--once", is_flag=True, help="one round over the sources, then exit")
@pass_ctx
def collect(ctx: Ctx, source_name: str | None, dry_run: bool, kind: str | None, once: bool) -> None:
    """Worker: run the configured sources on their schedules and publish to posts.raw."""
    from collectors.config import SourceConfig
    from collectors.registry import make_collector
    from collectors.service import run_source
    from yuqing.runtime import Runtime

    settings = ctx.settings
    if kind:
        if not (dry_run and source_name):
            raise click.UsageError("--kind needs --dry-run and a URL or path: yuqing collect --dry-run --kind rss URL")
        field = "url" if kind in ("rss", "board", "liuyan") else "path"
        sources = [SourceConfig(id="adhoc", kind=kind, name="ad hoc", **{field: source_name})]
        from collectors.config import validate_sources

        validate_sources(sources, "<command line>")
    else:
        sources = [s for s in settings.sources if s.enabled and (source_name is None or s.id == source_name)]
        if source_name and not sources:
            known = ", ".join(s.id for s in settings.sources) or "none configured"
            raise click.BadParameter(f"no enabled source {source_name!r} (known: {known})", param_hint="SOURCE_NAME")
    if dry_run:
        for src in sources:
            report = run_source(make_collector(src), None, None, dry_run=True)
            for post in report.posts:
                click.echo(post.model_dump_json())
            if report.error:
                click.echo(f"error: {report.error}", err=True)
        return
    runtime = Runtime(settings)
    collectors = [make_collector(s) for s in sources]
    try:
        if once:
            for c in collectors:
                r = run_source(c, runtime.bus, runtime.state)
                click.echo(f"{c.config.id}: fetched {r.fetched}, published {r.published}, duplicates {r.duplicates}"
                           + (f", ERROR {r.error}" if r.error else ""), err=True)
            return
        from apscheduler.schedulers.background import BackgroundScheduler

        from collectors.stage import start
        from yuqing.cli import _on_signals

        stop = threading.Event()
        _on_signals(stop)
        scheduler = BackgroundScheduler(timezone="Asia/Shanghai")
        start(runtime, scheduler, stop)
        scheduler.start()
        while not stop.wait(1.0):
            pass
        scheduler.shutdown(wait=True)
    finally:
        runtime.close()


@click.command()
@click.option("--flatline-hours", default=24.0, show_default=True, help="a source silent this long is flagged")
@pass_ctx
def sources(ctx: Ctx, flatline_hours: float) -> None:
    """Health per source: last success, last error, items today, flatline."""
    from yuqing.runtime import Runtime
    from yuqing.timeutil import now

    settings = ctx.settings
    runtime = Runtime(settings)
    try:
        health = {h.source: h for h in runtime.state.health()}
    finally:
        runtime.close()
    click.echo(f"{'来源':<22}{'类型':<9}{'最近成功':<18}{'今日':>6}{'累计':>8}  状态")
    ref = now()
    for src in settings.sources:
        h = health.get(src.id)
        last = f"{h.last_success:%m-%d %H:%M:%S}" if h and h.last_success else "从未"
        status = "正常"
        if not src.enabled:
            status = "已停用"
        elif h is None:
            status = "未运行"
        elif h.last_error and (not h.last_success or (h.last_error_at and h.last_error_at > h.last_success)):
            status = f"错误: {h.last_error[:60]}"
        elif h.last_success and (ref - h.last_success).total_seconds() > flatline_hours * 3600:
            status = "静默（flatline）"
        click.echo(f"{src.id:<24}{src.kind:<10}{last:<20}{(h.items_today if h else 0):>6}{(h.items_total if h else 0):>8}  {status}")
    time.sleep(0)
    sys.stdout.flush()


COMMANDS = [collect, sources]

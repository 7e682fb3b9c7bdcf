"""The ``yuqing`` command. ``yuqing --help`` lists everything."""

from __future__ import annotations

import json
import logging
import sys
import threading
from pathlib import Path
from typing import Any

import click

from yuqing import __version__
from yuqing.clikit import Ctx, on_signals, pass_ctx, setup_logging, tune_gc
from yuqing.clikit import since_option as _since
from yuqing.errors import ConfigError, YuqingError

log = logging.getLogger("yuqing")

# The stages' commands, loaded only when one of them runs (or for --help): ``yuqing classify``
# does not import SQLAlchemy, FastAPI or the alert engine. name -> "module:attribute".
LAZY_COMMANDS: dict[str, str] = {
    "collect": "collectors.cli:collect",
    "sources": "collectors.cli:sources",
    "classify": "processors.cli:classify",
    "train": "corrections.cli:train",
    "rules": "alerts.cli:rules",
    "alerts": "alerts.cli:alerts_group",
    "ledger": "app.cli:ledger_group",
    "brief": "briefings.cli:brief",
    "web": "web.cli:web_command",
    "schemes": "schemes.cli:schemes",
    "policies": "schemes.policy_cli:policies",
    "corrections": "corrections.cli:corrections",
}


def _load_settings(path: str | None) -> Any:
    from app.settings import load_settings

    return load_settings(path)


class YuqingGroup(click.Group):
    """Turns yuqing's own errors into one clear line and exit code 2 instead of a traceback, and
    loads the stages' commands lazily (the LazyGroup pattern of the click documentation)."""

    def __init__(self, *args: Any, lazy_commands: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            self.add_command(_load(self.lazy_commands[cmd_name], cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            click.echo(f"配置错误 / config error: {exc}", err=True)
            sys.exit(2)
        except YuqingError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)


def _load(target: str, name: str) -> click.Command:
    import importlib

    module, _, attr = target.partition(":")
    obj = getattr(importlib.import_module(module), attr)
    cmd = obj if isinstance(obj, click.Command) else obj()
    if not isinstance(cmd, click.Command):
        raise TypeError(f"{target} (command {name!r}) is not a click command")
    return cmd


def ledger_group() -> click.Group:
    """``yuqing ledger``, with ``serve`` from the web package (the ledger knows no web)."""
    from ledger.cli import ledger
    from web.cli import serve

    ledger.add_command(serve, "serve")
    return ledger


@click.group(cls=YuqingGroup, lazy_commands=LAZY_COMMANDS)
@click.option("-c", "--config", type=click.Path(dir_okay=False), envvar="YUQING_CONFIG", help="settings YAML (default ./yuqing.yaml)")
@click.version_option(__version__, prog_name="yuqing")
@click.pass_context
def main(ctx: click.Context, config: str | None) -> None:
    """yuqing 舆情: collect, classify, alert and track responses to public opinion."""
    tune_gc()
    ctx.obj = Ctx(config, _load_settings)


# -- run ----------------------------------------------------------------------------------
@main.command()
@pass_ctx
def run(ctx: Ctx) -> None:
    """The long-running service: every stage in one process, scheduled with APScheduler."""
    from apscheduler.schedulers.background import BackgroundScheduler

    from app.run import start_all
    from yuqing.runtime import Runtime

    settings = ctx.settings
    runtime = Runtime(settings)
    stop = threading.Event()
    on_signals(stop)
    scheduler = BackgroundScheduler(timezone="Asia/Shanghai")
    threads = start_all(runtime, scheduler, stop)
    scheduler.start()
    log.info("yuqing running (bus %s, store %s); Ctrl-C to stop", settings.bus.url, settings.store.url)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        scheduler.shutdown(wait=True)
        for t in threads:
            t.join(timeout=10)
        runtime.close()
        log.info("yuqing stopped")


# -- process ------------------------------------------------------------------------------
@main.command()
@click.option("--once", is_flag=True, help="process what is on the bus, then exit")
@pass_ctx
def process(ctx: Ctx, once: bool) -> None:
    """Worker: consume posts.raw, classify, write to the store, publish posts.classified."""
    from app.run import processing_tagger
    from processors.classify import Classifier
    from processors.worker import make_stage
    from yuqing.runtime import Runtime

    settings = ctx.settings
    runtime = Runtime(settings)
    cfg = settings.processors
    classifier = Classifier(cfg)
    tagger = processing_tagger(settings)
    stage = make_stage(runtime.bus, runtime.store, classifier, batch_size=cfg.batch_size, linger=cfg.linger_ms / 1000, tagger=tagger)
    try:
        if once:
            n = stage.drain()
            click.echo(f"processed {n} messages ({stage.stats.dead_lettered} dead-lettered)", err=True)
        else:
            stop = threading.Event()
            on_signals(stop)
            stage.run_forever(stop)
    finally:
        stage.close()
        runtime.close()


# -- search -------------------------------------------------------------------------------
@main.command()
@click.argument("query", required=False, default="")
@click.option("--topic")
@click.option("--sentiment", type=click.Choice(["negative", "neutral", "positive"]))
@click.option("--risk", "risk_level", type=click.Choice(["低", "中", "高", "重大"]))
@click.option("--source")
@click.option("--region")
@click.option("--scheme", help="监测方案 name: posts tagged with it")
@click.option("--since", help="24h, 7d or a date")
@click.option("--until", help="a date")
@click.option("-n", "--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line")
@pass_ctx
def search(
    ctx: Ctx,
    query: str,
    topic: str | None,
    sentiment: str | None,
    risk_level: str | None,
    source: str | None,
    region: str | None,
    scheme: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Search classified posts (all words must match)."""
    from yuqing.runtime import store_options
    from yuqing.store import Query, open_store

    s = ctx.settings
    store = open_store(s.store.url, refresh=s.store.refresh, **store_options(s))
    try:
        q = Query(
            text=query or None,
            topic=topic,
            sentiment=sentiment,
            risk_level=risk_level,
            source=source,
            region=region,
            scheme=scheme,
            since=_since(since),
            until=_since(until),
            limit=limit,
        )
        result = store.search(q)
    finally:
        store.close()
    for p in result.hits:
        if as_json:
            row = {
                "id": p.id,
                "title": p.title,
                "topic": p.topic,
                "sentiment": p.sentiment,
                "risk": p.risk.model_dump(),
                "published_at": p.published_at.isoformat(),
                "url": p.url,
                "source": p.source.id,
                "region": p.region,
                "event_id": p.event_id,
                "keywords": p.keywords,
                "schemes": p.schemes,
            }
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            click.echo(
                f"{p.published_at:%Y-%m-%d %H:%M}  [{p.topic}|{p.sentiment}|风险{p.risk.level}{p.risk.score}]  {p.title[:40]}  ({p.id})"
            )
    if not as_json:
        click.echo(f"共 {result.total} 条，显示 {len(result.hits)} 条", err=True)


# -- doctor -------------------------------------------------------------------------------
@main.command()
@pass_ctx
def doctor(ctx: Ctx) -> None:
    """Check every configured backend and say exactly what is wrong."""
    from app.doctor import run_checks

    ok = run_checks(ctx.settings, echo=click.echo)
    sys.exit(0 if ok else 1)


# -- demo ---------------------------------------------------------------------------------
@main.command()
@click.option("--workdir", type=click.Path(file_okay=False), default=".", show_default=True, help="where the demo keeps its data")
def demo(workdir: str) -> None:
    """Replay the bundled demo sources through every stage on the embedded defaults, then summarise."""
    from app.demo import run_demo

    setup_logging("WARNING")
    run_demo(Path(workdir), echo=click.echo)

"""The ``yuqing`` command. ``yuqing --help`` lists everything."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from yuqing import __version__
from yuqing.errors import ConfigError, YuqingError
from yuqing.settings import Settings, load_settings
from yuqing.timeutil import parse_since

log = logging.getLogger("yuqing")


def setup_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # kafka-python and elastic_transport log every connection at INFO.
    for noisy in ("kafka", "elastic_transport", "apscheduler", "httpx", "jieba", "alembic", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # kafka-python logs ERROR on every reconnect attempt while a broker is down (several a
    # second); the bus adapter turns failures into BusError and the worker logs each outage once.
    if level != "DEBUG":
        logging.getLogger("kafka").setLevel(logging.CRITICAL)


class Ctx:
    def __init__(self, config: str | None) -> None:
        self.config_path = config
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
            setup_logging(self._settings.log_level)
        return self._settings


pass_ctx = click.make_pass_decorator(Ctx)


class YuqingGroup(click.Group):
    """Turns yuqing's own errors into one clear line and exit code 2 instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            click.echo(f"配置错误 / config error: {exc}", err=True)
            sys.exit(2)
        except YuqingError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=YuqingGroup)
@click.option("-c", "--config", type=click.Path(dir_okay=False), envvar="YUQING_CONFIG", help="settings YAML (default ./yuqing.yaml)")
@click.version_option(__version__, prog_name="yuqing")
@click.pass_context
def main(ctx: click.Context, config: str | None) -> None:
    """yuqing 舆情: collect, classify, alert and track responses to public opinion."""
    ctx.obj = Ctx(config)


# -- run ----------------------------------------------------------------------------------
@main.command()
@pass_ctx
def run(ctx: Ctx) -> None:
    """The long-running service: every stage in one process, scheduled with APScheduler."""
    from apscheduler.schedulers.background import BackgroundScheduler

    from yuqing.runtime import Runtime
    from yuqing.services import start_all

    settings = ctx.settings
    runtime = Runtime(settings)
    stop = threading.Event()
    _on_signals(stop)
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


def _on_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: Any) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


# -- process ------------------------------------------------------------------------------
@main.command()
@click.option("--once", is_flag=True, help="process what is on the bus, then exit")
@pass_ctx
def process(ctx: Ctx, once: bool) -> None:
    """Worker: consume posts.raw, classify, write to the store, publish posts.classified."""
    from processors.classify import Classifier
    from processors.worker import make_stage
    from yuqing.runtime import Runtime

    settings = ctx.settings
    runtime = Runtime(settings)
    cfg = settings.processors
    classifier = Classifier(cfg)
    from corrections.apply import with_corrections
    from schemes.tagger import Tagger  # the shared schemes package (监测方案), not a stage

    tagger = with_corrections(Tagger(settings.database.url), settings.database.url)  # corrections survive re-processing
    stage = make_stage(runtime.bus, runtime.store, classifier, batch_size=cfg.batch_size, linger=cfg.linger_ms / 1000, tagger=tagger)
    try:
        if once:
            n = stage.drain()
            click.echo(f"processed {n} messages ({stage.stats.dead_lettered} dead-lettered)", err=True)
        else:
            stop = threading.Event()
            _on_signals(stop)
            stage.run_forever(stop)
    finally:
        stage.close()
        runtime.close()


# -- search -------------------------------------------------------------------------------
def _since(value: str | None) -> Any:
    if not value:
        return None
    dt = parse_since(value)
    if dt is None:
        raise click.BadParameter(f"{value!r}: use 24h, 7d, 2026-11-01 or an ISO time")
    return dt


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
    from yuqing.runtime import _store_options
    from yuqing.store import Query, open_store

    s = ctx.settings
    store = open_store(s.store.url, refresh=s.store.refresh, **_store_options(s))
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
    from yuqing.doctor import run_checks

    ok = run_checks(ctx.settings, echo=click.echo)
    sys.exit(0 if ok else 1)


# -- demo ---------------------------------------------------------------------------------
@main.command()
@click.option("--workdir", type=click.Path(file_okay=False), default=".", show_default=True, help="where the demo keeps its data")
def demo(workdir: str) -> None:
    """Replay the bundled demo sources through every stage on the embedded defaults, then summarise."""
    from yuqing.demo import run_demo

    setup_logging("WARNING")
    run_demo(Path(workdir), echo=click.echo)


def _register_plugins() -> None:
    """Commands owned by the stage packages."""
    import importlib

    for module in ("collectors.cli", "processors.cli", "alerts.cli", "ledger.cli", "schemes.cli", "schemes.policy_cli", "corrections.cli"):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                continue
            raise
        for cmd in getattr(mod, "COMMANDS", []):
            main.add_command(cmd)


_register_plugins()

"""``yuqing doctor``: check every configured backend and say exactly what is wrong."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from app.settings import Settings


def _redact(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    p = urlsplit(url)
    if p.password:
        netloc = p.netloc.replace(f":{p.password}@", ":***@")
        return urlunsplit((p.scheme, netloc, p.path, p.query, p.fragment))
    return url


def calendar_lines(today: date) -> list[str]:
    """Where this and next year's holidays come from; a warning from December on when next year's
    official schedule is unknown (deadlines would be counted Monday to Friday)."""
    from yuqing import workdays

    warning = workdays.schedule_warning(today)
    if warning:
        return [f"  warn  calendar: {warning}"]
    cal = workdays.calendar()
    years = [today.year, today.year + 1] if today.month == 12 else [today.year]
    return ["  ok    calendar: " + ", ".join(f"{y} {cal.source(y)}" for y in years)]


def run_checks(settings: Settings, echo: Callable[[str], None] = print) -> bool:
    from yuqing.bus import open_bus
    from yuqing.runtime import bus_options, store_options
    from yuqing.store import open_store

    ok = True
    echo(f"settings: {settings.source_file or '<defaults>'}")

    def check(name: str, url: str, fn: Callable[[], str], hint: str) -> None:
        nonlocal ok
        try:
            echo(f"  ok    {name}: {fn()}")
        except Exception as exc:
            ok = False
            echo(f"  FAIL  {name} ({_redact(url)}): {exc}")
            echo(f"        → {hint}")

    def bus() -> str:
        b = open_bus(settings.bus.url, partitions=settings.bus.partitions, **bus_options(settings))
        try:
            return b.check()
        finally:
            b.close()

    def store() -> str:
        s = open_store(settings.store.url, refresh=settings.store.refresh, **store_options(settings))
        try:
            return s.check()
        finally:
            s.close()

    check("bus", settings.bus.url, bus, "is the broker running and reachable from here? check bus.url / YUQING_BUS__URL")
    check(
        "store",
        settings.store.url,
        store,
        "is Elasticsearch running, and are store.username/password right? check store.url / YUQING_STORE__URL",
    )
    from ledger.db import check_database

    check(
        "database",
        settings.database.url,
        lambda: check_database(settings.database.url),
        "is PostgreSQL running and does the role exist? check database.url / YUQING_DATABASE__URL",
    )
    if settings.sources:
        from collectors.config import typed

        for src in settings.sources:
            try:
                typed(src)
                echo(f"  ok    source {src.id} ({src.kind}){'' if src.enabled else ' [disabled]'}")
            except Exception as exc:  # validated at load; kept for plugin kinds that fail to import later
                ok = False
                echo(f"  FAIL  source {src.id}: {exc}")
    else:
        echo("  note  no sources configured: `yuqing run` will collect nothing (see config/yuqing.example.yaml)")
    from yuqing.timeutil import now

    for line in calendar_lines(now().date()):
        echo(line)
    echo("all checks passed" if ok else "some checks failed")
    return ok

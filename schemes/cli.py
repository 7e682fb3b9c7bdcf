"""``yuqing schemes list|import|export|check|preview|backfill``: 监测方案 from the command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from schemes.model import SchemeError
from yuqing.clikit import Ctx, pass_ctx


def _table(ctx: Ctx):  # type: ignore[no-untyped-def]
    from schemes.store import SchemeStore

    return SchemeStore(ctx.settings.database.url)


def _fail(exc: SchemeError) -> None:
    click.echo(f"{len(exc.problems)} problem(s), nothing saved:", err=True)
    for p in exc.problems:
        click.echo(f"  {p}", err=True)
    sys.exit(2)


@click.group("schemes")
def schemes() -> None:
    """监测方案: named, shared keyword schemes (list, import/export YAML, check, preview, backfill)."""


@schemes.command("list")
@pass_ctx
def list_(ctx: Ctx) -> None:
    """List the schemes in the database."""
    table = _table(ctx)
    try:
        for s in table.list():
            state = "启用" if s.active else "停用"
            include = " ".join(s.include.split())
            click.echo(f"{s.name}\t{s.team or '-'}\t{state}\t{include[:60]}")
    finally:
        table.close()


@schemes.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--by", default="cli", help="recorded as who changed them")
@pass_ctx
def import_(ctx: Ctx, path: str, by: str) -> None:
    """Create or update (by name) every scheme in a YAML file: all of them or, on any error, none."""
    from schemes.yamlio import load_yaml

    try:
        rows = load_yaml(Path(path).read_text(encoding="utf-8"), where=path)
        table = _table(ctx)
        try:
            created, updated = table.save_all(rows, by=by)
        finally:
            table.close()
    except SchemeError as exc:
        _fail(exc)
        return
    click.echo(f"imported {len(rows)} scheme(s): {created} new, {updated} updated")


@schemes.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="default: standard output")
@pass_ctx
def export(ctx: Ctx, output: str | None) -> None:
    """Write every scheme as YAML (what `import` reads)."""
    from schemes.yamlio import dump_yaml

    table = _table(ctx)
    try:
        text = dump_yaml(table.list())
    finally:
        table.close()
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


@schemes.command("check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--days", type=int, default=30, show_default=True, help="preview window")
@click.option("--no-preview", is_flag=True, help="only validate; do not query the store")
@pass_ctx
def check(ctx: Ctx, path: str, days: int, no_preview: bool) -> None:
    """Validate a YAML file without saving; preview each scheme against the store and warn about
    schemes that match (nearly) everything."""
    from schemes.yamlio import load_yaml

    try:
        rows = load_yaml(Path(path).read_text(encoding="utf-8"), where=path)
    except SchemeError as exc:
        click.echo(f"{len(exc.problems)} problem(s):", err=True)
        for p in exc.problems:
            click.echo(f"  {p}", err=True)
        sys.exit(2)
    click.echo(f"{path}: {len(rows)} scheme(s), all valid")
    if no_preview:
        return
    from schemes.preview import preview
    from yuqing.runtime import Runtime

    runtime = Runtime(ctx.settings)
    warned = 0
    try:
        for s in rows:
            pv = preview(runtime.store, s, days=days, samples=0)
            click.echo(f"  {s.name}: {pv.total} post(s) in the last {days} days of {pv.window_total}")
            if pv.warning:
                warned += 1
                click.echo(f"  warning: {s.name}: {pv.warning}", err=True)
    finally:
        runtime.close()
    if warned:
        sys.exit(1)


@schemes.command("preview")
@click.argument("name")
@click.option("--days", type=int, default=30, show_default=True)
@click.option("--samples", type=int, default=5, show_default=True)
@pass_ctx
def preview_cmd(ctx: Ctx, name: str, days: int, samples: int) -> None:
    """What a saved scheme would have matched in the last N days: posts per day and samples."""
    from schemes.preview import preview
    from yuqing.runtime import Runtime

    table = _table(ctx)
    try:
        s = table.get(name)
    finally:
        table.close()
    if s is None:
        raise click.ClickException(f"no scheme named {name!r} (see `yuqing schemes list`)")
    runtime = Runtime(ctx.settings)
    try:
        p = preview(runtime.store, s, days=days, samples=samples)
    finally:
        runtime.close()
    click.echo(f"{s.name}: {p.total} post(s) in the last {days} days ({p.share:.0%} of {p.window_total})")
    most = max(p.per_day.values(), default=0)
    for day, n in p.per_day.items():
        click.echo(f"  {day} {n:5d} {'█' * max(1, round(30 * n / most)) if n else ''}")
    for post in p.samples:
        click.echo(f"  · {post.published_at:%Y-%m-%d %H:%M} {post.title[:50]}")
    if p.warning:
        click.echo(f"warning: {p.warning}", err=True)


@schemes.command("backfill")
@click.option("--batch", type=int, default=200, show_default=True, help="posts per page (one commit each)")
@click.option("--pause", type=float, default=0.0, help="seconds to sleep between pages, leaving the store to the pipeline")
@click.option("--restart", is_flag=True, help="start from the newest post even if a run of this revision was interrupted")
@click.option(
    "--lease",
    "lease_seconds",
    type=float,
    default=60.0,
    show_default=True,
    help="seconds another runner waits after this one dies before taking over (renewed every page)",
)
@pass_ctx
def backfill_cmd(ctx: Ctx, batch: int, pause: float, restart: bool, lease_seconds: float) -> None:
    """Re-tag stored posts with the active schemes (resumes where a killed run stopped). The web app
    runs the same backfill in the background after every change; one runner at a time (a lease):
    if another runs, this one waits for it."""
    import time

    from schemes.backfill import Lease, LeaseLost, Progress, backfill
    from yuqing.runtime import Runtime

    runtime = Runtime(ctx.settings)
    table = _table(ctx)
    lease = Lease(table, seconds=lease_seconds)
    bar = None
    last = 0

    def on_page(p: Progress) -> None:
        nonlocal bar, last
        if bar is None:
            if p.resumed:
                click.echo(f"resuming at post {p.done} of {p.total} (schemes revision {p.revision})", err=True)
            bar = click.progressbar(length=p.total, label="打标签 tagging", file=sys.stderr, show_pos=True)
            bar.__enter__()
        bar.update(p.done - last)
        last = p.done

    try:
        told = False
        while not lease.acquire():
            if not told:
                click.echo(f"another backfill runs ({lease.holder_now() or 'its lease is expiring'}); waiting for it", err=True)
                told = True
            time.sleep(1.0)
        try:
            result = backfill(runtime.store, table, batch=batch, pause=pause, restart=restart, on_page=on_page, lease=lease)
        except LeaseLost as exc:
            raise click.ClickException(f"{exc}; it goes on from this run's last page") from exc
        finally:
            lease.release()
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
        table.close()
        runtime.close()
    if result.resumed and result.done == result.total and last == 0 and bar is None:
        click.echo(f"already done for schemes revision {result.revision} ({result.total} posts); --restart to run again")
    else:
        click.echo(f"tagged {result.done} post(s), {result.written} changed (schemes revision {result.revision})")

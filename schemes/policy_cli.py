"""``yuqing policies list|add|import|export``: 政策舆情 from the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from schemes.policies import PolicyError
from yuqing.clikit import Ctx, pass_ctx


def _table(ctx: Ctx) -> Any:
    from schemes.policies import PolicyStore

    return PolicyStore(ctx.settings.database.url)


def _fail(exc: PolicyError) -> None:
    click.echo(f"{len(exc.problems)} problem(s), nothing saved:", err=True)
    for p in exc.problems:
        click.echo(f"  {p}", err=True)
    sys.exit(2)


@click.group("policies")
def policies() -> None:
    """政策舆情: registered policies watched before and after publication (list, add, import/export YAML)."""


@policies.command("list")
@pass_ctx
def list_(ctx: Ctx) -> None:
    """List the registered policies: id, publication date, state, title, 文号, how posts are found."""
    table = _table(ctx)
    try:
        for p in table.list():
            finder = f"scheme:{p.scheme}" if p.scheme else " ".join(p.keywords.split())[:60]
            state = "监测中" if p.active else "停用"
            click.echo(f"{p.id}\t{p.published:%Y-%m-%d}\t{state}\t{p.title}\t{p.doc_number or '-'}\t{finder}")
    finally:
        table.close()


@policies.command("add")
@click.option("--title", required=True)
@click.option("--doc-number", default="", help="文号")
@click.option("--issuer", required=True, help="发文机关")
@click.option("--published", required=True, help="publication date, e.g. 2026-11-01 (up to a year ahead)")
@click.option("--scheme", default="", help="监测方案 name: posts tagged with it")
@click.option("--keywords", default="", help="or a keyword expression (监测方案 syntax)")
@click.option("--interpretation-url", default="", help="URL of the policy's 解读")
@click.option("--inactive", is_flag=True, help="register without watching it")
@click.option("--by", default="cli", help="recorded as who registered it")
@pass_ctx
def add(ctx: Ctx, by: str, inactive: bool, **fields: str) -> None:
    """Register one policy."""
    table = _table(ctx)
    try:
        p = table.save(fields | {"active": not inactive}, by=by)
    except PolicyError as exc:
        _fail(exc)
        return
    finally:
        table.close()
    click.echo(f"registered policy {p.id}: {p.title} ({p.published:%Y-%m-%d})")


@policies.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--by", default="cli", help="recorded as who changed them")
@pass_ctx
def import_(ctx: Ctx, path: str, by: str) -> None:
    """Create or update (by title) every policy in a YAML file: all of them or, on any error, none."""
    from schemes.policies import load_yaml

    try:
        rows = load_yaml(Path(path).read_text(encoding="utf-8"), where=path)
        table = _table(ctx)
        try:
            created, updated = table.save_all(rows, by=by)
        finally:
            table.close()
    except PolicyError as exc:
        _fail(exc)
        return
    click.echo(f"imported {len(rows)} policy(ies): {created} new, {updated} updated")


@policies.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="default: standard output")
@pass_ctx
def export(ctx: Ctx, output: str | None) -> None:
    """Write every policy as YAML (what `import` reads)."""
    from schemes.policies import dump_yaml

    table = _table(ctx)
    try:
        text = dump_yaml(table.list())
    finally:
        table.close()
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)

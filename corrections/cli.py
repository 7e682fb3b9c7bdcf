"""``yuqing corrections export|list``: 纠错 from the command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from yuqing.cli import Ctx, pass_ctx


@click.group("corrections")
def corrections() -> None:
    """纠错: corrections of classified posts by monitors (export as labelled data, list)."""


@corrections.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="file to write (default: stdout)")
@click.option("--since", help="only posts corrected since: 7d, 24h or a date")
@pass_ctx
def export(ctx: Ctx, output: Path | None, since: str | None) -> None:
    """Corrected posts as labelled JSONL (the format of data/labels/labelled.jsonl), one per post."""
    from corrections.export import write_jsonl
    from corrections.table import CorrectionTable
    from yuqing.cli import _since

    table = CorrectionTable(ctx.settings.database.url)
    try:
        if output is None:
            n = write_jsonl(table, sys.stdout, since=_since(since))
        else:
            tmp = output.with_name(output.name + ".part")
            with tmp.open("w", encoding="utf-8") as f:
                n = write_jsonl(table, f, since=_since(since))
            tmp.replace(output)  # a reader never sees half a file
    finally:
        table.close()
    click.echo(f"{n} corrected post(s) exported" + (f" to {output}" if output else ""), err=True)


@corrections.command("list")
@click.option("-n", "--limit", default=20, show_default=True)
@pass_ctx
def list_(ctx: Ctx, limit: int) -> None:
    """The latest corrections: when, who, post, field old→new."""
    from corrections.model import FIELD_LABELS, label
    from corrections.table import CorrectionTable

    table = CorrectionTable(ctx.settings.database.url)
    try:
        for c in table.all()[-limit:][::-1]:
            changes = "；".join(f"{FIELD_LABELS[f]} {label(f, c.old[f])}→{label(f, c.new[f])}" for f in c.changed) or "确认无误"
            click.echo(f"{c.created_at:%Y-%m-%d %H:%M}\t{c.actor_name}\t{c.post_id}\t{changes}")
    finally:
        table.close()


COMMANDS = [corrections]

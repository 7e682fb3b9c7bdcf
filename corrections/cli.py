"""``yuqing corrections export|list``: 纠错 from the command line; ``yuqing train``: the models
rebuilt from the labelled posts and the corrections (the processors' training with the people's labels)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from yuqing.clikit import Ctx, pass_ctx


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
    from yuqing.clikit import since_option as _since

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


@click.command()
@click.option(
    "--ship",
    type=click.Choice(["all", "train"]),
    default="all",
    show_default=True,
    help="ship models refitted on all labelled posts, or the train-split ones the dev metrics describe",
)
@click.option("--cv-only", is_flag=True, help="only print the cross-validated topic report on train (bootstrap 95% CIs); write nothing")
@click.option(
    "--labels",
    "labels_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="with --cv-only: report on this labelled file instead of data/labels/labelled.jsonl",
)
@click.option(
    "--resamples", type=click.IntRange(100, 100_000), default=1000, show_default=True, help="bootstrap resamples for the intervals"
)
@click.option("--no-corrections", is_flag=True, help="leave out the corrections (纠错) monitors made in the web pages")
@click.option(
    "--corrections",
    "corrections_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="corrections from this export (`yuqing corrections export`) instead of the database",
)
@pass_ctx
def train(
    ctx: Ctx, ship: str, cv_only: bool, resamples: int, labels_path: Path | None, no_corrections: bool, corrections_path: Path | None
) -> None:
    """Rebuild the topic and sentiment models from data/labels/labelled.jsonl and the corrections."""
    from processors.train import LABELS
    from processors.train import cv_only as train_cv_only
    from processors.train import main as train_main

    echo = lambda line: click.echo(line, err=True)  # noqa: E731
    if cv_only:
        train_cv_only(echo=echo, resamples=resamples, labels=labels_path or LABELS)
    elif labels_path is not None:
        raise click.UsageError("--labels is only for --cv-only (the shipped models always train on data/labels/labelled.jsonl)")
    else:
        from corrections.export import corrections_for_training

        if no_corrections and corrections_path is not None:
            raise click.UsageError("--no-corrections and --corrections exclude each other")
        try:
            fixed = [] if no_corrections else corrections_for_training(ctx.settings.database.url, corrections_path)
        except ValueError as exc:  # a bad export: named by file and line, before any training
            raise click.BadParameter(str(exc), param_hint="--corrections") from exc
        train_main(ship=ship, echo=echo, resamples=resamples, corrections=fixed)

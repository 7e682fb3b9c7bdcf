"""``yuqing classify``: JSONL in, JSONL out with the analysis added."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO

import click

from yuqing.cli import Ctx, pass_ctx


@click.command()
@click.argument("file", type=click.File("r", encoding="utf-8"), default="-")
@pass_ctx
def classify(ctx: Ctx, file: IO[str]) -> None:
    """Classify JSONL posts (title, content; other fields pass through) from FILE or stdin."""
    from processors.classify import Classifier
    from yuqing.events import PostCollected, Source
    from yuqing.ids import post_id
    from yuqing.timeutil import now, parse_datetime

    classifier = Classifier(ctx.settings.processors)
    src = Source(id="classify", kind="cli", name="yuqing classify")
    show_progress = file is not sys.stdin and file.name != "<stdin>"
    n = 0
    for lineno, line in enumerate(file, start=1):
        line = line.strip()
        if not line:
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            click.echo(f"{file.name}:{lineno}: skipped, malformed JSON: {exc}", err=True)
            continue
        title, content = str(item.get("title") or ""), str(item.get("content") or "")
        post = PostCollected(
            id=str(item.get("id") or post_id("classify", text=(title, content or str(lineno)))),
            title=title,
            content=content,
            published_at=parse_datetime(item.get("published_at") or item.get("published")) or now(),
            source=src,
        )
        c = classifier.classify(post)
        item.update(
            topic=c.topic, sentiment=c.sentiment, risk=c.risk.model_dump(), keywords=c.keywords, event_id=c.event_id, region=c.region
        )
        click.echo(json.dumps(item, ensure_ascii=False))
        n += 1
        if show_progress and n % 1000 == 0:
            click.echo(f"classified {n} posts", err=True)
    if show_progress:
        click.echo(f"classified {n} posts", err=True)


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
def train(ship: str, cv_only: bool, resamples: int, labels_path: Path | None) -> None:
    """Rebuild the topic and sentiment models from data/labels/labelled.jsonl."""
    from processors.train import LABELS
    from processors.train import cv_only as train_cv_only
    from processors.train import main as train_main

    echo = lambda line: click.echo(line, err=True)  # noqa: E731
    if cv_only:
        train_cv_only(echo=echo, resamples=resamples, labels=labels_path or LABELS)
    elif labels_path is not None:
        raise click.UsageError("--labels is only for --cv-only (the shipped models always train on data/labels/labelled.jsonl)")
    else:
        train_main(ship=ship, echo=echo, resamples=resamples)


COMMANDS = [classify, train]

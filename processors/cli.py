"""``yuqing classify``: JSONL in, JSONL out with the analysis added."""

from __future__ import annotations

import gc
import json
import os
import select
import sys
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

import click

from yuqing.clikit import Ctx, pass_ctx

if TYPE_CHECKING:
    from processors.classify import Classifier


FLUSH_EVERY = 256  # posts per block written when the input is a file


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True), default="-")
@pass_ctx
def classify(ctx: Ctx, file: str) -> None:
    """Classify JSONL posts (title, content; other fields pass through) from FILE or stdin.

    One JSON object in per line, the same object out with topic, sentiment, risk, keywords,
    event_id and region added. From a file the output is written in blocks; from a pipe or a
    terminal each answer is written as soon as no more input is waiting.
    """
    from processors.settings import ProcessorsSettings

    # Loading makes ~40,000 objects that live as long as the process (models, tables, compiled
    # patterns): the cyclic garbage collector is kept from scanning them while they are made, and
    # then they are frozen, out of the collections the posts' work triggers (~80 ms CPU on 2,000
    # posts, ~10 ms of start-up).
    gc.disable()
    try:
        # Only the processors' section: the other stages' settings are neither built nor validated.
        config = ctx.partial_settings(ProcessorsSettings).processors

        from processors.classify import Classifier

        classifier = Classifier(config)
    finally:
        gc.freeze()
        gc.enable()
    if file == "-":
        _classify_stream(classifier, sys.stdin.buffer, "<stdin>", sys.stdout.buffer, interactive=True)
        return
    try:
        fh = open(file, "rb")  # noqa: SIM115 (closed below; a context manager would indent the loop for nothing)
    except OSError as exc:
        raise click.BadParameter(f"cannot read {file}: {exc.strerror}", param_hint="FILE") from exc
    try:
        interactive = not os.path.isfile(file)  # a named pipe or a device
        _classify_stream(classifier, fh, file, sys.stdout.buffer, interactive=interactive, progress=True)
    finally:
        fh.close()


def _classify_stream(
    classifier: Classifier, lines: IO[bytes], name: str, out: IO[bytes], *, interactive: bool, progress: bool = False
) -> int:
    """JSONL in, JSONL out; malformed lines are reported on stderr with their line number and
    skipped. Returns the number of posts classified."""
    import orjson

    from yuqing.events import PostCollected, Source
    from yuqing.ids import post_id
    from yuqing.timeutil import now, parse_datetime

    src = Source(id="classify", kind="cli", name="yuqing classify")
    fd = lines.fileno() if interactive else -1
    pending: list[tuple[dict[str, Any], PostCollected, Callable[[Any], bytes]]] = []
    block: list[bytes] = []
    n = 0

    def flush() -> None:
        # one classify_many per block: the models score the block at once, events are looked
        # up once per block (the same answers as post by post, oldest first within a block)
        for (item, _, dumps), c in zip(pending, classifier.classify_many([p for _, p, _ in pending]), strict=True):
            item.update(
                topic=c.topic,
                sentiment=c.sentiment,
                risk=c.risk.model_dump(),
                keywords=c.keywords,
                event_id=c.event_id,
                region=c.region,
            )
            block.append(dumps(item))
        pending.clear()
        out.write(b"".join(block))
        out.flush()
        block.clear()

    for lineno, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        item, dumps = _parse(raw, orjson)
        if not isinstance(item, dict):
            what = item if isinstance(item, str) else "not a JSON object"
            click.echo(f"{name}:{lineno}: skipped, malformed JSON: {what}", err=True)
            continue
        title, content = str(item.get("title") or ""), str(item.get("content") or "")
        post = PostCollected(
            id=str(item.get("id") or post_id("classify", text=(title, content or str(lineno)))),
            title=title,
            content=content,
            published_at=parse_datetime(item.get("published_at") or item.get("published")) or now(),
            source=src,
        )
        pending.append((item, post, dumps))
        n += 1
        if (interactive and not _input_waiting(fd)) or len(pending) >= FLUSH_EVERY:
            flush()
        if progress and n % 1000 == 0:
            click.echo(f"classified {n} posts", err=True)
    flush()
    if progress and (n == 0 or n % 1000):
        click.echo(f"classified {n} posts", err=True)
    return n


def _parse(raw: bytes, orjson: Any) -> tuple[Any, Callable[[Any], bytes]]:
    """The line's JSON value and the encoder to write it back with: orjson (several times faster
    than the standard library both ways), or the standard library for what orjson refuses but
    Python's json reads (NaN, integers beyond 64 bits), so no post is lost. A malformed line
    gives the error message instead of a value."""
    try:
        return orjson.loads(raw), _orjson_line
    except orjson.JSONDecodeError as exc:
        try:
            return json.loads(raw), _json_line
        except (ValueError, UnicodeDecodeError):
            return str(exc), _json_line


def _orjson_line(item: Any) -> bytes:
    import orjson

    try:
        return orjson.dumps(item, option=orjson.OPT_APPEND_NEWLINE)  # type: ignore[no-any-return]
    except TypeError:  # e.g. an integer beyond 64 bits inside a passed-through field
        return _json_line(item)


def _json_line(item: Any) -> bytes:
    return (json.dumps(item, ensure_ascii=False) + "\n").encode("utf-8")


def _input_waiting(fd: int) -> bool:
    """Whether more input can be read at once (else the answers so far are written out)."""
    try:
        return bool(select.select([fd], [], [], 0)[0])
    except (OSError, ValueError):
        return False

"""Corrections as labelled data, in the format of ``data/labels/labelled.jsonl``.

One JSON object a line per corrected post (its latest state): ``id``, ``title``, ``content``,
``topic``, ``sentiment`` — the keys ``processors.train.load_rows`` reads — and ``risk`` (a level,
as in ``risk.jsonl``), ``region`` (a gazetteer path or null, as ``expected`` in ``regions.jsonl``),
``batch`` ("corrections"), ``reviewed`` (the fields a person judged: the others carry the values
the post had), ``corrected`` (the fields people changed), ``corrected_by`` and ``corrected_at``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from corrections.model import FIELDS
from corrections.table import Correction, CorrectionTable, pinned

BATCH = "corrections"


def rows(corrections: Iterable[Correction]) -> list[dict[str, Any]]:
    """One labelled row per post, in order of each post's latest correction."""
    by_post: dict[str, list[Correction]] = {}
    for c in corrections:
        by_post.setdefault(c.post_id, []).append(c)
    out = []
    for history in sorted(by_post.values(), key=lambda h: h[-1].id):
        last = history[-1]
        values = {**last.new, **pinned(history)}
        reviewed = sorted({f for c in history for f in c.reviewed}, key=FIELDS.index)
        out.append(
            {
                "id": last.post_id,
                "title": last.title,
                "content": last.content,
                "topic": values["topic"],
                "sentiment": values["sentiment"],
                "risk": values["risk_level"],
                "region": values["region"],
                "batch": BATCH,
                "reviewed": reviewed,
                "corrected": sorted({f for c in history for f in c.changed}, key=FIELDS.index),
                "corrected_by": last.actor_name,
                "corrected_at": last.created_at.isoformat(timespec="seconds"),
            }
        )
    return out


def write_jsonl(table: CorrectionTable, out: IO[str], *, since: datetime | None = None) -> int:
    """Write the export; returns the number of rows. ``since``: posts corrected since then."""
    history = table.all()
    if since is not None:
        recent = {c.post_id for c in history if c.created_at >= since}
        history = [c for c in history if c.post_id in recent]
    data = rows(history)
    for r in data:
        out.write(json.dumps(r, ensure_ascii=False) + "\n")
    return len(data)


def training_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of an export that carry a person's topic or sentiment (what ``yuqing train`` uses)."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{n}: not JSON: {exc}") from exc
        missing = [k for k in ("id", "title", "content", "topic", "sentiment") if not isinstance(r.get(k), str)]
        if missing:
            raise ValueError(f"{path}:{n}: missing {', '.join(missing)}")
        if {"topic", "sentiment"} & set(r.get("reviewed") or []):
            out.append(r)
    return out


def corrections_for_training(database_url: str, path: Path | None = None) -> list[dict[str, Any]]:
    """The corrections ``yuqing train`` adds: from an export file, or else from the database (none
    when its SQLite file does not exist yet: nothing was ever corrected)."""
    if path is not None:
        return training_rows(path)
    from sqlalchemy.engine import make_url

    from yuqing.sqlite_util import sqlite_path

    if make_url(database_url).get_backend_name() == "sqlite" and not sqlite_path(database_url).exists():
        return []
    table = CorrectionTable(database_url)
    try:
        data = rows(table.all())
    finally:
        table.close()
    return [r for r in data if {"topic", "sentiment"} & set(r["reviewed"])]

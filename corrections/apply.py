"""Saving corrections, and keeping them through re-processing.

Saving (``Corrector.correct``): the rows go into ``yuqing_corrections`` and the corrected posts into
the store (an upsert by post id, on SQLite or Elasticsearch) in one database transaction: if the
store write fails the rows are rolled back, so nothing is saved half-way. Search and facets read
the store, so they show the corrected values at once.

Re-processing (``Reapplier``): the processing stage classifies a post again whenever the bus
replays it (at-least-once delivery, a reset consumer group, ``yuqing process`` over old posts).
Before the stage writes a batch, the ``Reapplier`` looks up the batch's corrections (one query)
and puts every corrected field back (``corrections.table.pinned``), so the store and the
``posts.classified`` message carry the people's values, not the model's. If the table cannot be
read the batch fails with a retryable error and is classified again later: a correction is never
silently undone.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from corrections.model import FIELDS, CorrectionError, apply_values, validate, values_of
from corrections.table import CorrectionStoreError, CorrectionTable, model_values
from yuqing.events import PostClassified
from yuqing.store import Query, Store

log = logging.getLogger("corrections")
MAX_EVENT_POSTS = 500  # posts of one event corrected at once


@dataclass(frozen=True)
class Who:
    name: str
    role: str
    user_id: int | None = None


@dataclass
class Corrector:
    table: CorrectionTable
    store: Store

    def event_posts(self, event_id: str) -> list[PostClassified]:
        res = self.store.search(Query(event_id=event_id, limit=MAX_EVENT_POSTS))
        if res.total > len(res.hits):
            raise CorrectionError(f"事件 {event_id} 有 {res.total} 条帖子，超过一次纠错的上限 {MAX_EVENT_POSTS} 条", field="event_id")
        return res.hits

    def correct(
        self,
        who: Who,
        post: PostClassified,
        values: Mapping[str, Any],
        *,
        event_posts: Sequence[PostClassified] | None = None,
        via: str = "post",
    ) -> list[dict[str, Any]]:
        """Set ``values`` (some of FIELDS) on ``post``: one row, also when nothing changed (a
        confirmation counts in the quality figures). With ``event_posts`` (the post's event), the
        fields this changes on ``post`` are set on every other post of the event too (rows with
        ``via`` "event"), all in one transaction. Returns the rows."""
        if not values:
            raise CorrectionError("没有要纠正的字段", field="fields")
        checked = validate(values, list(values))
        changed = {f: v for f, v in checked.items() if values_of(post)[f] != v}
        items: list[tuple[PostClassified, dict[str, str | None], str]] = [(post, checked, via)]
        if event_posts is not None:
            if not changed:
                raise CorrectionError("没有修改任何字段，无需应用到整个事件", field="scope")
            items += [(p, changed, "event") for p in event_posts if p.id != post.id]
        return self._save(who, items)

    def _save(self, who: Who, items: Sequence[tuple[PostClassified, dict[str, str | None], str]]) -> list[dict[str, Any]]:
        history = self.table.of_posts(p.id for p, _, _ in items)
        batch = secrets.token_hex(8) if len(items) > 1 else ""
        rows: list[dict[str, Any]] = []
        updated: list[PostClassified] = []
        for p, checked, via in items:
            old = values_of(p)
            new = {**old, **checked}
            changed = [f for f in FIELDS if f in checked and old[f] != new[f]]
            rows.append(
                {
                    "post_id": p.id,
                    "event_id": p.event_id,
                    "title": p.title,
                    "content": p.content,
                    "model": model_values(history.get(p.id, []), old),
                    "old": old,
                    "new": new,
                    "reviewed": [f for f in FIELDS if f in checked],
                    "changed": changed,
                    "via": via,
                    "batch": batch,
                    "actor_id": who.user_id,
                    "actor_name": who.name,
                    "actor_role": who.role,
                }
            )
            if changed:
                updated.append(apply_values(p, {f: new[f] for f in changed}))
        try:
            with self.table.engine.begin() as c:
                self.table.insert(c, rows)
                if updated:  # inside the transaction: a failed store write rolls the rows back
                    self.store.write(updated)
                    self.store.refresh()
        except SQLAlchemyError as exc:
            raise CorrectionStoreError(f"saving corrections failed, nothing was saved: {str(exc).splitlines()[0][:300]}") from exc
        log.info("corrections: %s (%s) reviewed %d post(s), changed %d", who.name, who.role, len(rows), len(updated))
        return rows


class Reapplier:
    """A tagger for ``processors.worker.make_stage``: runs ``inner`` (the schemes tagger), then puts
    the corrected fields of the batch's posts back."""

    def __init__(self, database_url: str, inner: Any = None) -> None:
        self.database_url = database_url
        self.inner = inner
        self._table: CorrectionTable | None = None

    def _open(self) -> CorrectionTable:
        if self._table is None:
            self._table = CorrectionTable(self.database_url)
        return self._table

    def tag(self, posts: Sequence[PostClassified]) -> list[PostClassified]:
        out = self.inner.tag(posts) if self.inner is not None else list(posts)
        fixed = self._open().pinned_of(p.id for p in out)  # CorrectionStoreError: retryable, the batch waits
        if not fixed:
            return out
        return [apply_values(p, fixed[p.id]) if p.id in fixed else p for p in out]

    def close(self) -> None:
        if self.inner is not None and hasattr(self.inner, "close"):
            self.inner.close()
        if self._table is not None:
            self._table.close()


def with_corrections(tagger: Any, database_url: str | None) -> Any:
    """The stage's tagger with re-application of corrections (none without a database)."""
    return Reapplier(database_url, tagger) if database_url else tagger

"""Tagging in processing: ``post.classified.schemes`` from the active schemes in the database.

The processing stage holds one ``Tagger``; it rebuilds its ``Matcher`` when the schemes table's
revision moves (checked at most every ``reload_seconds``), so a scheme saved in the web UI tags
new posts within seconds without a restart. If the database cannot be read, the last matcher
keeps tagging (and the failure is logged): tagging never stops the pipeline.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from schemes.matcher import Matcher
from schemes.model import Scheme
from yuqing.events import PostClassified

log = logging.getLogger("schemes.tagger")


class Tagger:
    def __init__(self, database_url: str | None = None, *, schemes: Sequence[Scheme] | None = None, reload_seconds: float = 10.0) -> None:
        self.database_url = database_url
        self.reload_seconds = reload_seconds
        self._revision = -1
        self._checked = 0.0
        self.matcher = Matcher([s.compiled() for s in schemes or [] if s.active])
        self._table = None
        if database_url:
            self._reload(force=True)

    def _reload(self, force: bool = False) -> None:
        if not self.database_url or (not force and time.monotonic() - self._checked < self.reload_seconds):
            return
        self._checked = time.monotonic()
        try:
            from schemes.store import SchemeStore

            if self._table is None:
                self._table = SchemeStore(self.database_url)  # type: ignore[assignment]
            table: SchemeStore = self._table  # type: ignore[assignment]
            rev = table.revision()
            if rev == self._revision:
                return
            active = table.list(active_only=True)
            self.matcher = Matcher([s.compiled() for s in active])
            self._revision = rev
            log.info("schemes: %d active (revision %d)", len(active), rev)
        except Exception as exc:  # the database is someone else's: keep tagging with what we have
            log.warning("schemes: cannot reload from the database, keeping %d scheme(s): %s", len(self.matcher.schemes), exc)

    def tag(self, posts: Sequence[PostClassified]) -> list[PostClassified]:
        self._reload()
        if not self.matcher.schemes:
            return [p if not p.schemes else p.model_copy(update={"schemes": []}) for p in posts]
        return [p.model_copy(update={"schemes": sorted(self.matcher.match_post(p))}) for p in posts]

    def close(self) -> None:
        if self._table is not None:
            self._table.close()  # type: ignore[attr-defined]

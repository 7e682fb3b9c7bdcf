"""A store seen through one scheme: every query also requires ``scheme`` (``Query.scheme``), so
anything that reads posts from a store — the briefing, a page — can be made for one 监测方案."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from yuqing.events import PostClassified
from yuqing.store import BriefResult, CountField, Query, SearchResult, Store


class ScopedStore:
    def __init__(self, store: Store, scheme: str) -> None:
        self.inner = store
        self.scheme = scheme
        self.url = store.url

    def _q(self, query: Query) -> Query:
        return replace(query, scheme=self.scheme)

    def write(self, posts: Sequence[PostClassified]) -> None:
        self.inner.write(posts)

    def get(self, post_id: str) -> PostClassified | None:
        p = self.inner.get(post_id)
        return p if p is not None and self.scheme in p.schemes else None

    def search(self, query: Query) -> SearchResult:
        return self.inner.search(self._q(query))

    def brief(self, query: Query) -> BriefResult:
        return self.inner.brief(self._q(query))

    def count_by(self, field: CountField, query: Query = Query()) -> dict[str, int]:
        return self.inner.count_by(field, self._q(query))

    def count_per_day(self, query: Query = Query()) -> dict[str, int]:
        return self.inner.count_per_day(self._q(query))

    def count_per_hour(self, query: Query = Query()) -> dict[str, int]:
        return self.inner.count_per_hour(self._q(query))

    def refresh(self) -> None:
        self.inner.refresh()

    def check(self) -> str:
        return f"{self.inner.check()}, scheme {self.scheme}"

    def close(self) -> None:
        self.inner.close()

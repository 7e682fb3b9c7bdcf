"""专报: a briefing about one event, on demand (``yuqing brief --event``, the 简报 page).

The usual briefing's figures, computed over the event's own posts (every store query is narrowed
to its ``event_id``) for the whole days it spans, with the event's riskiest post as the title.
Its 预警 and 回应台账 sections stay county-wide for those days: alerts and cases are not kept
per event in a way the figures can select yet.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from briefings.model import BriefingError, Period
from yuqing.store import BriefResult, Query, SearchResult, Store
from yuqing.timeutil import TZ

if TYPE_CHECKING:
    from app.settings import Settings  # a type only: stages do not import the application

MAX_TITLE = 40


class EventStore:
    """A read-only view of ``store`` holding only the posts of one event."""

    def __init__(self, store: Store, event_id: str) -> None:
        self._store = store
        self.event_id = event_id
        self.url = store.url

    def _q(self, query: Query) -> Query:
        return replace(query, event_id=self.event_id)

    def get(self, post_id: str) -> Any:
        post = self._store.get(post_id)
        return post if post is not None and post.event_id == self.event_id else None

    def search(self, query: Query) -> SearchResult:
        return self._store.search(self._q(query))

    def brief(self, query: Query) -> BriefResult:
        return self._store.brief(self._q(query))

    def count_by(self, field: Any, query: Query = Query()) -> dict[str, int]:
        return self._store.count_by(field, self._q(query))

    def count_per_day(self, query: Query = Query()) -> dict[str, int]:
        return self._store.count_per_day(self._q(query))

    def count_per_hour(self, query: Query = Query()) -> dict[str, int]:
        return self._store.count_per_hour(self._q(query))

    def __getattr__(self, name: str) -> Any:  # refresh, check, ... (never write: the view is read-only)
        if name == "write":
            raise AttributeError("EventStore is read-only")
        return getattr(self._store, name)


def event_span(store: Store, event_id: str) -> tuple[Period, str]:
    """(the whole days the event's posts span, its riskiest post's title); BriefingError if it has none."""
    days = store.count_per_day(Query(event_id=event_id))
    if not days:
        raise BriefingError(f"没有事件 {event_id} 的帖文，无法生成专报（事件编号见“舆情事件立案”页面或预警详情）")
    first, last = (date.fromisoformat(d) for d in (min(days), max(days)))
    since = datetime(first.year, first.month, first.day, tzinfo=TZ)
    until = datetime(last.year, last.month, last.day, tzinfo=TZ) + timedelta(days=1)
    hits = store.search(Query(event_id=event_id, limit=50)).hits
    top = max(hits, key=lambda p: (p.risk.score, p.published_at)) if hits else None
    return Period(since, until), (top.title if top else event_id)


def special_settings(settings: Settings, title: str) -> Settings:
    """``settings`` with the briefing's heading for a 专报 about ``title``."""
    short = title if len(title) <= MAX_TITLE else title[: MAX_TITLE - 1] + "…"
    briefing = settings.ledger.briefing.model_copy(update={"title": f"舆情专报：{short}"})
    return settings.model_copy(update={"ledger": settings.ledger.model_copy(update={"briefing": briefing})})

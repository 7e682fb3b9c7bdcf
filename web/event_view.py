"""What the event page (``/events/<id>``) shows: the event's posts in time order, its sources,
regions and keywords, its alerts and its cases (queried by event, not picked from a recent page)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import Request

from alerts.store import STATUS_ZH
from ledger.states import Actor, CaseStatus
from yuqing.store import Query

TIMELINE = 200  # posts listed (the counts and charts cover all of them)


def event_view(request: Request, actor: Actor, event_id: str) -> dict[str, Any]:
    from web.pages import _linked

    store = request.app.state.store
    svc = request.app.state.service
    posts: list[Any] = []
    total = 0
    sources: dict[str, int] = {}
    regions: dict[str, int] = {}
    sentiments: dict[str, int] = {}
    if store is not None:
        q = Query(event_id=event_id, limit=TIMELINE)
        result = store.search(q)
        total, posts = result.total, [_linked(p) for p in result.hits]
        sources = store.count_by("source", q)
        regions = store.count_by("region", q)
        sentiments = store.count_by("sentiment", q)
    names = {p.source.id: p.source.name for p in posts}
    keywords = Counter(k for p in posts for k in p.keywords).most_common(20)
    alerts = _alerts(request, event_id)
    cases = svc.cases_for_alerts(actor, [a.id for a in alerts], [event_id])
    open_case = next((c for c in cases if c.event_id == event_id and c.status != CaseStatus.CLOSED.value), None)
    riskiest = max(posts, key=lambda p: (p.risk.score, p.published_at), default=None)
    return {
        "event_id": event_id,
        "posts": sorted(posts, key=lambda p: (p.published_at, p.id)),  # a timeline: oldest first
        "total": total,
        "shown": len(posts),
        "title": riskiest.title if riskiest else event_id,
        "riskiest": riskiest,
        "sources": [(names.get(s, s), n) for s, n in sources.items()],
        "regions": list(regions.items()),
        "sentiments": sentiments,
        "keywords": keywords,
        "alerts": alerts,
        "status_zh": STATUS_ZH,
        "cases": cases,
        "open_case": open_case,
        "first": min((p.published_at for p in posts), default=None),
        "last": max((p.published_at for p in posts), default=None),
    }


def _alerts(request: Request, event_id: str) -> list[Any]:
    store = request.app.state.alerts
    if store is None:
        return []
    return [a for a in store.find(None, limit=5000) if a.labels.get("event_id") == event_id]

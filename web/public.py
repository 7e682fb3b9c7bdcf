"""Pages anyone may see: the disclosure of fulfilled commitments (masked) and its feeds; health."""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from ledger.feeds import PublicItem, json_feed, public_items, rss
from ledger.service import LedgerService
from web import csrf_token, current_actor, guide

router = APIRouter(include_in_schema=False)
PUBLIC_PAGE = 20
PUBLIC_MAX = 5000  # disclosed commitments searched on the page (a county's several years of them)


def _items(request: Request) -> list:  # type: ignore[type-arg]
    svc: LedgerService = request.app.state.service
    return public_items(svc.disclosed_commitments(svc.config.public_feed_size))


@dataclass(frozen=True)
class Shown:
    item: PublicItem
    on_time: bool | None
    on_time_text: str


def _matches(it: PublicItem, words: list[str]) -> bool:
    # Searched on the masked text only: a search for a masked name must not reveal which item holds it.
    hay = " ".join((it.case_number, it.title, it.topic, it.unit, it.commitment, it.fulfilment, it.disclosure_channel)).lower()
    return all(w in hay for w in words)


@router.get("/public", response_class=HTMLResponse)
def public_page(request: Request) -> Response:
    svc: LedgerService = request.app.state.service
    p = request.query_params
    q, unit, topic, timely = p.get("q", "").strip()[:100], p.get("unit", ""), p.get("topic", ""), p.get("ontime", "")
    page = p.get("page", "1")
    page_no = max(1, int(page)) if page.isdigit() else 1
    commitments = svc.disclosed_commitments(PUBLIC_MAX)
    everything = [Shown(it, *guide.on_time(m)) for it, m in zip(public_items(commitments), commitments, strict=True)]
    words = q.lower().split()
    shown = [
        s
        for s in everything
        if (not words or _matches(s.item, words))
        and (not unit or s.item.unit == unit)
        and (not topic or s.item.topic == topic)
        and (not timely or s.on_time is (timely == "1"))
    ]
    pages = max(1, math.ceil(len(shown) / PUBLIC_PAGE))
    page_no = min(page_no, pages)
    query = urlencode({k: v for k, v in (("q", q), ("unit", unit), ("topic", topic), ("ontime", timely)) if v})
    t = request.app.state.templates
    ctx = {
        "items": shown[(page_no - 1) * PUBLIC_PAGE : page_no * PUBLIC_PAGE],
        "total": len(shown),
        "on_time_count": sum(s.on_time is True for s in shown),
        "units": sorted({s.item.unit for s in everything}),
        "topics": sorted({s.item.topic for s in everything if s.item.topic}),
        "f": {"q": q, "unit": unit, "topic": topic, "ontime": timely},
        "page": page_no,
        "pages": pages,
        "query": query,
        "actor": current_actor(request),
        "csrf": csrf_token(request),
    }
    return t.TemplateResponse(request, "public.html", ctx)


@router.get("/public/feed.xml")
def public_rss(request: Request) -> Response:
    svc: LedgerService = request.app.state.service
    return Response(rss(_items(request), svc.config.base_url), media_type="application/rss+xml; charset=utf-8")


@router.get("/public/feed.json")
def public_json(request: Request) -> Response:
    svc: LedgerService = request.app.state.service
    return Response(json_feed(_items(request), svc.config.base_url), media_type="application/feed+json; charset=utf-8")


@router.get("/healthz")
def healthz() -> JSONResponse:
    return JSONResponse({"ok": True})

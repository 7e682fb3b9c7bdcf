"""Pages anyone may see: the disclosure of fulfilled commitments (masked) and its feeds; health."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from ledger.feeds import json_feed, public_items, rss
from ledger.service import LedgerService
from ledger.web import csrf_token, current_actor

router = APIRouter(include_in_schema=False)


def _items(request: Request) -> list:  # type: ignore[type-arg]
    svc: LedgerService = request.app.state.service
    return public_items(svc.disclosed_commitments(svc.config.public_feed_size))


@router.get("/public", response_class=HTMLResponse)
def public_page(request: Request) -> Response:
    t = request.app.state.templates
    return t.TemplateResponse(
        request, "public.html", {"items": _items(request), "actor": current_actor(request), "csrf": csrf_token(request)}
    )


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

"""The 监测工作台 (monitoring workbench): 总览, 检索, 地区 and the charts' JSON, for monitors, leaders
and administrators (unit users get 403: they work from their cases and their unit's alerts).

Every page reads the store through ``web.workbench_data`` and may be narrowed to a 监测方案
(``?scheme=``). Charts are drawn in the browser by ECharts (``static/vendor/echarts.min.js``) from
the JSON endpoints below, by ``static/workbench.js`` (no inline script: the CSP forbids it).
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import replace
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from openpyxl import Workbook
from starlette.concurrency import run_in_threadpool as bg

from ledger.errors import InvalidInput, PermissionDenied
from ledger.states import Actor, Role
from web import overview_cache, require_actor
from web.pages import _linked, _str, redirect, render
from web.saved_searches import SavedSearches
from web.workbench_data import (
    FACET_LABELS,
    RISK_LEVELS,
    SENTIMENTS,
    SearchForm,
    SearchInputError,
    by_town,
    facets,
    flatlined_sources,
    highlight,
    rising_events,
    series,
    window,
)
from yuqing.store import Query, Store
from yuqing.timeutil import now

log = logging.getLogger("ledger.web")
router = APIRouter(include_in_schema=False)
PAGE_SIZE = 20
EXPORT_LIMIT = 10000
READERS = (Role.MONITOR, Role.LEADER, Role.ADMIN)


def reader(request: Request) -> Actor:
    actor = require_actor(request)
    if actor.role not in READERS:
        raise PermissionDenied("监测工作台供舆情监测员、领导和管理员使用")
    return actor


def _store(request: Request) -> Store | None:
    return request.app.state.store  # type: ignore[no-any-return]


def _scheme(request: Request) -> tuple[list[str], str | None]:
    from web.scheme_pages import scheme_names

    names = scheme_names(request)
    chosen = request.query_params.get("scheme") or None
    return names, chosen if chosen in names else None


def _now() -> Any:
    return now()


# -- 总览 -------------------------------------------------------------------------------------------
@router.get("/workbench", response_class=HTMLResponse)
def overview(request: Request) -> Response:
    reader(request)
    store = _store(request)
    schemes, scheme = _scheme(request)
    at = _now()
    ctx: dict[str, Any] = {"has_store": store is not None, "schemes": schemes, "scheme": scheme, "sentiments": SENTIMENTS}
    if store is not None:

        def figures() -> tuple[list[Any], list[Any], list[Any]]:
            windows = [window(store, "近 24 小时", "24h", at, scheme), window(store, "近 7 天", "7d", at, scheme)]
            return windows, rising_events(store, at, scheme), flatlined_sources(store, at)

        ctx["windows"], ctx["rising"], ctx["flat"] = overview_cache.cached(store, ("overview", scheme), figures)
    ctx["firing"] = _firing(request, store, scheme)
    ctx["query"] = urlencode({"scheme": scheme}) if scheme else ""
    return render(request, "workbench.html", **ctx)


FIRING_SHOWN = 10
FIRING_SCANNED = 200  # firing alerts looked at when narrowing to a scheme


def _firing(request: Request, store: Store | None, scheme: str | None) -> list[Any]:
    """The newest firing alerts; narrowed to a 监测方案, those with at least one post that carries
    the scheme's tag in the store (``post.schemes``, kept current by the backfill). So an alert of
    a rule that targets the scheme (``match: {scheme: …}``) is always in, any other alert is in
    when its posts are about the scheme, and an alert without posts (a flatlined source) is not."""
    alerts = request.app.state.alerts
    if alerts is None:
        return []
    if scheme is None:
        return list(alerts.find("firing", limit=FIRING_SHOWN))
    if store is None:
        return []
    candidates = alerts.find("firing", limit=FIRING_SCANNED)
    posts = alerts.post_ids([a.id for a in candidates])
    wanted = sorted({pid for ids in posts.values() for pid in ids})
    tagged: set[str] = set()
    for i in range(0, len(wanted), 500):
        chunk = tuple(wanted[i : i + 500])
        tagged |= {p.id for p in store.search(Query(ids=chunk, scheme=scheme, limit=len(chunk))).hits}
    return [a for a in candidates if tagged.intersection(posts.get(a.id, ()))][:FIRING_SHOWN]


@router.get("/workbench/data/volume.json")
def volume(request: Request) -> Response:
    """Posts, negative posts and negative share per hour of the last 24 hours (``span=24h``) or per
    day of the last 30 days (``span=30d``)."""
    reader(request)
    store = _store(request)
    _, scheme = _scheme(request)
    hourly = request.query_params.get("span", "24h") != "30d"
    if store is None:
        return JSONResponse({"labels": [], "posts": [], "negative": [], "share": []})
    at = _now()
    since = at - (timedelta(hours=23) if hourly else timedelta(days=29))
    data = overview_cache.cached(
        store, ("volume", hourly, scheme), lambda: series(store, hourly=hourly, since=since, until=at, scheme=scheme)
    )
    return JSONResponse(data)


# -- 检索 -------------------------------------------------------------------------------------------
def _saved(request: Request) -> SavedSearches:
    table = getattr(request.app.state, "saved_searches", None)
    if table is None:
        table = request.app.state.saved_searches = SavedSearches(request.app.state.service.db.engine)
    return table  # type: ignore[no-any-return]


@router.get("/workbench/search", response_class=HTMLResponse)
def search_page(request: Request) -> Response:
    actor = reader(request)
    store = _store(request)
    form = SearchForm.from_params(request.query_params)
    schemes, _ = _scheme(request)
    page = request.query_params.get("page", "1")
    page_no = max(1, int(page)) if page.isdigit() and len(page) < 7 else 1
    ctx: dict[str, Any] = {
        "form": form,
        "schemes": schemes,
        "sentiments": SENTIMENTS,
        "risk_levels": RISK_LEVELS,
        "facet_labels": FACET_LABELS,
        "has_store": store is not None,
        "saved": _saved(request).list(actor.user_id),
        "page": page_no,
        "page_size": PAGE_SIZE,
        "error": None,
        "hits": [],
        "facets": None,
        "params": form.params(),
        "query": urlencode(form.params()),
        "link": lambda **changes: _link(form.params(), **changes),
        "next_day": lambda d: (date.fromisoformat(d) + timedelta(days=1)).isoformat(),
    }
    if store is not None:
        try:
            q = form.query(limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE)
        except SearchInputError as exc:
            ctx["error"] = str(exc)
            return render(request, "search.html", 422, **ctx)
        result = store.search(q)
        ctx["facets"] = facets(store, q, result.total)
        ctx["total"] = result.total
        ctx["pages"] = max(1, -(-result.total // PAGE_SIZE))
        ctx["hits"] = [
            {"post": _linked(p), "title": highlight(p.title or p.content[:60], form.q), "snippet": highlight(p.content, form.q, 160)}
            for p in result.hits
        ]
    return render(request, "search.html", **ctx)


def _link(params: dict[str, str], **changes: str) -> str:
    merged = {**params, **changes}
    return "/workbench/search?" + urlencode({k: v for k, v in merged.items() if v})


COLUMNS = ("编号", "发布时间", "标题", "内容", "主题", "情感", "风险等级", "风险分", "来源", "地区", "事件", "链接", "监测方案")


def _rows(store: Store, form: SearchForm) -> list[list[Any]]:
    out: list[list[Any]] = []
    q = form.query(limit=500)
    while len(out) < EXPORT_LIMIT:
        hits = store.search(q).hits
        if not hits:
            break
        for p in hits:
            out.append(
                [
                    p.id,
                    p.published_at.strftime("%Y-%m-%d %H:%M"),
                    p.title,
                    p.content,
                    p.topic,
                    SENTIMENTS.get(p.sentiment, p.sentiment),
                    p.risk.level,
                    p.risk.score,
                    p.source.name,
                    p.region or "",
                    p.event_id or "",
                    p.url or "",
                    "、".join(p.schemes),
                ]
            )
        q = replace(q, offset=q.offset + len(hits))
    return out[:EXPORT_LIMIT]


def _export_input(request: Request) -> tuple[Actor, Store, SearchForm]:
    actor = reader(request)
    store = _store(request)
    if store is None:
        raise InvalidInput("未连接检索库", field="store")
    form = SearchForm.from_params(request.query_params)
    try:
        form.query()
    except SearchInputError as exc:
        raise InvalidInput(str(exc), field=exc.field) from exc
    return actor, store, form


def _safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula (=, +, -, @) is quoted."""
    return "'" + value if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") else value


@router.get("/workbench/search.csv")
def export_csv(request: Request) -> Response:
    actor, store, form = _export_input(request)
    rows = _rows(store, form)
    log.info("workbench: %s exported %d posts as CSV (%s)", actor.username, len(rows), urlencode(form.params()))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(COLUMNS)
    w.writerows([[_safe_cell(v) for v in r] for r in rows])
    name = quote(f"舆情检索-{_now():%Y%m%d-%H%M}.csv")
    return Response(
        "\ufeff" + buf.getvalue(),  # BOM: Excel opens UTF-8 CSV as such
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
    )


@router.get("/workbench/search.xlsx")
def export_xlsx(request: Request) -> Response:
    actor, store, form = _export_input(request)
    rows = _rows(store, form)
    log.info("workbench: %s exported %d posts as Excel (%s)", actor.username, len(rows), urlencode(form.params()))
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "检索结果"
    ws.append(list(COLUMNS))
    for r in rows:
        ws.append([_safe_cell(v) for v in r])
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    name = quote(f"舆情检索-{_now():%Y%m%d-%H%M}.xlsx")
    return Response(
        out.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
    )


@router.post("/workbench/saved")
async def save_search(request: Request) -> Response:
    actor = await bg(reader, request)
    form = await request.form()
    params = SearchForm.from_params({k: v for k, v in form.items() if isinstance(v, str)}).params()
    saved = await bg(_saved(request).save, actor.user_id, _str(form, "name"), params)
    return redirect("/workbench/search?" + saved.params, f"已保存检索「{saved.name}」", request)


@router.post("/workbench/saved/delete")
async def delete_search(request: Request) -> Response:
    actor = await bg(reader, request)
    form = await request.form()
    name = _str(form, "name")
    if not await bg(_saved(request).delete, actor.user_id, name):
        raise InvalidInput(f"没有名为「{name}」的已保存检索", field="name")
    return redirect("/workbench/search", f"已删除保存的检索「{name}」", request)


# -- 地区 -------------------------------------------------------------------------------------------
@router.get("/workbench/regions", response_class=HTMLResponse)
def regions(request: Request) -> Response:
    reader(request)
    store = _store(request)
    schemes, scheme = _scheme(request)
    days = _int_param(request, "days", 30)
    rows, county_only = by_town(store, _region_query(days, scheme)) if store is not None else ([], 0)
    return render(
        request,
        "regions.html",
        rows=rows,
        county_only=county_only,
        has_store=store is not None,
        schemes=schemes,
        scheme=scheme,
        days=days,
        query=urlencode({k: v for k, v in {"scheme": scheme or "", "days": str(days)}.items() if v}),
    )


def _region_query(days: int, scheme: str | None) -> Query:
    return Query(since=_now() - timedelta(days=days), scheme=scheme)


def _int_param(request: Request, name: str, default: int) -> int:
    value = request.query_params.get(name, "")
    return int(value) if value.isdigit() and 0 < int(value) <= 3650 else default


@router.get("/workbench/data/regions.json")
def regions_json(request: Request) -> Response:
    reader(request)
    store = _store(request)
    _, scheme = _scheme(request)
    rows, _ = by_town(store, _region_query(_int_param(request, "days", 30), scheme)) if store is not None else ([], 0)
    return JSONResponse(
        {
            "labels": [r.town for r in rows],
            "posts": [r.posts for r in rows],
            "negative": [r.negative for r in rows],
            "share": [round(100 * r.share, 1) if r.posts else None for r in rows],
        }
    )


# -- 事件 (the page itself is /events/{id}, web.pages) ---------------------------------------------
@router.get("/workbench/data/event/{event_id}.json")
def event_json(request: Request, event_id: str) -> Response:
    """An event's posts and negative posts per day (per hour when it spans two days or less), and
    its sources and regions."""
    reader(request)
    store = _store(request)
    if store is None:
        return JSONResponse({"labels": [], "posts": [], "negative": [], "sources": {}, "regions": {}})
    q = Query(event_id=event_id)
    count = store.count_per_day
    if len(store.count_per_day(q)) <= 2:  # a short event: per hour
        count = store.count_per_hour
    days = count(q)
    neg = count(Query(event_id=event_id, sentiment="negative"))
    return JSONResponse(
        {
            "labels": [d + ":00" if len(d) == 13 else d for d in days],
            "posts": list(days.values()),
            "negative": [neg.get(d, 0) for d in days],
            "sources": store.count_by("source", q),
            "regions": store.count_by("region", q),
        }
    )

"""监测方案 pages: monitors and admins list, create, preview and edit schemes (``schemes``).

The form posts to ``/schemes/preview`` (validate + preview against the post store, nothing saved)
or ``/schemes/save`` (validate, preview, save). Saving a scheme whose preview matches most posts
(``schemes.preview.Preview.warning``) needs the "确认保存" box ticked. Errors come back on the form
with the line and column; nothing is saved half-way (``SchemeStore.save_all`` is one
transaction). Plain forms; the per-day chart is ``<meter>``.

A save (form or API) kicks the background backfill (``schemes.backfill_job``): the stored posts are
re-tagged by a thread of this app, and the list and edit pages show its progress
(``<progress id="backfill-bar">``, refreshed by ``static/schemes.js`` from
``GET /api/v1/schemes/backfill``; without script the figure is the one at page load).
JSON: ``GET /api/v1/schemes``, ``POST /api/v1/schemes`` (create), ``PUT /api/v1/schemes/{name}``
(update, may rename), ``POST /api/v1/schemes/preview``, ``GET /api/v1/schemes/backfill``.
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool as bg

from ledger import states
from ledger.errors import NotFound, PermissionDenied
from ledger.states import Actor
from schemes.backfill_job import BackfillJob
from schemes.model import TOPICS, Scheme, SchemeError, validate_all
from schemes.preview import Preview, preview
from schemes.store import SchemeStore
from web import require_actor
from web.pages import _str, redirect, render

router = APIRouter(include_in_schema=False)
_making = threading.Lock()
DAYS = (7, 30, 90, 365)


def _office(request: Request) -> Actor:
    actor = require_actor(request)
    if actor.role not in states.OFFICE:
        raise PermissionDenied("只有舆情监测员和管理员可以管理监测方案")
    return actor


def _table(request: Request) -> SchemeStore:
    table = getattr(request.app.state, "schemes", None)
    if table is None:
        table = request.app.state.schemes = SchemeStore(request.app.state.service.db.url)
    return table  # type: ignore[no-any-return]


def backfill_job(request: Request) -> BackfillJob:
    """The app's background backfill, made on first use (``start_backfill`` makes it at start-up
    in ``yuqing web``/``yuqing run``, so an interrupted run resumes without a save)."""
    job = getattr(request.app.state, "scheme_backfill", None)
    if job is None:
        with _making:  # two first requests at once make one job
            job = getattr(request.app.state, "scheme_backfill", None)
            if job is None:
                job = request.app.state.scheme_backfill = _new_job(request.app, _table(request))
    return job  # type: ignore[no-any-return]


def _new_job(app: Any, table: SchemeStore) -> BackfillJob:
    return BackfillJob(table, lambda: app.state.store)


def start_backfill(app: Any) -> BackfillJob:
    """Start the app's background backfill thread (it resumes an unfinished run at once)."""
    table = getattr(app.state, "schemes", None)
    if table is None:
        table = app.state.schemes = SchemeStore(app.state.service.db.url)
    job = getattr(app.state, "scheme_backfill", None)
    if job is None:
        job = app.state.scheme_backfill = _new_job(app, table)
    job.start()
    return job  # type: ignore[no-any-return]


def _backfill_state(request: Request) -> Any:
    try:
        return backfill_job(request).state()
    except Exception:  # the page still lists the schemes when the checkpoint cannot be read
        return None


def scheme_names(request: Request) -> list[str]:
    """Active scheme names, for pages that can be narrowed to one (``/events?scheme=…``); none
    if the table cannot be read (the page then shows no filter)."""
    try:
        return [s.name for s in _table(request).list(active_only=True)]
    except Exception:
        return []


def _form_scheme(form: Any) -> dict[str, Any]:
    return {
        "name": _str(form, "name"),
        "team": _str(form, "team"),
        "include": (form.get("include") or "").strip("\n") if isinstance(form.get("include"), str) else "",
        "exclude": _str(form, "exclude"),
        "regions": _str(form, "regions"),
        "sources": _str(form, "sources"),
        "topics": [t for t in form.getlist("topics") if isinstance(t, str)],
        "active": form.get("active") == "on",
    }


def _problems(data: dict[str, Any]) -> tuple[Scheme | None, list[str]]:
    try:
        return validate_all([data], where="方案")[0], []
    except SchemeError as exc:
        return None, [p.removeprefix("方案[0] ").removeprefix(f"({data.get('name')}) ") for p in exc.problems]


def _preview(request: Request, scheme: Scheme, days: int) -> Preview | None:
    store = request.app.state.store
    return preview(store, scheme, days=days, samples=10) if store is not None else None


def _days(form: Any) -> int:
    raw = _str(form, "days")
    return int(raw) if raw.isdigit() and int(raw) in DAYS else 30


def _form_page(request: Request, data: dict[str, Any], *, original: str = "", errors: list[str] | None = None, **ctx: Any) -> Response:
    most = max((ctx["result"].per_day.values() if ctx.get("result") else []), default=0)
    return render(
        request,
        "scheme_form.html",
        status_code=422 if errors else 200,
        data=data,
        original=original,
        errors=errors or [],
        topics=TOPICS,
        days_choices=DAYS,
        days=ctx.pop("days", 30),
        most=most,
        has_store=request.app.state.store is not None,
        backfill=_backfill_state(request) if original else None,
        **ctx,
    )


@router.get("/schemes", response_class=HTMLResponse)
def scheme_list(request: Request) -> Response:
    _office(request)
    return render(request, "schemes.html", schemes=_table(request).list(), backfill=_backfill_state(request))


@router.get("/schemes/new", response_class=HTMLResponse)
def scheme_new(request: Request) -> Response:
    _office(request)
    return _form_page(
        request, {"name": "", "team": "", "include": "", "exclude": "", "regions": "", "sources": "", "topics": [], "active": True}
    )


@router.get("/schemes/edit", response_class=HTMLResponse)
def scheme_edit(request: Request) -> Response:
    _office(request)
    name = request.query_params.get("name", "")
    s = _table(request).get(name)
    if s is None:
        raise NotFound(f"没有名为「{name}」的监测方案")
    data = s.model_dump() | {k: "，".join(getattr(s, k)) for k in ("exclude", "regions", "sources")}
    return _form_page(request, data, original=s.name)


async def _submit(request: Request, save: bool) -> Response:
    actor = await bg(_office, request)
    form = await request.form()
    data = _form_scheme(form)
    original = _str(form, "original")
    days = _days(form)
    scheme, errors = _problems(data)
    if scheme is None:
        return _form_page(request, data, original=original, errors=errors, days=days)
    result = await bg(_preview, request, scheme, days)
    warning = result.warning if result else None
    if save:
        if warning and form.get("confirm") != "on":
            errors = [f"{warning}。如确需保存，请勾选「确认保存」。"]
            return _form_page(request, data, original=original, errors=errors, result=result, days=days, need_confirm=True)
        table = _table(request)
        if original != scheme.name and await bg(table.get, scheme.name) is not None:
            return _form_page(request, data, original=original, errors=[f"name: 已有名为「{scheme.name}」的方案"], result=result, days=days)
        try:
            await bg(lambda: table.save(scheme, by=actor.username, rename_from=original or None))
        except SchemeError as exc:
            return _form_page(request, data, original=original, errors=exc.problems, result=result, days=days)
        backfill_job(request).kick()
        return redirect("/schemes", f"已保存监测方案「{scheme.name}」：新信息即时打标签，历史信息正在后台补打标签（见下方进度）", request)
    return _form_page(request, data, original=original, result=result, days=days, warning=warning)


@router.post("/schemes/preview")
async def scheme_preview(request: Request) -> Response:
    return await _submit(request, save=False)


@router.post("/schemes/save")
async def scheme_save(request: Request) -> Response:
    return await _submit(request, save=True)


# -- JSON ---------------------------------------------------------------------------------------


def _preview_json(p: Preview | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {
        "days": p.days,
        "total": p.total,
        "window_total": p.window_total,
        "per_day": p.per_day,
        "warning": p.warning,
        "regex_upper_bound": p.regex_upper_bound,
        "samples": [{"id": s.id, "title": s.title, "published_at": s.published_at.isoformat(), "url": s.url} for s in p.samples],
    }


@router.get("/api/v1/schemes")
def api_schemes(request: Request) -> Response:
    _office(request)
    return JSONResponse({"schemes": [s.model_dump() for s in _table(request).list()]})


@router.post("/api/v1/schemes/preview")
async def api_preview(request: Request) -> Response:
    await bg(_office, request)
    try:
        body = await request.json()
    except ValueError:
        return JSONResponse({"errors": ["请求体不是 JSON"]}, status_code=400)
    days = body.pop("days", 30) if isinstance(body, dict) else 30
    if not isinstance(days, int) or not 1 <= days <= 366:
        return JSONResponse({"errors": ["days: 须为 1–366 的整数"]}, status_code=422)
    scheme, errors = _problems(body if isinstance(body, dict) else {})
    if scheme is None:
        return JSONResponse({"errors": errors}, status_code=422)
    return JSONResponse({"preview": _preview_json(await bg(_preview, request, scheme, days))})


def _state_json(request: Request) -> dict[str, Any] | None:
    st = _backfill_state(request)
    return st.to_json() if st is not None else None


@router.get("/api/v1/schemes/backfill")
def api_backfill(request: Request) -> Response:
    """Progress of the background re-tagging of stored posts (``schemes.backfill_job.State``)."""
    _office(request)
    return JSONResponse({"backfill": _state_json(request)})


async def _api_save(request: Request, name: str | None) -> Response:
    actor = await bg(_office, request)
    try:
        body = await request.json()
    except ValueError:
        return JSONResponse({"errors": ["请求体不是 JSON"]}, status_code=400)
    if not isinstance(body, dict):
        return JSONResponse({"errors": ["请求体须为 JSON 对象（方案的各字段）"]}, status_code=422)
    confirm = body.pop("confirm", False) is True
    table = _table(request)
    if name is not None:
        if await bg(table.get, name) is None:
            raise NotFound(f"没有名为「{name}」的监测方案")
        body.setdefault("name", name)
    scheme, errors = _problems(body)
    if scheme is None:
        return JSONResponse({"errors": errors}, status_code=422)
    if scheme.name != name and await bg(table.get, scheme.name) is not None:
        return JSONResponse({"errors": [f"name: 已有名为「{scheme.name}」的方案"]}, status_code=409)
    result = await bg(_preview, request, scheme, 30)
    if result is not None and result.warning and not confirm:
        msg = f'{result.warning}。如确需保存，请在请求体中加 "confirm": true'
        return JSONResponse({"errors": [msg], "preview": _preview_json(result)}, status_code=422)
    try:
        await bg(lambda: table.save(scheme, by=actor.username, rename_from=name))
    except SchemeError as exc:
        return JSONResponse({"errors": exc.problems}, status_code=422)
    backfill_job(request).kick()
    body_out = {"scheme": scheme.model_dump(), "backfill": await bg(_state_json, request)}
    return JSONResponse(body_out, status_code=201 if name is None else 200)


@router.post("/api/v1/schemes")
async def api_create(request: Request) -> Response:
    """Create a scheme (422 with every problem, 409 if the name is taken; one matching most posts
    needs ``"confirm": true``); starts the backfill."""
    return await _api_save(request, None)


@router.put("/api/v1/schemes/{name:path}")  # a name may hold a slash
async def api_update(request: Request, name: str) -> Response:
    """Replace a scheme (a ``name`` in the body renames it); starts the backfill."""
    return await _api_save(request, name)

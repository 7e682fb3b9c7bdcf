"""政策舆情 pages: registered policies (``schemes.policies``) and what was said about each before
and after its publication (``schemes.policy_report``), with the ledger cases linked to it
(``ledger.policy_links``).

Monitors and admins register and edit policies; leaders read the pages; unit users do not see
them (the page lists cases of every unit). Every change is recorded in ``yuqing_policies_audit``
(who, when, before, after). Forms post with the session's CSRF token like every page; errors come
back on the form and nothing is saved half-way (``PolicyStore`` saves in one transaction).
Charts are server-rendered SVG (``web.policy_chart``); no script.

JSON: ``GET/POST /api/v1/policies``, ``GET/PUT/DELETE /api/v1/policies/{id}`` (GET with the
before/after figures).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool as bg

from ledger import states
from ledger.errors import NotFound, PermissionDenied
from ledger.policy_links import LinkedCase, linked_cases
from ledger.states import Actor
from schemes.policies import FIELDS, Policy, PolicyError, PolicyStore
from schemes.policy_report import PolicyReport, report
from schemes.store import SchemeStore
from web import require_actor
from web.pages import _str, redirect, render
from web.policy_chart import share_svg, volume_svg

router = APIRouter(include_in_schema=False)
WINDOWS = (7, 30, 90)
READERS = states.SUPERVISORS  # the office and leaders


def _office(request: Request) -> Actor:
    actor = require_actor(request)
    if actor.role not in states.OFFICE:
        raise PermissionDenied("只有舆情监测员和管理员可以登记和修改政策")
    return actor


def _reader(request: Request) -> Actor:
    actor = require_actor(request)
    if actor.role not in READERS:
        raise PermissionDenied("政策舆情页面仅对舆情监测员、领导和管理员开放")
    return actor


def _table(request: Request) -> PolicyStore:
    table = getattr(request.app.state, "policies", None)
    if table is None:
        table = request.app.state.policies = PolicyStore(request.app.state.service.db.url)
    return table  # type: ignore[no-any-return]


def _policy(request: Request, policy_id: int) -> Policy:
    p = _table(request).get(policy_id)
    if p is None:
        raise NotFound(f"没有编号为 {policy_id} 的政策")
    return p


def _scheme_names(request: Request) -> list[str]:
    t = SchemeStore(request.app.state.service.db.url)
    try:
        return [s.name for s in t.list()]
    finally:
        t.close()


def _report(request: Request, p: Policy, days: int) -> tuple[PolicyReport | None, list[LinkedCase]]:
    store = request.app.state.store
    if store is None:
        return None, []
    r = report(store, p, before_days=days, after_days=days, now=request.app.state.service.clock())
    expr = p.expr
    if p.scheme:
        t = SchemeStore(request.app.state.service.db.url)
        try:
            s = t.get(p.scheme)
        finally:
            t.close()
        expr = s.expr if s is not None else None
    return r, linked_cases(request.app.state.service.db.engine, r, expr)


def _days(request: Request) -> int:
    raw = request.query_params.get("days", "")
    return int(raw) if raw.isdigit() and int(raw) in WINDOWS else 30


# -- pages --------------------------------------------------------------------------------------


@router.get("/policies", response_class=HTMLResponse)
def policy_list(request: Request) -> Response:
    actor = _reader(request)
    return render(request, "policies.html", policies=_table(request).list(), can_edit=actor.role in states.OFFICE)


@router.get("/policies/new", response_class=HTMLResponse)
def policy_new(request: Request) -> Response:
    _office(request)
    return _form(request, {k: "" for k in FIELDS} | {"active": True})


@router.get("/policies/{policy_id:int}/edit", response_class=HTMLResponse)
def policy_edit(request: Request, policy_id: int) -> Response:
    _office(request)
    p = _policy(request, policy_id)
    return _form(request, p.values() | {"published": p.published.isoformat(), "id": p.id})


def _form(request: Request, data: dict[str, Any], errors: list[str] | None = None) -> Response:
    return render(
        request, "policy_form.html", status_code=422 if errors else 200, data=data, errors=errors or [], scheme_names=_scheme_names(request)
    )


def _form_data(form: Any) -> dict[str, Any]:
    data: dict[str, Any] = {k: _str(form, k) for k in FIELDS if k != "active"}
    raw = form.get("keywords")
    data["keywords"] = raw.strip("\n") if isinstance(raw, str) else ""
    data["active"] = form.get("active") == "on"
    pid = _str(form, "id")
    if pid.isdigit():
        data["id"] = int(pid)
    return data


_WHERE = re.compile(r"^政策(\[\d+\])?(（[^）]*）)?\s*(政策: )?")


def _messages(exc: PolicyError) -> list[str]:
    """One policy at a time here: drop the "政策[0]（title）" prefix, keep "字段: 问题"."""
    return [_WHERE.sub("", p) for p in exc.problems]


@router.post("/policies/save")
async def policy_save(request: Request) -> Response:
    actor = await bg(_office, request)
    form = await request.form()
    data = _form_data(form)
    table = _table(request)
    try:
        saved = await bg(lambda: table.save(data, by=actor.username))
    except PolicyError as exc:
        problems = _messages(exc)
        return await bg(lambda: _form(request, data, problems))
    return redirect(f"/policies/{saved.id}", f"已保存政策「{saved.title}」", request)


@router.post("/policies/{policy_id:int}/delete")
async def policy_delete(request: Request, policy_id: int) -> Response:
    actor = await bg(_office, request)
    p = await bg(_policy, request, policy_id)
    await bg(lambda: _table(request).delete(policy_id, by=actor.username))
    return redirect("/policies", f"已删除政策「{p.title}」", request)


@router.get("/policies/{policy_id:int}", response_class=HTMLResponse)
def policy_page(request: Request, policy_id: int) -> Response:
    actor = _reader(request)
    p = _policy(request, policy_id)
    days = _days(request)
    r, cases = _report(request, p, days)
    charts = (
        (Markup(volume_svg(r.days, p.published)), Markup(share_svg(r.days, p.published, r.before.share, r.after.share)))
        if r
        else (Markup(""), Markup(""))
    )
    return render(
        request,
        "policy.html",
        p=p,
        r=r,
        cases=cases,
        days=days,
        windows=WINDOWS,
        volume_chart=charts[0],
        share_chart=charts[1],
        can_edit=actor.role in states.OFFICE,
        history=_table(request).audit(policy_id)[-10:],
    )


# -- JSON ---------------------------------------------------------------------------------------


def policy_json(p: Policy) -> dict[str, Any]:
    return {"id": p.id, **p.values(), "published": p.published.isoformat()}


def report_json(r: PolicyReport, cases: list[LinkedCase]) -> dict[str, Any]:
    def share(v: float | None) -> float | None:
        return round(v, 4) if v is not None else None

    return {
        "since": r.since.isoformat(),
        "until": r.until.isoformat(),
        "published_at": r.start.isoformat(),
        "upcoming": r.upcoming,
        "before": {"total": r.before.total, "negative": r.before.negative, "negative_share": share(r.before.share)},
        "after": {"total": r.after.total, "negative": r.after.negative, "negative_share": share(r.after.share)},
        "days": [{"day": d.day, "total": d.total, "negative": d.negative, "after": d.after} for d in r.days],
        "concerns": [{"word": c.word, "before": c.before, "after": c.after, "post": c.post.id} for c in r.concerns],
        "questions": [{"post": q.post.id, "title": q.post.title, "sentence": q.sentence, "after": q.after} for q in r.questions],
        "question_count": {"before": r.question_count[0], "after": r.question_count[1]},
        "sources": [{"id": c.key, "name": c.name, "before": c.before, "after": c.after} for c in r.sources],
        "towns": [{"town": c.key, "before": c.before, "after": c.after} for c in r.towns],
        "cases": [{"id": c.id, "number": c.number, "title": c.title, "status": c.status, "unit": c.unit, "how": c.how} for c in cases],
    }


async def _body(request: Request) -> dict[str, Any] | Response:
    try:
        body = await request.json()
    except ValueError:
        return JSONResponse({"errors": ["请求体不是 JSON"]}, status_code=400)
    if not isinstance(body, dict):
        return JSONResponse({"errors": ["请求体须为 JSON 对象"]}, status_code=422)
    return body


@router.get("/api/v1/policies")
def api_policies(request: Request) -> Response:
    _reader(request)
    return JSONResponse({"policies": [policy_json(p) for p in _table(request).list()]})


@router.get("/api/v1/policies/{policy_id:int}")
def api_policy(request: Request, policy_id: int) -> Response:
    _reader(request)
    p = _policy(request, policy_id)
    days = _days(request)
    r, cases = _report(request, p, days)
    return JSONResponse({"policy": policy_json(p), "report": report_json(r, cases) if r else None})


async def _api_save(request: Request, policy_id: int | None) -> Response:
    actor = await bg(_office, request)
    body = await _body(request)
    if isinstance(body, Response):
        return body
    if "id" in body:
        return JSONResponse({"errors": ["id: 编号由地址给出，请求体中不能有 id"]}, status_code=422)
    if policy_id is not None:
        await bg(_policy, request, policy_id)
        body["id"] = policy_id
    table = _table(request)
    try:
        saved = await bg(lambda: table.save(body, by=actor.username))
    except PolicyError as exc:
        return JSONResponse({"errors": _messages(exc)}, status_code=422)
    return JSONResponse({"policy": policy_json(saved)}, status_code=201 if policy_id is None else 200)


@router.post("/api/v1/policies")
async def api_create(request: Request) -> Response:
    return await _api_save(request, None)


@router.put("/api/v1/policies/{policy_id:int}")
async def api_update(request: Request, policy_id: int) -> Response:
    return await _api_save(request, policy_id)


@router.delete("/api/v1/policies/{policy_id:int}")
async def api_delete(request: Request, policy_id: int) -> Response:
    actor = await bg(_office, request)
    await bg(_policy, request, policy_id)
    await bg(lambda: _table(request).delete(policy_id, by=actor.username))
    return JSONResponse({"deleted": policy_id})

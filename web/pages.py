"""Server-rendered pages for staff (Chinese UI). Forms post back here; each handler turns the form
into the same typed request the API takes and calls the service, so both enforce the same rules."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool as bg
from starlette.datastructures import FormData, UploadFile

from ledger import reads, states
from ledger.errors import InvalidInput, PermissionDenied
from ledger.export import export_xlsx
from ledger.schemas import SATISFACTION, SOURCES, CaseAction, CommitmentAction, NewCase, NewCommitment
from ledger.service import LedgerService, view_of
from ledger.states import Actor, CaseStatus, Role
from ledger.uploads import CheckedUpload, check_upload
from ledger.urls import is_http_url
from ledger.validation import describe_errors
from web import csrf_token, current_actor, guide, require_actor
from web.effect_view import effect_view
from yuqing.store import Query
from yuqing.timeutil import TZ

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 30


def _svc(request: Request) -> LedgerService:
    return request.app.state.service  # type: ignore[no-any-return]


def render(request: Request, name: str, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    flash = request.session.pop("flash", None)
    base = {"actor": current_actor(request), "csrf": csrf_token(request), "flash": flash, "Role": Role}
    return request.app.state.templates.TemplateResponse(request, name, {**base, **ctx}, status_code=status_code)  # type: ignore[no-any-return]


def redirect(url: str, flash: str | None = None, request: Request | None = None) -> RedirectResponse:
    if flash and request is not None:
        request.session["flash"] = flash
    return RedirectResponse(url, status_code=303)


def _safe_next(value: object) -> str:
    url = str(value or "/cases")
    parts = urlsplit(url)
    # Only local paths: an open redirect after sign-in is a phishing aid.
    return url if url.startswith("/") and not url.startswith("//") and not parts.netloc else "/cases"


def _int(form: FormData, key: str) -> int | None:
    value = form.get(key)
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise InvalidInput(f"字段 {key} 须为整数", field=key) from exc


def _str(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def _validated(model: type[Any], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = describe_errors(exc.errors())[0]
        raise InvalidInput(err["msg"], field=".".join(str(p) for p in err["loc"])) from exc


# -- sign-in -----------------------------------------------------------------------------------
@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/cases") -> Response:
    return render(request, "login.html", next=_safe_next(next), error=None)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    form = await request.form()
    username, password = _str(form, "username"), str(form.get("password") or "")
    nxt = _safe_next(form.get("next"))
    limiter = request.app.state.limiter
    address = request.client.host if request.client else "?"  # behind a trusted proxy: X-Forwarded-For (ledger.stage)
    wait = await bg(limiter.retry_after, username, address)
    if wait > 0:
        return render(request, "login.html", 429, next=nxt, error=f"登录失败次数过多，请 {math.ceil(wait / 60)} 分钟后再试")
    svc = _svc(request)
    actor = await bg(svc.authenticate, username, password)
    if actor is None:
        await bg(limiter.failed, username, address)
        return render(request, "login.html", 401, next=nxt, error="用户名或密码错误")
    await bg(limiter.succeeded, username, address)
    old = request.session.get("sid")
    if isinstance(old, str):
        await bg(svc.end_session, old)
    request.session.clear()  # a fresh session (and CSRF token) on sign-in: no session fixation
    request.session["sid"] = await bg(svc.start_session, actor.user_id, address)
    csrf_token(request)
    return redirect(nxt)


@router.post("/logout")
def logout(request: Request) -> Response:
    sid = request.session.get("sid")
    if isinstance(sid, str):
        _svc(request).end_session(sid)  # the cookie is worthless from now on, even if a copy is kept
    request.session.clear()
    return redirect("/login")


@router.get("/")
def home() -> Response:
    return redirect("/cases")


# -- cases -------------------------------------------------------------------------------------
def _filters(request: Request) -> dict[str, Any]:
    p = request.query_params
    overdue = {"1": True, "0": False}.get(p.get("overdue", ""))
    unit = p.get("unit", "")
    return {
        "status": p.get("status") or None,
        "unit_id": int(unit) if unit.isdigit() else None,
        "overdue": overdue,
        "text": p.get("q") or None,
    }


SORTS = {"new": "登记时间", "deadline": "剩余时间"}


@router.get("/cases", response_class=HTMLResponse)
def case_list(request: Request) -> Response:
    actor = require_actor(request)
    svc = _svc(request)
    filters = _filters(request)
    page_arg = request.query_params.get("page", "1")
    page_no = max(1, int(page_arg)) if page_arg.isdigit() and len(page_arg) < 7 else 1
    # A unit works to deadlines: its list starts with the one running out first.
    sort = request.query_params.get("sort") or ("deadline" if actor.role is Role.UNIT else "new")
    if sort not in SORTS:
        raise InvalidInput(f"未知排序「{sort}」", field="sort")
    at = svc.clock()
    page = reads.case_page(svc, actor, limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE, sort=sort, at=at, narrow=True, **filters)
    rows = [
        CaseRow(c, reads.is_overdue(c, at), d, guide.days_left(d, at), guide.days_left_text(d, at))
        for c, d in ((c, guide.deadline_of(c)) for c in page.items)
    ]
    query = "&".join(f"{k}={quote(v)}" for k, v in request.query_params.items() if k not in ("page", "sort"))
    return render(
        request,
        "cases.html",
        rows=rows,
        total=page.total,
        page=page_no,
        pages=max(1, math.ceil(page.total / PAGE_SIZE)),
        units=svc.list_units(),
        statuses=list(CaseStatus),
        query=query,
        sort=sort,
        f=request.query_params,
    )


@dataclass(frozen=True)
class CaseRow:
    case: Any
    late: bool
    deadline: datetime | None
    days_left: int | None
    days_left_text: str


@router.get("/cases/new", response_class=HTMLResponse)
def case_new_page(request: Request) -> Response:
    actor = require_actor(request)
    if actor.role not in states.OFFICE:
        raise PermissionDenied("只有舆情监测员和管理员可以登记案件")
    svc = _svc(request)
    return render(request, "case_new.html", units=svc.list_units(active_only=True), sources=SOURCES, types=list(svc.config.deadlines))


@router.post("/cases/new")
async def case_create(request: Request) -> Response:
    actor = await bg(require_actor, request)
    form = await request.form()
    data: dict[str, Any] = {
        k: _str(form, k)
        for k in (
            "title",
            "summary",
            "source",
            "source_ref",
            "case_type",
            "topic",
            "risk_level",
            "region",
            "petitioner",
            "petitioner_phone",
        )
        if _str(form, k)
    }
    data["post_urls"] = [u for u in _str(form, "post_urls").split() if u]
    data["unit_id"] = _int(form, "unit_id")
    data["co_unit_ids"] = [int(v) for v in form.getlist("co_unit_ids") if isinstance(v, str) and v.isdigit()]
    data["time_limit_days"] = _int(form, "time_limit_days")
    case = await bg(_svc(request).create_case, actor, _validated(NewCase, data))
    return redirect(f"/cases/{case.id}", f"已登记案件 {case.number}", request)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_detail(request: Request, case_id: int) -> Response:
    actor = require_actor(request)
    svc = _svc(request)
    case = svc.get_case(actor, case_id)
    view = view_of(case)
    at = svc.clock()
    case_actions = [r for a, r in states.CASE_RULES.items() if a not in ("edit", "add_commitment") and states.can(view, a, actor)]
    commitment_actions = {
        m.id: [r for a, r in states.COMMITMENT_RULES.items() if states.can(view, a, actor, commitment_id=m.id)] for m in case.commitments
    }
    can_add = states.can(view, "add_commitment", actor)
    text, my_turn = guide.next_action(case, actor, at)
    return render(
        request,
        "case.html",
        case=case,
        overdue=svc.is_overdue(case, at),
        audit=svc.audit(actor, case_id),
        steps=guide.steps(case),
        next_text=text,
        my_turn=my_turn,
        # Forms that move the case on sit with the next action; the rest (督办, 延期, 退回...) below it.
        main_actions=[r for r in case_actions if _main(r.action, case.status)],
        other_actions=[r for r in case_actions if not _main(r.action, case.status)],
        # The reply form takes the commitments with it when the unit can register them.
        reply_with_commitment=can_add and any(r.action == "respond" for r in case_actions),
        fulfil=[m for m in case.commitments if any(r.action == "fulfil" for r in commitment_actions[m.id])],
        # A fulfilment to check: 登记公开, or 核查退回, side by side with the next action.
        review=[
            (m, sorted((r for r in commitment_actions[m.id] if r.action in REVIEW), key=lambda r: REVIEW.index(r.action)))
            for m in case.commitments
            if _can(commitment_actions[m.id], "disclose")
        ],
        commitment_actions={k: [r for r in v if r.action not in ("fulfil", *REVIEW)] for k, v in commitment_actions.items()},
        can_add_commitment=can_add,
        internals=actor.role is not Role.UNIT,  # 版本, event/alert/source ids: for the office, not for units
        # 回应效果: figures about the event's posts, which (like events) units do not see.
        effect=effect_view(case, request.app.state.store, at, svc.config.effect) if actor.role is not Role.UNIT else None,
        in_commitment_phase=CaseStatus(case.status) in states.COMMITMENT_PHASE | {CaseStatus.CLOSED},
        days_left_text=guide.days_left_text,
        units=svc.list_units(active_only=True),
        satisfaction=SATISFACTION,
        now=at,
        upload_types=svc.config.upload_types,
        max_upload_mb=svc.config.max_upload_bytes / 1024 / 1024,
    )


REVIEW = ("disclose", "reject")


def _can(rules: list[states.Rule], action: str) -> bool:
    return any(r.action == action for r in rules)


MAIN_ACTIONS = ("assign", "accept", "respond", "track", "close", "approve_extension", "reject_extension")


def _main(action: str, status: str) -> bool:
    """Whether an action belongs with the next step: 退回 is the alternative to 签收, later it is not."""
    return action in MAIN_ACTIONS or (action == "return" and status == CaseStatus.ASSIGNED.value)


def _commitment_from_form(form: FormData, version: int | None, *, required: bool = True) -> NewCommitment | None:
    """The commitment a form registers (登记承诺, or the one given with the reply); None if the
    reply form's commitment fields are left empty."""
    data: dict[str, Any] = {"version": version, "content": _str(form, "content"), "unit_id": _int(form, "unit_id")}
    if not required and not data["content"]:
        return None
    due = _str(form, "due_date")
    if due:
        try:
            data["due_at"] = datetime.combine(datetime.strptime(due, "%Y-%m-%d").date(), time(23, 59, 59), tzinfo=TZ)
        except ValueError as exc:
            raise InvalidInput("承诺时限格式应为 YYYY-MM-DD", field="due_date") from exc
    elif _int(form, "due_workdays") is not None:
        data["due_workdays"] = _int(form, "due_workdays")
    elif not required:
        raise InvalidInput("请填写承诺时限（日期或工作日数）", field="due_workdays")
    return _validated(NewCommitment, data)  # type: ignore[no-any-return]


def _track_if_ready(svc: LedgerService, actor: Actor, case: Any) -> Any:
    """已回应 with commitments has no decision left in it: go on to 承诺落实中 at once. The state
    machine still records both steps (case.responded, then case.tracking) in the audit log."""
    if case.status == CaseStatus.RESPONDED.value and case.commitments and states.can(view_of(case), "track", actor):
        return svc.act(actor, case.id, CaseAction(action="track", version=case.version))
    return case


@router.post("/cases/{case_id}/act")
async def case_act(request: Request, case_id: int) -> Response:
    actor = await bg(require_actor, request)
    svc = _svc(request)
    form = await request.form()
    data: dict[str, Any] = {"action": _str(form, "action"), "version": _int(form, "version"), "note": _str(form, "note")}
    for key in ("unit_id", "time_limit_days", "extension_days"):
        if _int(form, key) is not None:
            data[key] = _int(form, key)
    if "response" in form:
        data["response"] = _str(form, "response")
    data["co_unit_ids"] = [int(v) for v in form.getlist("co_unit_ids") if isinstance(v, str) and v.isdigit()]
    req = _validated(CaseAction, data)
    # The reply may carry a commitment; everything is checked before anything is written.
    commitment = _commitment_from_form(form, req.version, required=False) if req.action == "respond" else None
    if req.action == "respond" and not req.response:
        raise InvalidInput("请填写回应内容", field="response")
    if commitment is not None:
        await bg(svc.add_commitment, actor, case_id, commitment)
        current = await bg(svc.get_case, actor, case_id)
        req = req.model_copy(update={"version": current.version})
    case = await bg(svc.act, actor, case_id, req)
    if req.action == "respond":
        case = await bg(_track_if_ready, svc, actor, case)
    where = "/cases" if req.action == "return" else f"/cases/{case_id}"  # a returned case leaves the unit's list
    done = f"已{states.CASE_RULES[req.action].label}"
    if commitment is not None:
        done += "并登记承诺"
    return redirect(where, f"{done}：{case.number}（{CaseStatus(case.status).label}）", request)


@router.post("/cases/{case_id}/commitments")
async def commitment_add(request: Request, case_id: int) -> Response:
    actor = await bg(require_actor, request)
    svc = _svc(request)
    form = await request.form()
    new = _commitment_from_form(form, _int(form, "version"))
    assert new is not None
    await bg(svc.add_commitment, actor, case_id, new)
    case = await bg(_track_if_ready, svc, actor, await bg(svc.get_case, actor, case_id))
    return redirect(f"/cases/{case_id}", f"已登记承诺事项（{CaseStatus(case.status).label}）", request)


@router.post("/commitments/{commitment_id}/act")
async def commitment_act(request: Request, commitment_id: int) -> Response:
    actor = await bg(require_actor, request)
    svc = _svc(request)
    form = await request.form()
    data: dict[str, Any] = {"action": _str(form, "action"), "version": _int(form, "version"), "note": _str(form, "note")}
    for key in ("fulfilment", "disclosure_channel", "disclosure_url", "revisit_result", "satisfaction"):
        if _str(form, key):
            data[key] = _str(form, key)
    data["evidence_links"] = [u for u in _str(form, "evidence_links").split() if u]
    req = _validated(CommitmentAction, data)
    files: list[CheckedUpload] = []
    for f in form.getlist("files"):
        if isinstance(f, UploadFile) and f.filename:
            # Refuse before reading when the parser already knows the size.
            if f.size is not None and f.size > svc.config.max_upload_bytes:
                raise InvalidInput(f"附件「{f.filename}」超过大小上限 {svc.config.max_upload_bytes // 1024} KB", field="files")
            blob = await f.read(svc.config.max_upload_bytes + 1)
            files.append(check_upload(f.filename, blob, allowed=svc.config.upload_types, max_bytes=svc.config.max_upload_bytes))
    com = await bg(svc.act_on_commitment, actor, commitment_id, req, files)
    return redirect(f"/cases/{com.case_id}", f"承诺已{states.COMMITMENT_RULES[req.action].label}", request)


@router.get("/attachments/{attachment_id}")
def attachment(request: Request, attachment_id: int) -> Response:
    actor = require_actor(request)
    att, data = _svc(request).get_attachment(actor, attachment_id)
    disposition = f"attachment; filename*=UTF-8''{quote(att.filename)}"
    return Response(data, media_type=att.content_type, headers={"Content-Disposition": disposition})


# -- export ------------------------------------------------------------------------------------
@router.get("/export.xlsx")
def export(request: Request) -> Response:
    actor = require_actor(request)
    svc = _svc(request)
    page = svc.list_cases(actor, limit=100000, **_filters(request))
    at = svc.clock()
    body = export_xlsx(list(reversed(page.items)), at)
    name = quote(f"舆情回应台账-{at:%Y%m%d}.xlsx")
    return Response(
        body,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
    )


# -- events from the store: open a case in one click ----------------------------------------------
@router.get("/events", response_class=HTMLResponse)
def events(request: Request) -> Response:
    actor = require_actor(request)
    if actor.role not in states.OFFICE:
        raise PermissionDenied("只有舆情监测员和管理员可以从舆情事件立案")
    store = request.app.state.store
    posts = []
    from web.scheme_pages import scheme_names

    schemes = scheme_names(request)
    scheme = request.query_params.get("scheme") or None
    scheme = scheme if scheme in schemes else None  # 监测方案: narrow to the posts tagged with it
    if store is not None:
        seen: set[str] = set()
        for level in ("重大", "高", "中"):
            for p in store.search(Query(risk_level=level, scheme=scheme, limit=50)).hits:
                if p.event_id not in seen:
                    seen.add(p.event_id)
                    posts.append(p)
    return render(
        request, "events.html", posts=[_linked(p) for p in posts[:60]], has_store=store is not None, schemes=schemes, scheme=scheme
    )


@router.get("/events/{event_id}", response_class=HTMLResponse)
def event_detail(request: Request, event_id: str) -> Response:
    """An event: its posts over time, sources, regions, keywords, alerts and cases (alert pages and
    notifications link here: alerts.event_path). Charts: ``/workbench/data/event/<id>.json``."""
    actor = require_actor(request)
    if actor.role is Role.UNIT:
        raise PermissionDenied("承办单位无权查看舆情事件")
    from web.event_view import event_view
    from web.post_pages import corrected_posts

    view = event_view(request, actor, event_id)
    corrected = corrected_posts(request, [p.id for p in view["posts"]])  # 已纠错 badges
    return render(request, "event.html", **view, can_open=actor.role in states.OFFICE, corrected=corrected)


def _linked(post: Any) -> Any:
    """A collected post with its link dropped unless it is http(s) (``ledger.urls``)."""
    return post if not post.url or is_http_url(post.url) else post.model_copy(update={"url": None})


@router.post("/events/case")
async def event_case(request: Request) -> Response:
    actor = await bg(require_actor, request)
    if actor.role not in states.OFFICE:
        raise PermissionDenied("只有舆情监测员和管理员可以从舆情事件立案")
    form = await request.form()
    store = request.app.state.store
    post = await bg(store.get, _str(form, "post_id")) if store is not None else None
    if post is None:
        raise InvalidInput("检索库中没有这条帖子", field="post_id")
    from ledger.intake import case_from_post

    case = await bg(_svc(request).create_case, actor, case_from_post(post, _svc(request).config))
    return redirect(f"/cases/{case.id}", f"已立案 {case.number}", request)


# -- administration ------------------------------------------------------------------------------
@router.get("/admin", response_class=HTMLResponse)
def admin(request: Request) -> Response:
    actor = require_actor(request)
    svc = _svc(request)
    users = svc.list_users(actor)
    new_token = request.session.pop("new_token", None)
    return render(
        request, "admin.html", units=svc.list_units(), users=users, tokens=svc.list_tokens(actor), roles=list(Role), new_token=new_token
    )


@router.post("/admin/units")
async def admin_unit_add(request: Request) -> Response:
    actor = await bg(require_actor, request)
    form = await request.form()
    unit = await bg(_svc(request).create_unit, actor, _str(form, "name"), _str(form, "kind") or "部门", _str(form, "contact"))
    return redirect("/admin", f"已添加单位 {unit.name}", request)


@router.post("/admin/units/{unit_id}/active")
async def admin_unit_active(request: Request, unit_id: int) -> Response:
    actor = await bg(require_actor, request)
    form = await request.form()
    await bg(_svc(request).set_unit_active, actor, unit_id, _str(form, "active") == "1")
    return redirect("/admin", "已更新单位状态", request)


@router.post("/admin/users")
async def admin_user_add(request: Request) -> Response:
    actor = await bg(require_actor, request)
    form = await request.form()
    user = await bg(
        lambda: _svc(request).create_user(
            actor,
            _str(form, "username"),
            str(form.get("password") or ""),
            _str(form, "role"),
            unit_id=_int(form, "unit_id"),
            display_name=_str(form, "display_name"),
        )
    )
    return redirect("/admin", f"已添加用户 {user.username}", request)


@router.post("/admin/users/{user_id}/active")
async def admin_user_active(request: Request, user_id: int) -> Response:
    actor = await bg(require_actor, request)
    form = await request.form()
    await bg(_svc(request).set_user_active, actor, user_id, _str(form, "active") == "1")
    return redirect("/admin", "已更新用户状态", request)


@router.post("/admin/users/{user_id}/password")
async def admin_user_password(request: Request, user_id: int) -> Response:
    actor = await bg(require_actor, request)
    form = await request.form()
    await bg(_svc(request).set_password, actor, user_id, str(form.get("password") or ""))
    return redirect("/admin", "已重置密码", request)


@router.post("/admin/tokens")
async def admin_token_add(request: Request) -> Response:
    actor = await bg(require_actor, request)
    form = await request.form()
    user_id = _int(form, "user_id")
    if user_id is None:
        raise InvalidInput("请选择用户", field="user_id")
    token = await bg(_svc(request).issue_token, actor, user_id, _str(form, "name"))
    request.session["new_token"] = token
    return redirect("/admin", "已签发接口令牌（只显示这一次，请妥善保存）", request)


@router.post("/admin/tokens/{token_id}/revoke")
def admin_token_revoke(request: Request, token_id: int) -> Response:
    actor = require_actor(request)
    _svc(request).revoke_token(actor, token_id)
    return redirect("/admin", "已吊销令牌", request)

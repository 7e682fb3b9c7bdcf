"""纠错 pages: one classified post (``/posts/{id}``) with its fields and corrections, and the
monitor's correction of its topic, sentiment, risk level and region (``corrections``).

The correction form sits on the post page with the current values selected: change a field,
press 保存纠错 (event and alert pages link here with 纠错). Ticking 应用到整个事件 first shows a
confirmation page listing every post of the event and what will change; 确认 saves them all in
one transaction. Monitors and admins correct; leaders see; units are refused (403), as on the
event pages. Plain forms with the session's CSRF token, no script.
API: ``GET``/``POST /api/v1/posts/{id}/corrections`` (JSON; bearer token or session + X-CSRF-Token).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool as bg

from corrections.apply import Corrector, Who
from corrections.model import FIELD_LABELS, FIELDS, SENTIMENT_LABELS, CorrectionError, label, region_paths, validate, values_of
from corrections.table import Correction, CorrectionTable, pinned
from ledger import states
from ledger.errors import InvalidInput, NotFound, PermissionDenied
from ledger.states import Actor, Role
from web import require_actor
from web.api import bearer
from web.pages import _linked, _str, redirect, render
from yuqing.errors import BackendError
from yuqing.events import RISK_LEVELS, TOPICS, PostClassified
from yuqing.store import Query

log = logging.getLogger("ledger.web.corrections")
UNSAVED = "纠错未保存（检索库或数据库暂时无法写入），没有任何改动，请稍后重试"
router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1", tags=["corrections"], dependencies=[Depends(bearer)])


def corrections_table(request: Request) -> CorrectionTable:
    table = getattr(request.app.state, "corrections", None)
    if table is None:
        table = request.app.state.corrections = CorrectionTable(request.app.state.service.db.url)
    return table  # type: ignore[no-any-return]


def corrected_posts(request: Request, post_ids: list[str]) -> dict[str, dict[str, str | None]]:
    """post id -> the fields people corrected (with their values), for the badges of list pages."""
    if not post_ids:
        return {}
    try:
        history = corrections_table(request).of_posts(post_ids)
    except BackendError as exc:  # the page still shows the posts, without the badges
        log.warning("corrections: cannot read the corrections table: %s", str(exc)[:300])
        return {}
    return {pid: p for pid, h in history.items() if (p := pinned(h))}


def _viewer(request: Request) -> Actor:
    actor = require_actor(request)
    if actor.role is Role.UNIT:
        raise PermissionDenied("承办单位无权查看舆情帖子")
    return actor


def _corrector(request: Request) -> Actor:
    actor = require_actor(request)
    if actor.role not in states.OFFICE:
        raise PermissionDenied("只有舆情监测员和管理员可以纠错")
    return actor


def _url(post_id: str) -> str:
    return "/posts/" + quote(post_id, safe=":@")


def _who(actor: Actor) -> Who:
    return Who(actor.username, actor.role.value, actor.user_id or None)


def _post(request: Request, post_id: str) -> PostClassified:
    store = request.app.state.store
    post = store.get(post_id) if store is not None else None
    if post is None:
        raise NotFound(f"检索库中没有帖子 {post_id[:100]}")
    return post  # type: ignore[no-any-return]


def _form_values(form: Any) -> dict[str, str | None]:
    return {f: _str(form, f) for f in FIELDS if form.get(f) is not None}


def _changes(c: Correction) -> str:
    return "；".join(f"{FIELD_LABELS[f]} {label(f, c.old.get(f))} → {label(f, c.new.get(f))}" for f in c.changed)


def _page(request: Request, actor: Actor, post: PostClassified, status_code: int = 200, error: str | None = None, **ctx: Any) -> Response:
    try:
        history = corrections_table(request).history(post.id)
    except BackendError as exc:  # the post is still shown; the form still works once the table is back
        log.warning("corrections: cannot read the corrections of %s: %s", post.id, str(exc)[:300])
        history, error = [], error or "纠错记录暂时无法读取（数据库无法连接）"
    store = request.app.state.store
    event_size = store.search(Query(event_id=post.event_id, limit=1)).total if store is not None else 0
    return render(
        request,
        "post.html",
        status_code,
        post=_linked(post),
        values=values_of(post),
        history=history,
        pinned=pinned(history),
        changes=_changes,
        can_correct=actor.role in states.OFFICE,
        topics=TOPICS,
        sentiments=SENTIMENT_LABELS,
        risk_levels=RISK_LEVELS,
        regions=region_paths(),
        field_labels=FIELD_LABELS,
        label=label,
        event_size=event_size,
        error=error,
        **ctx,
    )


@router.post("/posts/{post_id:path}/corrections")
async def post_correct(request: Request, post_id: str) -> Response:
    actor = await bg(_corrector, request)
    post = await bg(_post, request, post_id)
    form = await request.form()
    values = _form_values(form)
    whole_event = form.get("scope") == "event"
    corrector = Corrector(corrections_table(request), request.app.state.store)
    try:
        if not whole_event:
            rows = await bg(corrector.correct, _who(actor), post, values)
            changed = rows[0]["changed"]
            msg = "已纠错：" + "、".join(FIELD_LABELS[f] for f in changed) if changed else "已确认分类无误"
            return redirect(_url(post.id), msg, request)
        event_posts = await bg(corrector.event_posts, post.event_id)
        changed_values = {f: v for f, v in values.items() if f in FIELDS and values_of(post).get(f) != (v or None)}
        if form.get("confirm") != "yes":  # the confirmation step: what will change, on which posts
            checked = validate(changed_values, list(changed_values))
            if not checked:
                raise CorrectionError("没有修改任何字段，无需应用到整个事件", field="scope")
            plan = [(p, {f: (values_of(p)[f], v) for f, v in checked.items() if values_of(p)[f] != v}) for p in event_posts]
            return render(
                request, "post_confirm.html", post=post, values=values, checked=checked, plan=plan, field_labels=FIELD_LABELS, label=label
            )
        rows = await bg(corrector.correct, _who(actor), post, values, event_posts=event_posts)
        n = sum(1 for r in rows if r["changed"])
        return redirect(_url(post.id), f"已将纠错应用到事件的 {len(rows)} 条帖子（{n} 条有改动）", request)
    except CorrectionError as exc:
        return await bg(_page, request, actor, post, 422, str(exc))
    except BackendError as exc:  # the store or the table refused: the transaction rolled back
        log.warning("corrections: saving a correction of %s failed: %s", post.id, str(exc)[:300])
        return await bg(_page, request, actor, post, 503, UNSAVED)


@router.get("/posts/{post_id:path}", response_class=HTMLResponse)
def post_page(request: Request, post_id: str) -> Response:
    actor = _viewer(request)
    return _page(request, actor, _post(request, post_id))


# -- API --------------------------------------------------------------------------------------
class CorrectionIn(BaseModel):
    """The fields to correct (any of them; region null or "" for no region) and whether to set the
    changed ones on every post of the post's event."""

    model_config = ConfigDict(extra="forbid")
    topic: str | None = None
    sentiment: str | None = None
    risk_level: str | None = None
    region: str | None = None
    apply_to_event: bool = False


def _json(c: Correction) -> dict[str, Any]:
    return {
        "id": c.id,
        "post_id": c.post_id,
        "event_id": c.event_id,
        "model": c.model,
        "old": c.old,
        "new": c.new,
        "reviewed": c.reviewed,
        "changed": c.changed,
        "via": c.via,
        "batch": c.batch,
        "by": c.actor_name,
        "role": c.actor_role,
        "at": c.created_at.isoformat(),
    }


@api_router.get("/posts/{post_id:path}/corrections", summary="A post's corrections (纠错), oldest first")
def api_history(request: Request, post_id: str) -> dict[str, Any]:
    _viewer(request)
    post = _post(request, post_id)
    history = corrections_table(request).history(post.id)
    return {"post_id": post.id, "values": values_of(post), "corrected": pinned(history), "corrections": [_json(c) for c in history]}


@api_router.post("/posts/{post_id:path}/corrections", status_code=201, summary="Correct a post's topic, sentiment, risk level, region")
def api_correct(request: Request, post_id: str, body: CorrectionIn) -> Response:
    actor = _corrector(request)
    post = _post(request, post_id)
    values = body.model_dump(exclude={"apply_to_event"}, exclude_unset=True)
    corrector = Corrector(corrections_table(request), request.app.state.store)
    try:
        events = corrector.event_posts(post.event_id) if body.apply_to_event else None
        corrector.correct(_who(actor), post, values, event_posts=events, via="api")
    except CorrectionError as exc:
        raise InvalidInput(str(exc), field=exc.field) from exc
    except BackendError as exc:
        log.warning("corrections: saving a correction of %s failed: %s", post.id, str(exc)[:300])
        return JSONResponse({"detail": UNSAVED, "error": "Unavailable"}, 503, headers={"Retry-After": "10"})
    history = corrections_table(request).history(post.id)
    return JSONResponse({"post_id": post.id, "values": values_of(_post(request, post.id)), "corrections": [_json(c) for c in history]}, 201)

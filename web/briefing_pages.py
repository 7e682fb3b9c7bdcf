"""The briefing archive: every 日报/周报/月报/专报 run (period, files, recipients, delivery status
with its attempts) and downloads of its PDF and Word files.

Who sees what: monitors, leaders and admins see every run; a unit user sees the runs that were
sent to its unit (``ledger.briefing.schedules[].units``) and may download only those; anything
else answers 404, as for a case of another unit.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.concurrency import run_in_threadpool as bg

from briefings.model import BriefingError
from briefings.runs import Archive, Run
from ledger import states
from ledger.channels import channel_label
from ledger.errors import InvalidInput, NotFound, PermissionDenied
from ledger.states import Actor, Role
from web import require_actor
from web.pages import _str, redirect, render

router = APIRouter(include_in_schema=False)
DELIVERY_STATUS = {"pending": "待发送/待重试", "sent": "已发送", "failed": "发送失败"}


def _archive(request: Request) -> Archive | None:
    return getattr(request.app.state, "briefings", None)


def _unit_name(request: Request, actor: Actor) -> str | None:
    if actor.unit_id is None:
        return None
    unit = next((u for u in request.app.state.service.list_units() if u.id == actor.unit_id), None)
    return unit.name if unit else None


def _may_see(request: Request, actor: Actor, run: Run) -> bool:
    if actor.role is not Role.UNIT:
        return True
    unit = _unit_name(request, actor)
    return unit is not None and unit in run.units


@router.get("/briefings", response_class=HTMLResponse)
def briefing_list(request: Request) -> Response:
    actor = require_actor(request)
    archive = _archive(request)
    runs: list[Run] = []
    if archive is not None:
        runs = archive.with_deliveries([r for r in archive.runs() if _may_see(request, actor, r)])
    return render(
        request,
        "briefings.html",
        runs=runs,
        has_archive=archive is not None,
        can_make=actor.role in states.OFFICE and archive is not None and archive.settings is not None,
        delivery_status=DELIVERY_STATUS,
        show_recipients=actor.role is not Role.UNIT,  # addresses and replies are the office's business
        channel_label=channel_label,
    )


@router.get("/briefings/{run_id}/files/{name}")
def briefing_file(request: Request, run_id: int, name: str) -> Response:
    actor = require_actor(request)
    archive = _archive(request)
    run = archive.get(run_id) if archive is not None else None
    if archive is None or run is None or not _may_see(request, actor, run):
        raise NotFound(f"没有编号为 {run_id} 的简报")
    path = archive.path(run, name)
    if path is None:
        raise NotFound(f"简报 {run_id} 没有文件“{name}”（可能已被清理）")
    media = "application/pdf" if name.endswith(".pdf") else "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    return FileResponse(path, media_type=media, headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


@router.post("/briefings/special")
async def briefing_special(request: Request) -> Response:
    """专报 for one event, now: made, recorded and delivered like the scheduled ones."""
    from briefings.runs import run_special

    actor = await bg(require_actor, request)
    if actor.role not in states.OFFICE:
        raise PermissionDenied("只有舆情监测员和管理员可以生成专报")
    form = await request.form()
    event_id = _str(form, "event_id").strip()
    archive = _archive(request)
    post_store = request.app.state.store
    if archive is None or archive.settings is None or post_store is None:
        raise NotFound("未启用简报归档或未连接帖文库，无法生成专报（在 `yuqing run` 中运行）")
    if not event_id:
        raise InvalidInput("请填写事件编号（event_id）", field="event_id")
    try:
        run = await bg(run_special, archive.settings, post_store, archive, event_id)
    except BriefingError as exc:
        raise InvalidInput(str(exc), field="event_id") from exc
    return redirect(f"/briefings#run-{run.id}", f"已生成专报（编号 {run.id}）：{run.status_zh}", request)

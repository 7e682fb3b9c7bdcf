"""The 回复时效 page and its Excel export: reply timeliness per unit and channel for a period.

Monitors, leaders and admins see every unit; a unit user sees the figures of their own unit only.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from ledger.errors import InvalidInput
from ledger.service import LedgerService
from ledger.states import Role
from ledger.timeliness import report
from ledger.timeliness.chart import months_svg, units_svg
from ledger.timeliness.export import export_xlsx, num, pct
from ledger.timeliness.figures import Report
from web import require_actor
from web.pages import render
from yuqing.timeutil import TZ

router = APIRouter(include_in_schema=False)
PRESETS = {"month": "本月", "3m": "近3个月", "12m": "近12个月", "all": "全部"}
EARLIEST = datetime(2000, 1, 1, tzinfo=TZ)
LIST_LIMIT = 200


def _svc(request: Request) -> LedgerService:
    return request.app.state.service  # type: ignore[no-any-return]


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{name}「{value[:20]}」不是日期，请用 2026-11-01 这样的格式", field=name) from None


def period_of(params: dict[str, str], today: date) -> tuple[datetime, datetime, str, str]:
    """(since, until, label, preset) from the query: ``since``/``until`` dates (both days included)
    or a ``range`` preset; the default is the last 12 months."""
    since_s, until_s = params.get("since", "").strip(), params.get("until", "").strip()
    tomorrow = datetime.combine(today + timedelta(days=1), time(), tzinfo=TZ)
    if since_s or until_s:
        start = _day(since_s, "起始日期") if since_s else EARLIEST.date()
        end = _day(until_s, "截止日期") if until_s else today
        if end < start:
            raise InvalidInput("截止日期早于起始日期", field="until")
        since = datetime.combine(start, time(), tzinfo=TZ)
        until = datetime.combine(end + timedelta(days=1), time(), tzinfo=TZ)
        return since, until, f"{start:%Y-%m-%d} 至 {end:%Y-%m-%d}", ""
    preset = params.get("range") or "12m"
    if preset not in PRESETS:
        raise InvalidInput(f"未知的统计区间「{preset[:20]}」", field="range")
    if preset == "all":
        return EARLIEST, tomorrow, "全部", preset
    months = {"month": 0, "3m": 2, "12m": 11}[preset]
    y, m = today.year, today.month - months
    while m < 1:
        y, m = y - 1, m + 12
    since = datetime(y, m, 1, tzinfo=TZ)
    return since, tomorrow, f"{since:%Y-%m-%d} 至 {today:%Y-%m-%d}（{PRESETS[preset]}）", preset


def _report(request: Request) -> tuple[Report, str, str, str | None]:
    actor = require_actor(request)
    svc = _svc(request)
    at = svc.clock()
    params = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
    since, until, label, preset = period_of(params, at.astimezone(TZ).date())
    unit = None
    if actor.role is Role.UNIT:
        own = next((u for u in svc.list_units() if u.id == actor.unit_id), None)
        unit = own.name if own else "（未绑定单位）"
    r = report(request.app.state.store, svc.db.engine, svc.config.timeliness, since, until, at, unit=unit)
    keep = {k: params[k] for k in ("range", "since", "until") if params.get(k)}
    return r, label, preset, urlencode(keep) if keep else None


@router.get("/timeliness", response_class=HTMLResponse)
def timeliness_page(request: Request) -> Response:
    r, label, preset, query = _report(request)
    actor = require_actor(request)
    return render(
        request,
        "timeliness.html",
        r=r,
        label=label,
        preset=preset,
        presets=PRESETS,
        export_query=query,
        since=request.query_params.get("since", ""),
        until=request.query_params.get("until", ""),
        unit_view=actor.role is Role.UNIT,
        units_chart=Markup(units_svg(r.units)),
        months_chart=Markup(months_svg(r.months)),
        pct=pct,
        num=num,
        limit=LIST_LIMIT,
        cfg=_svc(request).config.timeliness,
    )


@router.get("/timeliness.xlsx")
def timeliness_export(request: Request) -> Response:
    r, label, _, _ = _report(request)
    at = _svc(request).clock()
    body = export_xlsx(r, at, label)
    name = quote(f"回复时效-{at:%Y%m%d}.xlsx")
    return Response(
        body,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
    )

"""模型质量 (``/quality``): how often the model agreed with the monitors' corrections, per week or
month and per class of topic, sentiment, risk level and region (``corrections.quality``), and the
corrections as labelled data (``/quality/corrections.jsonl``, as ``yuqing corrections export``).
Monitors, admins and leaders see it; units are refused (403)."""

from __future__ import annotations

import io
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from corrections.export import write_jsonl
from corrections.model import FIELD_LABELS
from corrections.quality import figures
from ledger import states
from ledger.errors import PermissionDenied
from ledger.states import Role
from web import require_actor
from web.pages import render
from web.post_pages import corrections_table
from yuqing.timeutil import TZ

router = APIRouter(include_in_schema=False)
PERIODS = {"week": "按周", "month": "按月"}
MAX_PERIODS = 12


@router.get("/quality", response_class=HTMLResponse)
def quality(request: Request, period: str = "week") -> Response:
    actor = require_actor(request)
    if actor.role is Role.UNIT:
        raise PermissionDenied("承办单位无权查看模型质量")
    period = period if period in PERIODS else "week"
    rows = corrections_table(request).all()
    return render(
        request,
        "quality.html",
        periods=figures(rows, period)[:MAX_PERIODS],  # type: ignore[arg-type]
        period=period,
        period_labels=PERIODS,
        field_labels=FIELD_LABELS,
        total_posts=len({c.post_id for c in rows}),
        total_rows=len(rows),
        can_export=actor.role in states.OFFICE,
    )


@router.get("/quality/corrections.jsonl")
def export(request: Request) -> Response:
    actor = require_actor(request)
    if actor.role not in states.OFFICE:
        raise PermissionDenied("只有舆情监测员和管理员可以导出纠错数据")
    buf = io.StringIO()
    write_jsonl(corrections_table(request), buf)
    name = f"corrections-{datetime.now(TZ):%Y%m%d}.jsonl"
    return Response(
        buf.getvalue().encode("utf-8"),
        media_type="application/x-ndjson; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )

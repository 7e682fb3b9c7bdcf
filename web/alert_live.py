"""The alert inbox, live: ``/alerts/stream`` sends each new alert the reader may see as a
server-sent event (``static/alerts-live.js`` adds it to the list without a reload), and
``/alerts/bulk-ack`` acknowledges several alerts at once (monitors and administrators; CSRF
checked by the app-wide dependency like every other form).

Included before ``web.alert_pages`` so that ``/alerts/stream`` is not read as an alert id.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool as bg

from alerts.store import STATUS_ZH, Alert, AlertNotFound, AlertStore, LifecycleError
from ledger.errors import InvalidInput
from web import alert_title, require_actor
from web.alert_pages import RULE_TYPES, _linked, _office, _own_unit, _publish, _store, _visible, _who
from web.pages import redirect

log = logging.getLogger("ledger.web")
router = APIRouter(include_in_schema=False)
POLL_SECONDS = 0.5  # a new alert shows within this (plus the time to draw it)
STREAM_SECONDS = 300  # then the stream ends and the browser reconnects (EventSource does so itself)
BULK_MAX = 200


def alert_json(a: Alert) -> dict[str, Any]:
    when = a.fired_at or a.created_at
    return {
        "id": a.id,
        "title": alert_title(a.title, a.rule, a.labels),
        "rule": a.rule,
        "rule_type": RULE_TYPES.get(a.rule_type, a.rule_type),
        "severity": a.severity,
        "status": a.status,
        "status_zh": STATUS_ZH.get(a.status, a.status),
        "time": when.strftime("%Y-%m-%d %H:%M"),
        "last_seen": a.last_seen.strftime("%Y-%m-%d %H:%M") if a.last_seen else "",
        "post_count": a.post_count,
        "negative_count": a.negative_count,
    }


@router.get("/alerts/stream")
async def stream(request: Request) -> Response:
    actor = await bg(require_actor, request)
    unit = await bg(_own_unit, request, actor)
    store: AlertStore | None = _store(request)

    def recent() -> list[Alert]:
        return store.find(None, limit=100) if store is not None else []

    seen = {a.id for a in await bg(recent)}
    lasts = request.query_params.get("seconds", "")  # for tests and tools: a shorter stream
    seconds = min(STREAM_SECONDS, int(lasts)) if lasts.isdigit() and len(lasts) < 5 else STREAM_SECONDS

    async def events() -> AsyncIterator[str]:
        yield "retry: 1000\n\n"
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while loop.time() < end and store is not None:
            await asyncio.sleep(POLL_SECONDS)
            if await request.is_disconnected():
                return
            try:
                found = await bg(recent)
            except Exception:  # the database is away for a moment: try again on the next tick
                log.warning("alert stream: reading alerts failed", exc_info=True)
                continue
            for a in reversed(found):  # oldest first, so the newest ends on top
                if a.id in seen:
                    continue
                seen.add(a.id)
                if await bg(_sees, request, actor, unit, a):
                    yield f"event: alert\nid: {a.id}\ndata: {json.dumps(alert_json(a), ensure_ascii=False)}\n\n"
            yield ": ping\n\n"  # keeps proxies from closing an idle stream

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _sees(request: Request, actor: Any, unit: str | None, alert: Alert) -> bool:
    return _visible(request, alert, unit, _linked(request, actor, [alert]))


@router.post("/alerts/bulk-ack")
async def bulk_ack(request: Request) -> Response:
    actor = await bg(_office, request, "确认舆情预警")
    form = await request.form()
    ids = [v for v in form.getlist("alert_id") if isinstance(v, str) and v]
    if not ids:
        raise InvalidInput("请先勾选要确认的预警", field="alert_id")
    if len(ids) > BULK_MAX:
        raise InvalidInput(f"一次最多确认 {BULK_MAX} 条预警", field="alert_id")
    store = _store(request)
    if store is None:
        raise InvalidInput("未连接预警库", field="alert_id")
    note = form.get("note")

    def ack_all() -> tuple[int, list[str]]:
        done, skipped = 0, []
        for alert_id in dict.fromkeys(ids):
            try:
                a = store.get(alert_id)
                if a.id != alert_id or a.status not in ("pending", "firing"):
                    skipped.append(alert_id)
                    continue
                store.acknowledge(a.id, _who(actor), note if isinstance(note, str) else "")
                done += 1
            except (AlertNotFound, LifecycleError):
                skipped.append(alert_id)
        return done, skipped

    done, skipped = await bg(ack_all)
    await bg(_publish, request, store)
    message = f"已确认 {done} 条预警" + (f"；{len(skipped)} 条未确认（已确认、已解除或不存在）" if skipped else "")
    return redirect(_back_to_alerts(request), message, request)


def _back_to_alerts(request: Request) -> str:
    from urllib.parse import urlsplit

    ref = urlsplit(request.headers.get("referer", ""))
    return ref.path + (f"?{ref.query}" if ref.query else "") if ref.path == "/alerts" and ref.netloc == request.url.netloc else "/alerts"

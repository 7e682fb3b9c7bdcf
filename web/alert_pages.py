"""Alert pages: the alerts the engine keeps (``alert_*`` tables, read through ``alerts.store``), with
their posts, lifecycle and cases; one-click 立案, acknowledge and resolve.

Who sees what: monitors, leaders and admins read every alert; monitors and admins open cases and
acknowledge or resolve. A unit user reads, without acting on them, the alerts of its own unit: the
rule's responsible unit (label ``unit``), else the unit the alert's topic goes to
(``ledger.topic_units``) — the same unit a route with ``to_unit`` notifies — and the alerts whose
case (opened for the alert or its event) is assigned to the unit.
Acknowledging or resolving goes through ``AlertStore`` itself, so the engine stops repeats and
escalation exactly as after ``yuqing alerts ack``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool as bg

from alerts.store import OPEN, STATUS_ZH, Alert, AlertNotFound, AlertStore, LifecycleError
from ledger import states
from ledger.effect import response_time
from ledger.errors import NotFound, PermissionDenied, TransitionError
from ledger.service import LedgerService
from ledger.states import Actor, CaseStatus, Role
from ledger.urls import safe_url
from web import require_actor
from web.alert_intake import case_from_alert
from web.effect_view import effect_view
from web.pages import _str, redirect, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
TOP_POSTS = 20

RULE_TYPES = {
    "any": "逐条",
    "frequency": "频次",
    "spike": "突增",
    "negative_ratio": "负面占比",
    "new_event": "新事件",
    "flatline": "静默",
    "rebound": "回应后升温",
}
DELIVERY_KINDS = {"first": "首次", "repeat": "重复", "upgrade": "风险升级", "escalation": "升级", "test": "测试"}
DELIVERY_STATUS = {"pending": "待发送", "sent": "已发送", "failed": "发送失败"}
SEVERITIES = ("重大", "高", "中", "低")
FILTERS = {"": "全部", "open": "未解除", "firing": "告警中", "acknowledged": "已确认", "resolved": "已解除", "pending": "等待中"}


@dataclass(frozen=True)
class CaseLink:
    id: int
    number: str | None


@dataclass(frozen=True)
class Row:
    alert: Alert
    cases: list[CaseLink]


def _svc(request: Request) -> LedgerService:
    return request.app.state.service  # type: ignore[no-any-return]


def _reader(request: Request) -> Actor:
    return require_actor(request)


def _own_unit(request: Request, actor: Actor) -> str | None:
    """A unit user's unit name (None for the office roles, who see everything)."""
    if actor.role is not Role.UNIT:
        return None
    unit = next((u for u in _svc(request).list_units() if u.id == actor.unit_id), None)
    return unit.name if unit else ""


def _visible(request: Request, alert: Alert, unit: str | None, linked: frozenset[str] = frozenset()) -> bool:
    """Everyone's for the office roles (``unit`` None); else the unit's own (rule unit or topic
    unit), or one whose case — opened for the alert or its event — the unit handles (``linked``)."""
    from alerts.routing import alert_unit

    return unit is None or alert.id in linked or (bool(unit) and alert_unit(alert.labels, _svc(request).config.topic_units) == unit)


def _linked(request: Request, actor: Actor, alerts: list[Alert]) -> frozenset[str]:
    """For a unit user: the alerts whose case (by alert or by event) is assigned to its unit, as
    the ledger shows the unit its cases."""
    if actor.role is not Role.UNIT or not alerts:
        return frozenset()
    events = [e for a in alerts if (e := a.labels.get("event_id"))]
    cases = _svc(request).cases_for_alerts(actor, [a.id for a in alerts], events)
    by_alert = {c.alert_id for c in cases if c.alert_id}
    by_event = {c.event_id for c in cases if c.event_id}
    return frozenset(a.id for a in alerts if a.id in by_alert or a.labels.get("event_id") in by_event)


def _office(request: Request, what: str) -> Actor:
    actor = require_actor(request)
    if actor.role not in states.OFFICE:
        raise PermissionDenied(f"只有舆情监测员和管理员可以{what}")
    return actor


def _store(request: Request) -> AlertStore | None:
    return request.app.state.alerts  # type: ignore[no-any-return]


def _alert(request: Request, alert_id: str) -> tuple[AlertStore, Alert]:
    store = _store(request)
    if store is None:
        raise NotFound("未连接预警库")
    try:
        alert = store.get(alert_id)
    except AlertNotFound:
        alert = None
    if alert is None or alert.id != alert_id:  # the store also resolves prefixes; a page has one address
        raise NotFound(f"没有编号为 {alert_id} 的预警")
    return store, alert


def _who(actor: Actor) -> str:
    return actor.username if actor.name == actor.username else f"{actor.name}（{actor.username}）"


LIFECYCLE = {"ack": ("确认", "等待中、告警中"), "resolve": ("解除", "等待中、告警中、已确认")}


def _refused(store: AlertStore, alert: Alert, action: str) -> TransitionError:
    status = store.get(alert.id).status  # as it is now: someone may have just changed it
    what, allowed = LIFECYCLE[action]
    return TransitionError(f"预警当前状态为「{STATUS_ZH.get(status, status)}」，不能{what}（仅限：{allowed}）", action=action, state=status)


def _publish(request: Request, store: AlertStore) -> None:
    """Send the lifecycle event now; without a bus (or if it is down) the engine sends it on its next tick."""
    bus = _svc(request).bus
    if bus is None:
        return
    # Tried at every lifecycle action (the web has no scheduled retry of its own to re-open a
    # latched path); with the bus down the event waits in the outbox, said once per outage.
    store.outbox.flush_pending(bus)


@router.get("/alerts", response_class=HTMLResponse)
def alert_list(request: Request) -> Response:
    actor = _reader(request)
    store = _store(request)
    status = request.query_params.get("status", "open")
    if status not in FILTERS:
        status = "open"
    severity = request.query_params.get("severity", "")
    severity = severity if severity in SEVERITIES else ""
    rule = request.query_params.get("rule", "")[:100]
    page = request.query_params.get("page", "1")
    page_no = max(1, int(page)) if page.isdigit() else 1
    rows: list[Row] = []
    more = False
    if store is not None:
        # The store pages by limit only: read up to this page (plus one, to know of a next page).
        unit = _own_unit(request, actor)
        if unit is None and not severity and not rule:
            found = store.find(status or None, limit=page_no * PAGE_SIZE + 1)
        else:  # a unit's alerts (and filtered ones) are picked from the recent ones by their labels
            recent = store.find(status or None, limit=5000)
            linked = _linked(request, actor, recent)
            found = [
                a
                for a in recent
                if _visible(request, a, unit, linked) and (not severity or a.severity == severity) and (not rule or a.rule == rule)
            ]
        more = len(found) > page_no * PAGE_SIZE
        shown = found[(page_no - 1) * PAGE_SIZE : page_no * PAGE_SIZE]
        cases = _svc(request).case_numbers_for_alerts(actor, [a.id for a in shown])
        rows = [Row(a, [CaseLink(i, number) for i, number, alert_id in cases if alert_id == a.id]) for a in shown]
    return render(
        request,
        "alerts.html",
        rows=rows,
        has_store=store is not None,
        status=status,
        filters=FILTERS,
        page=page_no,
        more=more,
        status_zh=STATUS_ZH,
        rule_types=RULE_TYPES,
        severity=severity,
        severities=SEVERITIES,
        rule=rule,
        rules=sorted({r.alert.rule for r in rows} | ({rule} if rule else set())),
        can_act=actor.role in states.OFFICE,
        filter_query=urlencode({k: v for k, v in {"status": status, "severity": severity, "rule": rule}.items() if v}),
    )


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
def alert_detail(request: Request, alert_id: str) -> Response:
    actor = _reader(request)
    store, alert = _alert(request, alert_id)
    if not _visible(request, alert, _own_unit(request, actor), _linked(request, actor, [alert])):
        raise NotFound(f"没有编号为 {alert_id} 的预警")
    event_id = alert.labels.get("event_id")
    cases = _svc(request).cases_for_alerts(actor, [alert.id], [event_id] if event_id else [])
    own = [c for c in cases if c.alert_id == alert.id]
    # What the 立案 button does, as the service will decide it: open this alert's case, else the
    # event's open case, else create one.
    existing = own[0] if own else next((c for c in cases if c.event_id == event_id and c.status != CaseStatus.CLOSED.value), None)
    return render(
        request,
        "alert.html",
        alert=alert,
        posts=[{**p, "url": safe_url(p.get("url"))} for p in store.top_posts(alert.id, TOP_POSTS)],
        cases=cases,
        existing=existing,
        deliveries=store.deliveries(alert.id),
        can_act=actor.role in states.OFFICE,
        can_ack=alert.status in ("pending", "firing"),
        can_resolve=alert.status in OPEN,
        status_zh=STATUS_ZH,
        rule_types=RULE_TYPES,
        delivery_kinds=DELIVERY_KINDS,
        delivery_status=DELIVERY_STATUS,
        # 回应效果 of the event's cases that were answered (ledger.effect).
        effects=[
            effect_view(c, request.app.state.store, _svc(request).clock(), _svc(request).config.effect) for c in cases if response_time(c)
        ],
    )


@router.post("/alerts/{alert_id}/case")
async def alert_case(request: Request, alert_id: str) -> Response:
    actor = await bg(_office, request, "从舆情预警立案")
    store, alert = await bg(_alert, request, alert_id)
    svc = _svc(request)

    def build() -> Any:
        posts = store.top_posts(alert.id, 200)
        post_store = request.app.state.store
        top = post_store.get(str(posts[0]["post_id"])) if posts and post_store is not None else None
        return case_from_alert(alert, posts, svc.config, top=top)

    case, created = await bg(svc.open_case, actor, await bg(build))
    if created:
        return redirect(f"/cases/{case.id}", f"已立案 {case.number}", request)
    why = "该预警已立案" if case.alert_id == alert.id else "该事件已立案"
    return redirect(f"/cases/{case.id}", f"{why}：{case.number}，未重复登记", request)


# action -> (what the actor does, in the refusal message; the AlertStore method; flash message)
_LIFECYCLE = {
    "ack": ("确认舆情预警", "acknowledge", "已确认预警：不再重复通知和升级"),
    "resolve": ("解除舆情预警", "resolve", "已解除预警"),
}


async def _lifecycle(request: Request, alert_id: str, action: str) -> Response:
    doing, method, done = _LIFECYCLE[action]
    actor = await bg(_office, request, doing)
    form = await request.form()
    store, alert = await bg(_alert, request, alert_id)
    try:
        await bg(getattr(store, method), alert.id, _who(actor), _str(form, "note"))
    except LifecycleError as exc:
        raise await bg(_refused, store, alert, action) from exc
    await bg(_publish, request, store)
    return redirect(f"/alerts/{alert.id}", done, request)


@router.post("/alerts/{alert_id}/ack")
async def alert_ack(request: Request, alert_id: str) -> Response:
    return await _lifecycle(request, alert_id, "ack")


@router.post("/alerts/{alert_id}/resolve")
async def alert_resolve(request: Request, alert_id: str) -> Response:
    return await _lifecycle(request, alert_id, "resolve")

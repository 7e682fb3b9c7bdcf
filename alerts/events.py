"""Alert lifecycle events on the bus topic ``alerts`` (schema in docs/alerts.md).

    alert.fired         the alert left its group wait (once per alert; carries everything a ledger
                        case needs)
    alert.escalated     not acknowledged in time: sent to the escalation route
    alert.acknowledged  someone took it (by whom, when)
    alert.resolved      closed, by a person or automatically

The message key is the alert id, so one alert's events stay in order on one partition.
Versioned like ``yuqing.events``: readers reject a newer ``schema_version`` as poison.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from yuqing.errors import PoisonMessage
from yuqing.events import RiskLevel, _Event

ALERTS_TOPIC = "alerts"


class AlertPost(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str
    title: str
    url: str | None = None
    published_at: AwareDatetime
    risk_level: RiskLevel
    risk_score: int


class _AlertEvent(_Event):
    alert_id: str
    rule: str
    at: AwareDatetime = Field(description="when it happened (engine clock)")


class AlertFired(_AlertEvent):
    type: Literal["alert.fired"] = "alert.fired"
    rule_type: str
    title: str
    severity: RiskLevel
    labels: dict[str, str] = Field(description="group_by values plus topic / region / source / unit")
    topic: str | None = None
    region: str | None = None
    unit: str | None = None
    event_id: str | None = None
    reasons: list[str] = Field(default_factory=list)
    metric: str = Field(default="", description="the rule's condition in words")
    post_count: int
    negative_count: int
    first_seen: AwareDatetime | None = None
    last_seen: AwareDatetime | None = None
    posts: list[AlertPost] = Field(default_factory=list, description="top posts, highest risk first (at most 3)")
    url: str | None = Field(default=None, description="the event (or alert) in the web UI")
    suppressed: str | None = Field(default=None, description="why no notification went out yet: silenced / quiet hours / inhibited")


class AlertEscalated(_AlertEvent):
    type: Literal["alert.escalated"] = "alert.escalated"
    level: int = Field(ge=1)
    notifiers: list[str]


class AlertAcknowledged(_AlertEvent):
    type: Literal["alert.acknowledged"] = "alert.acknowledged"
    by: str
    note: str = ""


class AlertResolved(_AlertEvent):
    type: Literal["alert.resolved"] = "alert.resolved"
    by: str
    note: str = ""
    automatic: bool = False


AlertEvent = AlertFired | AlertEscalated | AlertAcknowledged | AlertResolved

_TYPES: dict[str, type[_AlertEvent]] = {
    "alert.fired": AlertFired,
    "alert.escalated": AlertEscalated,
    "alert.acknowledged": AlertAcknowledged,
    "alert.resolved": AlertResolved,
}


def decode_alert_event(data: bytes | str) -> Any:
    """An alert event from bus bytes; anything else raises PoisonMessage with the reason."""
    try:
        obj = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PoisonMessage(f"not JSON: {exc}") from exc
    kind = obj.get("type") if isinstance(obj, dict) else None
    cls = _TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise PoisonMessage(f"unknown alert event type {kind!r}")
    try:
        return cls.model_validate(obj)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise PoisonMessage(f"invalid {kind}: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from exc

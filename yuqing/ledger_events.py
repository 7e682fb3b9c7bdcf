"""Ledger events on the bus (topic ``ledger``): one per audited change, typed and versioned
like ``yuqing.events``. Consumers tell them apart by ``type`` (``case.*`` / ``commitment.*``).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from yuqing.errors import PoisonMessage
from yuqing.timeutil import TZ, now

TOPIC = "ledger"
SCHEMA_VERSION = 1

CaseEventType = Literal[
    "case.created",
    "case.assigned",
    "case.accepted",
    "case.returned",
    "case.responded",
    "case.tracking",
    "case.fulfilled",
    "case.disclosed",
    "case.closed",
    "case.extension_requested",
    "case.extension_approved",
    "case.extension_rejected",
    "case.supervised",
    "case.updated",
    "case.overdue",
    "case.reminded",
]
CommitmentEventType = Literal[
    "commitment.created",
    "commitment.fulfilled",
    "commitment.rejected",
    "commitment.disclosed",
    "commitment.revisited",
    "commitment.supervised",
    "commitment.overdue",
    "commitment.reminded",
]


class _LedgerEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    id: str = Field(default_factory=lambda: uuid.uuid4().hex, description="event id, for idempotent consumers")
    case_id: int
    case_number: str
    action: str
    from_status: str | None = None
    to_status: str
    actor: str = Field(description="user name, or 'system' for scheduled jobs")
    actor_role: str
    unit: str | None = Field(None, description="the case's 交办单位 after the change")
    event_id: str | None = Field(None, description="the case's 舆情事件 (the alerts' rebound rule follows it after a response)")
    note: str = ""
    at: AwareDatetime = Field(default_factory=now)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode("utf-8")


class CaseEvent(_LedgerEvent):
    type: CaseEventType


class CommitmentEvent(_LedgerEvent):
    type: CommitmentEventType
    commitment_id: int
    commitment_unit: str | None = None


LedgerEvent = CaseEvent | CommitmentEvent


def make_event(event_type: str, **fields: object) -> LedgerEvent:
    cls = CommitmentEvent if event_type.startswith("commitment.") else CaseEvent
    return cls.model_validate({"type": event_type, **fields})


def decode(data: bytes) -> LedgerEvent:
    try:
        obj = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PoisonMessage(f"not JSON: {exc}") from exc
    kind = obj.get("type") if isinstance(obj, dict) else None
    if not isinstance(kind, str) or not kind.startswith(("case.", "commitment.")):
        raise PoisonMessage(f"not a ledger event: type {kind!r}")
    try:
        return make_event(kind, **{k: v for k, v in obj.items() if k != "type"})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise PoisonMessage(f"invalid {kind}: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from exc


def local(dt: datetime) -> datetime:
    return dt.astimezone(TZ)

"""The audit trail: every change of a case or a commitment leaves an audit row and, in the same
transaction, an event in the outbox (published after the commit by ``ledger.outbox``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.cases import CaseQueries
from ledger.context import LedgerContext
from ledger.events import make_event
from ledger.outbox import EventOutbox
from ledger.states import SYSTEM, Actor
from ledger.tables import AuditEntry, Case, Commitment


class AuditLog:
    def __init__(self, ctx: LedgerContext, cases: CaseQueries, outbox: EventOutbox) -> None:
        self.ctx = ctx
        self.cases = cases
        self.outbox = outbox

    def audit(self, actor: Actor, case_id: int) -> list[AuditEntry]:
        """A case's audit trail, oldest first, for an actor who may see the case."""
        self.cases.get_case(actor, case_id)
        with self.ctx.db.read() as s:
            return list(s.scalars(select(AuditEntry).where(AuditEntry.case_id == case_id).order_by(AuditEntry.id)))

    def record(
        self,
        s: Session,
        case: Case,
        actor: Actor,
        action: str,
        event: str,
        before: str | None,
        after: str,
        *,
        note: str = "",
        commitment: Commitment | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        at = self.ctx.clock()
        s.add(
            AuditEntry(
                case_id=case.id,
                commitment_id=commitment.id if commitment else None,
                action=action,
                event=event,
                actor_id=actor.user_id or None,
                actor_name=actor.username,
                actor_role=actor.role.value,
                from_status=before,
                to_status=after,
                note=note,
                data=data or {},
                created_at=at,
            )
        )
        fields: dict[str, Any] = {
            "case_id": case.id,
            "case_number": case.number or "",
            "action": action,
            "from_status": before,
            "to_status": after,
            "actor": actor.username,
            "actor_role": actor.role.value,
            "unit": case.unit.name if case.unit else None,
            "event_id": case.event_id,
            "note": note,
            "at": at,
        }
        if commitment is not None:
            fields.update(commitment_id=commitment.id, commitment_unit=commitment.unit.name if commitment.unit else None)
        ev = make_event(event, **fields)
        self.outbox.append_in(s, case.id, ev.model_dump_json(), at)

    def record_system_event(self, s: Session, case: Case, event: str, note: str, commitment: Commitment | None = None) -> None:
        """Audit and publish something the scheduler noticed (overdue, reminded) without a state change."""
        state = commitment.status if commitment is not None else case.status
        self.record(s, case, SYSTEM, event.split(".")[1], event, state, state, note=note, commitment=commitment)

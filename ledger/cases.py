"""Reading cases: what each actor may see (a unit: its own cases, those it co-handles and those it
holds a commitment in), lists with filters and the running deadline, one case, its attachments,
and the cases opened for alerts and events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session, selectinload

from ledger import states
from ledger.context import LedgerContext
from ledger.errors import InvalidInput, NotFound
from ledger.schemas import NewCase
from ledger.states import Actor, CaseStatus, CaseView, CommitmentStatus, CommitmentView, Role
from ledger.tables import Attachment, Case, CaseCoUnit, Commitment


@dataclass(frozen=True)
class Page:
    total: int
    items: list[Case]


def view_of(case: Case) -> CaseView:
    return CaseView(
        status=CaseStatus(case.status),
        unit_id=case.unit_id,
        co_unit_ids=frozenset(u.id for u in case.co_units),
        extension_pending=case.extension_pending,
        due_at=case.due_at,
        commitments=tuple(CommitmentView(c.id, CommitmentStatus(c.status), c.unit_id, c.due_at) for c in case.commitments),
    )


class CaseQueries:
    def __init__(self, ctx: LedgerContext) -> None:
        self.ctx = ctx

    def visible(self, actor: Actor) -> Any:
        if actor.role is not Role.UNIT:
            return True
        uid = actor.unit_id
        return or_(
            Case.unit_id == uid,
            exists().where(and_(CaseCoUnit.case_id == Case.id, CaseCoUnit.unit_id == uid)),
            exists().where(and_(Commitment.case_id == Case.id, Commitment.unit_id == uid)),
        )

    def overdue_clause(self, at: datetime) -> Any:
        return or_(
            and_(Case.status.in_([s.value for s in states.REPLY_CLOCK]), Case.due_at < at),
            and_(
                Case.status == CaseStatus.FULFILLING.value,
                exists().where(
                    and_(Commitment.case_id == Case.id, Commitment.status == CommitmentStatus.OPEN.value, Commitment.due_at < at)
                ),
            ),
        )

    def deadline_clause(self) -> Any:
        """The deadline running now: the reply's, else the earliest open commitment's; NULL otherwise."""
        earliest = (
            select(func.min(Commitment.due_at))
            .where(Commitment.case_id == Case.id, Commitment.status == CommitmentStatus.OPEN.value)
            .scalar_subquery()
        )
        return sql_case(
            (Case.status.in_([s.value for s in states.REPLY_CLOCK]), Case.due_at),
            (Case.status == CaseStatus.FULFILLING.value, earliest),
            else_=None,
        )

    def conditions(
        self,
        actor: Actor,
        at: datetime,
        *,
        unit_id: int | None = None,
        status: str | None = None,
        overdue: bool | None = None,
        text: str | None = None,
    ) -> list[Any]:
        """The WHERE of ``list_cases`` (and of the lean reads, ``ledger.reads``): what ``actor`` may
        see, narrowed by the filters."""
        cond = [self.visible(actor)]
        if unit_id is not None:
            cond.append(Case.unit_id == unit_id)
        if status:
            try:
                cond.append(Case.status == CaseStatus(status).value)
            except ValueError as exc:
                raise InvalidInput(f"未知状态 {status!r}", field="status") from exc
        if overdue is not None:
            clause = self.overdue_clause(at)
            cond.append(clause if overdue else ~clause)
        if text and text.strip():
            like = f"%{escape_like(text.strip())}%"
            cond.append(or_(*(col.like(like, escape="\\") for col in (Case.title, Case.summary, Case.number))))
        return cond

    def list_cases(
        self,
        actor: Actor,
        *,
        unit_id: int | None = None,
        status: str | None = None,
        overdue: bool | None = None,
        text: str | None = None,
        limit: int = 50,
        offset: int = 0,
        sort: str = "new",
    ) -> Page:
        """``sort``: "new" (newest first) or "deadline" (the deadline running now, soonest first; cases
        with no running deadline last) — the same rule as ``web.guide.deadline_of``."""
        if sort not in ("new", "deadline"):
            raise InvalidInput(f"未知排序 {sort!r}", field="sort")
        cond = self.conditions(actor, self.ctx.clock(), unit_id=unit_id, status=status, overdue=overdue, text=text)
        with self.ctx.db.read() as s:
            # The total rides along with the page (a window count over the filtered rows): one
            # query fewer. Only a page past the end, which has no row to carry it, counts apart.
            rows = s.execute(
                select(Case, func.count().over().label("total"))
                .where(*cond)
                .order_by(*((self.deadline_clause().asc().nulls_last(),) if sort == "deadline" else ()), Case.id.desc())
                .limit(limit)
                .offset(offset)
                .options(selectinload(Case.commitments).selectinload(Commitment.attachments))
            ).all()
            if rows:
                return Page(total=int(rows[0].total), items=[r[0] for r in rows])
            if not offset:
                return Page(total=0, items=[])
            return Page(total=s.scalar(select(func.count()).select_from(Case).where(*cond)) or 0, items=[])

    def get_case(self, actor: Actor, case_id: int) -> Case:
        with self.ctx.db.read() as s:
            case = s.scalar(select(Case).where(Case.id == case_id, self.visible(actor)))
            if case is None:
                raise NotFound(f"没有编号为 {case_id} 的案件，或您无权查看")
            for c in case.commitments:
                _ = c.attachments
            return case

    def is_overdue(self, case: Case, at: datetime | None = None) -> bool:
        return states.is_overdue(view_of(case), at or self.ctx.clock())

    def get_attachment(self, actor: Actor, attachment_id: int) -> tuple[Attachment, bytes]:
        with self.ctx.db.read() as s:
            att = s.get(Attachment, attachment_id)
            if att is None:
                raise NotFound("没有这个附件")
            case_id = att.commitment.case_id
            data = att.data
        self.get_case(actor, case_id)  # visibility of the attachment is that of its case
        return att, data

    def cases_for_alerts(self, actor: Actor, alert_ids: Sequence[str], event_ids: Sequence[str] = ()) -> list[Case]:
        """Cases opened for these alerts or about these events, oldest first, as ``actor`` may see them."""
        match = [Case.alert_id.in_(list(alert_ids))] if alert_ids else []
        if event_ids:
            match.append(Case.event_id.in_(list(event_ids)))
        if not match:
            return []
        with self.ctx.db.read() as s:
            return list(s.scalars(select(Case).where(or_(*match), self.visible(actor)).order_by(Case.id)))

    def case_numbers_for_alerts(self, actor: Actor, alert_ids: Sequence[str]) -> list[tuple[int, str | None, str]]:
        """(id, number, alert id) of the cases opened for these alerts that ``actor`` may see, oldest
        first: what the alert list shows, without loading each case's units and commitments."""
        if not alert_ids:
            return []
        query = select(Case.id, Case.number, Case.alert_id).where(Case.alert_id.in_(list(alert_ids)), self.visible(actor)).order_by(Case.id)
        with self.ctx.db.read() as s:
            return [(r.id, r.number, r.alert_id) for r in s.execute(query)]

    def commitment(self, commitment_id: int) -> Commitment:
        with self.ctx.db.read() as s:
            com = s.get(Commitment, commitment_id)
            assert com is not None
            _ = com.attachments, com.case
            return com

    def existing_case(self, new: NewCase) -> int | None:
        with self.ctx.db.read() as s:
            if new.alert_id:
                found = s.scalar(select(Case.id).where(Case.alert_id == new.alert_id).order_by(Case.id))
                if found is not None:
                    return found
            if new.event_id:
                return s.scalar(
                    select(Case.id).where(Case.event_id == new.event_id, Case.status != CaseStatus.CLOSED.value).order_by(Case.id)
                )
        return None

    def lock_case(self, s: Session, actor: Actor, case_id: int) -> Case:
        case = s.scalar(select(Case).where(Case.id == case_id).with_for_update(of=Case).execution_options(populate_existing=True))
        if case is None:
            raise NotFound(f"没有编号为 {case_id} 的案件")
        if actor.role is Role.UNIT and s.scalar(select(Case.id).where(Case.id == case_id, self.visible(actor))) is None:
            raise NotFound(f"没有编号为 {case_id} 的案件，或您无权查看")
        return case


def escape_like(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern (escape character ``\\``): % and _ match only themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

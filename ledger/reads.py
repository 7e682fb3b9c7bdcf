"""Lean reads for the pages and API calls staff use most (issue 9, web app speed): SQLAlchemy Core
queries of the columns shown, not ORM objects with their relationships loaded one query each.

``case_page`` answers what ``LedgerService.list_cases`` answers (same filters, visibility, order
and total: the tests compare them) in at most three round trips — the page with its units and
total, then the co-units and the commitments with their units and attachments, each only when a
case on the page has some — where the ORM took five or six queries and built ~40 objects of ~40
columns. The records are plain namespaces with the attributes the ORM objects have
(``c.unit.name``, ``c.commitments[0].attachments``...), so templates and ``ledger.states`` read
them unchanged; ``case_out`` turns one into the API's ``CaseOut``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, exists, func, select
from sqlalchemy.sql import Select

from ledger import states
from ledger.errors import InvalidInput
from ledger.schemas import CaseOut
from ledger.states import Actor, CaseStatus, CaseView, CommitmentStatus, CommitmentView
from ledger.tables import Attachment, Case, CaseCoUnit, Commitment, Unit

if TYPE_CHECKING:
    from ledger.service import LedgerService

CASE_COLUMNS = tuple(Case.__table__.columns)
# What the case list page shows and needs to tell a deadline and 超期 (``web.guide``, ``states``).
PAGE_COLUMNS = tuple(
    Case.__table__.c[k]
    for k in ("id", "number", "title", "summary", "source", "case_type", "risk_level", "unit_id", "status", "extension_pending", "due_at")
)
COMMITMENT_COLUMNS = tuple(Commitment.__table__.columns)
PAGE_COMMITMENT_COLUMNS: tuple[Any, ...] = tuple(
    Commitment.__table__.c[k] for k in ("id", "case_id", "seq", "content", "unit_id", "status", "due_at")
)
ATTACHMENT_COLUMNS: tuple[Any, ...] = tuple(
    Attachment.__table__.c[k] for k in ("id", "commitment_id", "filename", "content_type", "size", "sha256", "created_at")
)  # not the file itself
SORTS = ("new", "deadline")


def _page_query(columns: tuple[Any, ...]) -> Select[Any]:
    """The page of cases with its unit's name, whether it has co-units and commitments, and the total
    (a window count over the filtered rows: one round trip). Built once: the filters are added per call."""
    return (
        select(
            *columns,
            Unit.name.label("_unit_name"),
            exists().where(CaseCoUnit.case_id == Case.id).label("_has_co"),
            exists().where(Commitment.case_id == Case.id).label("_has_com"),
            func.count().over().label("_total"),
        )
        .select_from(Case)
        .outerjoin(Unit, Unit.id == Case.unit_id)
    )


_IDS: Any = bindparam("ids", expanding=True)
_QUERIES = {
    "page": _page_query(CASE_COLUMNS),
    "page_narrow": _page_query(PAGE_COLUMNS),
    "co_units": select(CaseCoUnit.case_id, Unit.id, Unit.name)
    .join(Unit, Unit.id == CaseCoUnit.unit_id)
    .where(CaseCoUnit.case_id.in_(_IDS))
    .order_by(CaseCoUnit.case_id, Unit.id),
    # The commitments in ``seq`` order, each with its unit's name and its attachments (one row each).
    "commitments": select(*COMMITMENT_COLUMNS, Unit.name, *ATTACHMENT_COLUMNS)
    .join(Unit, Unit.id == Commitment.unit_id)
    .outerjoin(Attachment, Attachment.commitment_id == Commitment.id)
    .where(Commitment.case_id.in_(_IDS))
    .order_by(Commitment.case_id, Commitment.seq, Attachment.id),
    "commitments_narrow": select(*PAGE_COMMITMENT_COLUMNS).where(Commitment.case_id.in_(_IDS)).order_by(Commitment.case_id, Commitment.seq),
}


@dataclass(frozen=True)
class RecordPage:
    total: int
    items: list[Any]  # SimpleNamespace records shaped like ledger.tables.Case


def case_page(
    svc: LedgerService,
    actor: Actor,
    *,
    unit_id: int | None = None,
    status: str | None = None,
    overdue: bool | None = None,
    text: str | None = None,
    limit: int = 50,
    offset: int = 0,
    sort: str = "new",
    at: datetime | None = None,
    narrow: bool = False,
) -> RecordPage:
    """The cases ``actor`` may see, a page of them, as ``LedgerService.list_cases`` orders them.
    ``narrow``: only what the case list page shows (``PAGE_COLUMNS``; commitments without their
    fulfilment, attachments or unit; no co-units), else every column ``CaseOut`` carries."""
    if sort not in SORTS:
        raise InvalidInput(f"未知排序 {sort!r}", field="sort")
    at = at or svc.clock()
    cond = svc.cases.conditions(actor, at, unit_id=unit_id, status=status, overdue=overdue, text=text)
    order = (*((svc.deadline_clause().asc().nulls_last(),) if sort == "deadline" else ()), Case.id.desc())
    query = _QUERIES["page_narrow" if narrow else "page"].where(*cond).order_by(*order).limit(limit).offset(offset)
    columns = PAGE_COLUMNS if narrow else CASE_COLUMNS
    with svc.db.read_connection() as s:
        rows = s.execute(query).all()
        if not rows:
            total = 0 if not offset else s.scalar(select(func.count()).select_from(Case).where(*cond)) or 0
            return RecordPage(total=total, items=[])
        items = [_case_record(r, columns) for r in rows]
        by_id = {c.id: c for c in items}
        co_ids = [r.id for r in rows if r._has_co]
        if co_ids and not narrow:
            for case_id, uid, name in s.execute(_QUERIES["co_units"], {"ids": co_ids}):
                by_id[case_id].co_units.append(SimpleNamespace(id=uid, name=name))
        com_ids = [r.id for r in rows if r._has_com]
        if com_ids and narrow:
            for row in s.execute(_QUERIES["commitments_narrow"], {"ids": com_ids}).mappings():
                by_id[row["case_id"]].commitments.append(SimpleNamespace(**row))
        elif com_ids:
            _attach_commitments(s, by_id, com_ids)
    return RecordPage(total=int(rows[0]._total), items=items)


def _case_record(row: Any, columns: tuple[Any, ...]) -> SimpleNamespace:
    values = {c.key: row[i] for i, c in enumerate(columns)}
    unit = SimpleNamespace(id=values["unit_id"], name=row._unit_name) if values["unit_id"] is not None else None
    return SimpleNamespace(**values, unit=unit, co_units=[], commitments=[])


def _attach_commitments(s: Any, by_id: dict[int, SimpleNamespace], case_ids: list[int]) -> None:
    n = len(COMMITMENT_COLUMNS)
    last: SimpleNamespace | None = None
    for row in s.execute(_QUERIES["commitments"], {"ids": case_ids}):
        if last is None or last.id != row[0]:
            values = {c.key: row[i] for i, c in enumerate(COMMITMENT_COLUMNS)}
            last = SimpleNamespace(**values, unit=SimpleNamespace(id=values["unit_id"], name=row[n]), attachments=[])
            by_id[last.case_id].commitments.append(last)
        if row[n + 1] is not None:
            last.attachments.append(SimpleNamespace(**{c.key: row[n + 1 + i] for i, c in enumerate(ATTACHMENT_COLUMNS)}))


def view_of_record(case: Any) -> CaseView:
    """``ledger.service.view_of`` for a record (or an ORM case)."""
    return CaseView(
        status=CaseStatus(case.status),
        unit_id=case.unit_id,
        co_unit_ids=frozenset(u.id for u in case.co_units),
        extension_pending=case.extension_pending,
        due_at=case.due_at,
        commitments=tuple(CommitmentView(c.id, CommitmentStatus(c.status), c.unit_id, c.due_at) for c in case.commitments),
    )


def is_overdue(case: Any, at: datetime) -> bool:
    return states.is_overdue(view_of_record(case), at)


_CASE_OUT = set(CaseOut.model_fields)


def case_out(case: Any, *, overdue: bool) -> CaseOut:
    """The API's ``CaseOut`` of a record, as ``CaseOut.of`` makes it of an ORM case."""
    data = {k: v for k, v in vars(case).items() if k in _CASE_OUT}
    data.update(
        status_label=CaseStatus(case.status).label,
        unit=case.unit.name if case.unit else None,
        co_units=[u.name for u in case.co_units],
        overdue=overdue,
        commitments=[
            {
                **{k: v for k, v in vars(m).items() if k not in ("unit", "attachments")},
                "unit": m.unit.name,
                "status_label": CommitmentStatus(m.status).label,
                "attachments": [vars(a) for a in m.attachments],
            }
            for m in case.commitments
        ],
    )
    return CaseOut.model_validate(data)

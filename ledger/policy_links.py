"""Response cases (台账条目) linked to a policy.

A case is linked when it was registered from the policy's posts or their events — its
``event_id`` is the event of one of the posts about the policy, or one of its ``post_ids`` is
such a post — or, for a policy found by keywords (or by a 监测方案, through the scheme's
expression), when the case's own title and summary match them (cases registered by hand, from a
phone call, carry no post). Only cases registered since the start of the report's window count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from ledger.tables import Case, Unit
from schemes.policy_report import PolicyReport
from yuqing.query import Expr, normalise


@dataclass(frozen=True)
class LinkedCase:
    id: int
    number: str | None
    title: str
    status: str
    unit: str
    created_at: datetime
    how: str  # 事件 / 原帖 / 关键词


def linked_cases(engine: Engine, r: PolicyReport, expr: Expr | None = None, limit: int = 200) -> list[LinkedCase]:
    expr = expr if expr is not None else r.policy.expr
    events, posts = r.event_ids, r.post_ids
    q = (
        select(Case.id, Case.number, Case.title, Case.summary, Case.status, Case.event_id, Case.post_ids, Case.created_at, Unit.name)
        .outerjoin(Unit, Unit.id == Case.unit_id)
        .where(Case.created_at >= r.since)
        .order_by(Case.created_at.desc(), Case.id.desc())
    )
    out: list[LinkedCase] = []
    with engine.connect() as c:
        for row in c.execute(q):
            how = ""
            if row.event_id and row.event_id in events:
                how = "事件"
            elif posts & set(row.post_ids or ()):
                how = "原帖"
            elif expr is not None and expr.matches_text(normalise(f"{row.title}\n{row.summary or ''}")):
                how = "关键词"
            if how:
                out.append(LinkedCase(row.id, row.number, row.title, row.status, row.name or "", row.created_at, how))
                if len(out) >= limit:
                    break
    return out

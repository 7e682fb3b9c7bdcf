"""Public disclosure: the commitments published as 已公开, newest first (the public page and feeds)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ledger.context import LedgerContext
from ledger.states import CommitmentStatus
from ledger.tables import Commitment


class Disclosure:
    def __init__(self, ctx: LedgerContext) -> None:
        self.ctx = ctx

    def disclosed_commitments(self, limit: int = 50) -> list[Commitment]:
        with self.ctx.db.read() as s:
            rows = s.scalars(
                select(Commitment)
                .where(Commitment.status == CommitmentStatus.DISCLOSED.value)
                .order_by(Commitment.disclosed_at.desc(), Commitment.id.desc())
                .limit(limit)
                .options(selectinload(Commitment.case))
            )
            out = list(rows)
            for c in out:
                _ = c.case.unit
            return out

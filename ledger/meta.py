"""The key-value rows of ``ledger_meta``: values stored once and shared by every process (e.g. the
session signing key), and the per-year counters behind case numbers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ledger.context import LedgerContext
from ledger.tables import Meta


class MetaStore:
    def __init__(self, ctx: LedgerContext) -> None:
        self.ctx = ctx

    def meta(self, key: str, default: Callable[[], str]) -> str:
        """A value stored once and shared by every process (e.g. the session signing key)."""
        db = self.ctx.db
        with db.read() as s:
            row = s.get(Meta, key)
            if row is not None:
                return row.value
        with db.write() as s:
            stmt = insert_for(s)(Meta).values(key=key, value=default()).on_conflict_do_nothing()
            s.execute(stmt)
        with db.read() as s:
            row = s.get(Meta, key)
            assert row is not None
            return row.value


def next_case_number(s: Session, at: datetime) -> str:
    """编号 YQ-2026-00001: a per-year counter in ledger_meta, incremented under the write lock."""
    key = f"case_seq:{at.year}"
    s.execute(insert_for(s)(Meta).values(key=key, value="0").on_conflict_do_nothing())
    row = s.scalar(select(Meta).where(Meta.key == key).with_for_update())
    assert row is not None
    n = int(row.value) + 1
    row.value = str(n)
    return f"YQ-{at.year}-{n:05d}"


def insert_for(s: Session) -> Any:
    """The dialect's INSERT (both have ``on_conflict_do_nothing``)."""
    return pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert

"""Saved searches of the 检索 page: table ``yuqing_saved_searches`` in the ledger's database, one
row per user and name (the parameters as a query string). Created here with ``CREATE TABLE IF NOT
EXISTS`` like ``schemes.store`` (no Alembic revision of the ledger: the web app owns the table)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, UniqueConstraint, delete, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, ProgrammingError

from ledger.errors import InvalidInput

metadata = MetaData()
saved_table = Table(
    "yuqing_saved_searches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, nullable=False, index=True),
    Column("name", String(60), nullable=False),
    Column("params", String(2000), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("user_id", "name", name="uq_saved_search_user_name"),
)
MAX_PER_USER = 50


@dataclass(frozen=True)
class SavedSearch:
    id: int
    name: str
    params: str  # a query string for /workbench/search


class SavedSearches:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        try:
            metadata.create_all(engine)
        except (IntegrityError, ProgrammingError):
            # Another worker (or thread) created the table at the same moment: the first searches
            # after a start come in together. PostgreSQL then refuses the second CREATE TABLE
            # (duplicate pg_type row or table); checking again finds the table there.
            metadata.create_all(engine)

    def list(self, user_id: int) -> list[SavedSearch]:
        with self.engine.connect() as c:
            rows = c.execute(select(saved_table).where(saved_table.c.user_id == user_id).order_by(saved_table.c.name)).mappings()
            return [SavedSearch(r["id"], r["name"], r["params"]) for r in rows]

    def save(self, user_id: int, name: str, params: dict[str, str]) -> SavedSearch:
        name = name.strip()
        if not name or len(name) > 60:
            raise InvalidInput("检索名称须为 1 到 60 个字", field="name")
        if not params:
            raise InvalidInput("没有可保存的检索条件", field="q")
        query = urlencode(params)
        if len(query) > 2000:
            raise InvalidInput("检索条件过长，无法保存", field="q")
        with self.engine.begin() as c:
            mine = c.execute(select(func.count()).select_from(saved_table).where(saved_table.c.user_id == user_id)).scalar_one()
            if mine >= MAX_PER_USER:
                raise InvalidInput(f"每人最多保存 {MAX_PER_USER} 个检索，请先删除不用的", field="name")
            try:
                rid = c.execute(
                    saved_table.insert().values(user_id=user_id, name=name, params=query, created_at=datetime.now(UTC))
                ).inserted_primary_key[0]  # type: ignore[index]
            except IntegrityError as exc:
                raise InvalidInput(f"已有名为「{name}」的检索，请换一个名称", field="name") from exc
        return SavedSearch(int(rid), name, query)

    def delete(self, user_id: int, name: str) -> bool:
        """Only the user's own (by name): nobody can delete another user's saved search."""
        with self.engine.begin() as c:
            n = c.execute(delete(saved_table).where(saved_table.c.name == name, saved_table.c.user_id == user_id)).rowcount
        return bool(n)

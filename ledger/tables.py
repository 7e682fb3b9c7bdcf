"""The ledger's tables (SQLAlchemy 2 ORM). Alembic migrations in ``ledger/migrations`` create them;
a test checks that the migrations and these models agree.

Column names follow the fields of real 信访 / 12345 ledgers; the Chinese name of each is in
``info={"label": ...}``, which the Excel export and the web pages use as headers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, MetaData, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from ledger.urls import is_http_url, safe_url, safe_urls
from yuqing.timeutil import TZ, now

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class AwareDateTime(TypeDecorator[datetime]):
    """Timezone-aware everywhere: stored as UTC (SQLite keeps no zone), read back in Asia/Shanghai."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the ledger stores aware datetimes only")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(TZ)


class HttpUrl(TypeDecorator[str]):
    """A link column: only http(s) URLs are written (anything else is a bug upstream, refused), and
    anything else read back, from rows written before links were checked, reads as "" (``ledger.urls``)."""

    impl = String(500)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        if value and not is_http_url(value):
            raise ValueError(f"not an http(s) URL: {value[:80]!r}")
        return value

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return safe_url(value) if value else value


class HttpUrlList(TypeDecorator[list[str]]):
    """A JSON list of links, checked like ``HttpUrl``."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: list[str] | None, dialect: Any) -> list[str] | None:
        for v in value or ():
            if not is_http_url(v):
                raise ValueError(f"not an http(s) URL: {str(v)[:80]!r}")
        return value

    def process_result_value(self, value: list[str] | None, dialect: Any) -> list[str] | None:
        return safe_urls(value) if value is not None else None


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _label(text: str) -> dict[str, Any]:
    return {"info": {"label": text}}


class Unit(Base):
    __tablename__ = "ledger_units"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True, **_label("单位名称"))
    kind: Mapped[str] = mapped_column(String(20), default="部门", **_label("单位类型"))  # 部门 / 乡镇 / 其他
    contact: Mapped[str] = mapped_column(String(100), default="", **_label("联系人及电话"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=now)


class User(Base):
    __tablename__ = "ledger_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    role: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_units.id"), nullable=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=now)
    last_login_at: Mapped[datetime | None] = mapped_column(AwareDateTime, nullable=True)

    unit: Mapped[Unit | None] = relationship(lazy="joined")


class ApiToken(Base):
    __tablename__ = "ledger_api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ledger_users.id"))
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the token; the token itself is shown once
    prefix: Mapped[str] = mapped_column(String(12))  # to recognise a token in the list without revealing it
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=now)
    last_used_at: Mapped[datetime | None] = mapped_column(AwareDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(AwareDateTime, nullable=True)

    user: Mapped[User] = relationship(lazy="joined")


class CaseCoUnit(Base):
    __tablename__ = "ledger_case_co_units"
    case_id: Mapped[int] = mapped_column(ForeignKey("ledger_cases.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("ledger_units.id"), primary_key=True)


class Case(Base):
    __tablename__ = "ledger_cases"
    __table_args__ = (Index("ix_ledger_cases_status_unit", "status", "unit_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str | None] = mapped_column(String(32), unique=True, nullable=True, **_label("编号"))
    source: Mapped[str] = mapped_column(String(50), **_label("来源"))
    source_ref: Mapped[str] = mapped_column(String(100), default="", **_label("原始编号"))
    case_type: Mapped[str] = mapped_column(String(20), **_label("类型"))
    title: Mapped[str] = mapped_column(String(300), **_label("标题"))
    summary: Mapped[str] = mapped_column(Text, default="", **_label("摘要"))
    topic: Mapped[str] = mapped_column(String(30), default="其他", **_label("主题"))
    risk_level: Mapped[str] = mapped_column(String(10), default="低", **_label("风险等级"))
    region: Mapped[str] = mapped_column(String(50), default="", **_label("地区"))
    event_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True, **_label("事件编号"))
    alert_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True, **_label("预警编号"))
    post_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    post_urls: Mapped[list[str]] = mapped_column(HttpUrlList, default=list, **_label("原帖链接"))
    petitioner: Mapped[str] = mapped_column(String(64), default="", **_label("诉求人"))
    petitioner_phone: Mapped[str] = mapped_column(String(32), default="", **_label("联系电话"))
    status: Mapped[str] = mapped_column(String(20), **_label("状态"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_units.id"), nullable=True, **_label("交办单位"))
    time_limit_days: Mapped[int] = mapped_column(Integer, **_label("办理时限（工作日）"))
    assigned_at: Mapped[datetime | None] = mapped_column(AwareDateTime, nullable=True, **_label("交办时间"))
    due_at: Mapped[datetime | None] = mapped_column(AwareDateTime, nullable=True, index=True, **_label("规定回复时间"))
    responded_at: Mapped[datetime | None] = mapped_column(AwareDateTime, nullable=True, **_label("实际回复时间"))
    response: Mapped[str] = mapped_column(Text, default="", **_label("回应内容"))
    extension_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    extension_days: Mapped[int] = mapped_column(Integer, default=0)  # requested, while pending
    extended_days: Mapped[int] = mapped_column(Integer, default=0, **_label("已延期（工作日）"))
    supervise_count: Mapped[int] = mapped_column(Integer, default=0, **_label("督办次数"))
    returned_count: Mapped[int] = mapped_column(Integer, default=0, **_label("退回次数"))
    reminded_at: Mapped[datetime | None] = mapped_column(AwareDateTime, nullable=True)
    overdue_notified_at: Mapped[datetime | None] = mapped_column(AwareDateTime, nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=now, **_label("登记时间"))
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime, default=now, onupdate=now)
    closed_at: Mapped[datetime | None] = mapped_column(AwareDateTime, nullable=True, **_label("办结时间"))
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    unit: Mapped[Unit | None] = relationship(lazy="joined", foreign_keys=[unit_id])
    co_units: Mapped[list[Unit]] = relationship(secondary="ledger_case_co_units", lazy="selectin", order_by="Unit.id")
    commitments: Mapped[list[Commitment]] = relationship(back_populates="case", lazy="selectin", order_by="Commitment.seq")

    __mapper_args__ = {"version_id_col": version}


class Commitment(Base):
    __tablename__ = "ledger_commitments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("ledger_cases.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer, **_label("序号"))
    content: Mapped[str] = mapped_column(Text, **_label("承诺内容"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("ledger_units.id"), **_label("责任单位"))
    due_at: Mapped[datetime] = mapped_column(AwareDateTime, **_label("承诺时限"))
    status: Mapped[str] = mapped_column(String(20), **_label("落实状态"))
    fulfilment: Mapped[str] = mapped_column(Text, default="", **_label("落实情况"))
    fulfilled_at: Mapped[datetime | None] = mapped_column(AwareDateTime, nullable=True, **_label("落实时间"))
    evidence_links: Mapped[list[str]] = mapped_column(HttpUrlList, default=list, **_label("佐证材料链接"))
    disclosure_channel: Mapped[str] = mapped_column(String(100), default="", **_label("公开渠道"))
    disclosure_url: Mapped[str] = mapped_column(HttpUrl, default="", **_label("公开链接"))
    disclosed_at: Mapped[datetime | None] = mapped_column(AwareDateTime, nullable=True, **_label("公开时间"))
    revisit_result: Mapped[str] = mapped_column(Text, default="", **_label("回访情况"))
    satisfaction: Mapped[str] = mapped_column(String(10), default="", **_label("满意度"))
    revisited_at: Mapped[datetime | None] = mapped_column(AwareDateTime, nullable=True, **_label("回访时间"))
    supervise_count: Mapped[int] = mapped_column(Integer, default=0, **_label("督办次数"))
    reminded_at: Mapped[datetime | None] = mapped_column(AwareDateTime, nullable=True)
    overdue_notified_at: Mapped[datetime | None] = mapped_column(AwareDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime, default=now, onupdate=now)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    case: Mapped[Case] = relationship(back_populates="commitments")
    unit: Mapped[Unit] = relationship(lazy="joined")
    attachments: Mapped[list[Attachment]] = relationship(lazy="selectin", order_by="Attachment.id", back_populates="commitment")

    __mapper_args__ = {"version_id_col": version}


class Attachment(Base):
    __tablename__ = "ledger_attachments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("ledger_commitments.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=now)

    commitment: Mapped[Commitment] = relationship(back_populates="attachments")


class AuditEntry(Base):
    """One row per change: who, when, from which state to which, and why."""

    __tablename__ = "ledger_audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("ledger_cases.id", ondelete="CASCADE"), index=True)
    commitment_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_commitments.id", ondelete="CASCADE"), nullable=True)
    action: Mapped[str] = mapped_column(String(40))
    event: Mapped[str] = mapped_column(String(60))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_users.id"), nullable=True)
    actor_name: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=now)


class OutboxMessage(Base):
    """Events written in the same transaction as the change; published to the bus after commit,
    so a change is never lost from the bus and the bus never tells of a change that rolled back."""

    __tablename__ = "ledger_outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=now)
    published_at: Mapped[datetime | None] = mapped_column(AwareDateTime, nullable=True, index=True)


class Reminder(Base):
    """Every reminder and escalation sent, once per key (case or commitment + kind + due date)."""

    __tablename__ = "ledger_reminders"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # remind / escalate
    case_id: Mapped[int] = mapped_column(ForeignKey("ledger_cases.id", ondelete="CASCADE"), index=True)
    commitment_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_commitments.id", ondelete="CASCADE"), nullable=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_units.id"), nullable=True)
    title: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    deliveries: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{channel, ok, status}]
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=now)


class Meta(Base):
    __tablename__ = "ledger_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class SessionRow(Base):
    """A signed-in browser session. The cookie carries a random token; this row, keyed by the
    token's SHA-256, is what makes it valid, so deleting it (sign-out, a password change or reset,
    deactivation) ends the session at once, in every web worker."""

    __tablename__ = "ledger_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie's token
    user_id: Mapped[int] = mapped_column(ForeignKey("ledger_users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(AwareDateTime, index=True)
    address: Mapped[str] = mapped_column(String(64), default="")


class LoginFailure(Base):
    """A failed sign-in, per throttling key (``ledger.security.LoginLimiter``); kept for the window only."""

    __tablename__ = "ledger_login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    at: Mapped[datetime] = mapped_column(AwareDateTime, index=True)

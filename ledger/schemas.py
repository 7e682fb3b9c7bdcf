"""Typed inputs and outputs of the ledger, shared by the service, the REST API (and its OpenAPI
document) and the web forms."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from ledger.states import CaseStatus, CommitmentStatus, Role
from ledger.tables import Attachment, AuditEntry, Case, Commitment, Unit, User
from ledger.text import clean_text
from ledger.urls import HttpLink, OptionalLink
from yuqing.events import RiskLevel

SOURCES = ("问政江西", "问政九江", "领导留言板", "12345", "网络媒体", "来信来访", "其他")
SATISFACTION = ("满意", "基本满意", "不满意")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _clean(cls, v: Any) -> Any:
        """NUL and bidirectional-override characters never reach the database (``ledger.text``)."""
        if isinstance(v, str):
            return clean_text(v)
        if isinstance(v, list):
            return [clean_text(x) if isinstance(x, str) else x for x in v]
        if isinstance(v, dict):
            return {k: clean_text(x) if isinstance(x, str) else x for k, x in v.items()}
        return v


class NewCase(_In):
    """A case to register. With ``unit_id`` it is assigned at once (待交办 → 已交办)."""

    title: str = Field(min_length=1, max_length=300, description="标题")
    summary: str = Field("", max_length=20000, description="摘要")
    source: str = Field("其他", max_length=50, description="来源：问政江西、问政九江、领导留言板、12345 ...")
    source_ref: str = Field("", max_length=100, description="原始编号（工单号、留言编号）")
    case_type: str | None = Field(None, description="类型（咨询、求助、建议、投诉、举报、舆情）；决定办理时限")
    topic: str = Field("其他", max_length=30, description="主题")
    risk_level: RiskLevel = Field("低", description="风险等级")
    region: str = Field("", max_length=50)
    event_id: str | None = Field(None, max_length=64, description="舆情事件编号（来自检索库）")
    alert_id: str | None = Field(None, max_length=64, description="预警编号")
    post_ids: list[str] = Field(default_factory=list, max_length=200)
    post_urls: list[HttpLink] = Field(default_factory=list, max_length=200, description="原帖链接")
    petitioner: str = Field("", max_length=64, description="诉求人（公开时脱敏）")
    petitioner_phone: str = Field("", max_length=32, description="联系电话（公开时脱敏）")
    unit_id: int | None = Field(None, description="交办单位；给出则立即交办")
    co_unit_ids: list[int] = Field(default_factory=list, description="协办单位")
    time_limit_days: int | None = Field(None, ge=1, le=120, description="办理时限（工作日）；默认按类型")


class CaseAction(_In):
    """A state change or update of a case. ``version`` is the version the client last saw."""

    action: Literal[
        "assign",
        "accept",
        "return",
        "respond",
        "track",
        "close",
        "request_extension",
        "approve_extension",
        "reject_extension",
        "supervise",
        "edit",
    ]
    version: int = Field(ge=1)
    note: str = Field("", max_length=5000, description="说明（退回、延期、驳回、督办时必填）")
    unit_id: int | None = Field(None, description="assign: 交办单位")
    co_unit_ids: list[int] = Field(default_factory=list, description="assign: 协办单位")
    time_limit_days: int | None = Field(None, ge=1, le=120, description="assign: 办理时限（工作日）")
    response: str | None = Field(None, max_length=20000, description="respond: 回应内容")
    extension_days: int | None = Field(None, ge=1, le=30, description="request_extension: 申请延期工作日数")
    fields: dict[str, Any] = Field(
        default_factory=dict, description="edit: 要修改的字段（标题、摘要、类型、主题、风险等级、地区、诉求人、联系电话）"
    )


class NewCommitment(_In):
    version: int = Field(ge=1, description="the case's version")
    content: str = Field(min_length=1, max_length=5000, description="承诺内容")
    unit_id: int | None = Field(None, description="责任单位；默认交办单位")
    due_at: AwareDatetime | None = Field(None, description="承诺时限")
    due_workdays: int | None = Field(None, ge=1, le=250, description="或：从今天起若干工作日")


class CommitmentAction(_In):
    action: Literal["fulfil", "reject", "disclose", "revisit", "supervise"]
    version: int = Field(ge=1, description="the commitment's version")
    note: str = Field("", max_length=5000)
    fulfilment: str | None = Field(None, max_length=20000, description="fulfil: 落实情况")
    evidence_links: list[HttpLink] = Field(default_factory=list, max_length=50, description="fulfil: 佐证材料链接")
    disclosure_channel: str | None = Field(None, max_length=100, description="disclose: 公开渠道（政府网站、问政平台回复 ...）")
    disclosure_url: OptionalLink = Field("", max_length=500, description="disclose: 公开链接")
    revisit_result: str | None = Field(None, max_length=5000, description="revisit: 回访情况")
    satisfaction: Literal["满意", "基本满意", "不满意"] | None = Field(None, description="revisit: 满意度")


# -- outputs --------------------------------------------------------------------------------
class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class UnitOut(_Out):
    id: int
    name: str
    kind: str
    active: bool


class AttachmentOut(_Out):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime


class CommitmentOut(_Out):
    id: int
    case_id: int
    seq: int
    content: str
    unit_id: int
    unit: str
    due_at: datetime
    status: CommitmentStatus
    status_label: str
    fulfilment: str
    fulfilled_at: datetime | None
    evidence_links: list[str]
    attachments: list[AttachmentOut]
    disclosure_channel: str
    disclosure_url: str
    disclosed_at: datetime | None
    revisit_result: str
    satisfaction: str
    revisited_at: datetime | None
    supervise_count: int
    version: int

    @classmethod
    def of(cls, c: Commitment) -> CommitmentOut:
        return cls.model_validate(
            {
                **_columns(c),
                "unit": c.unit.name,
                "status_label": CommitmentStatus(c.status).label,
                "attachments": [AttachmentOut.model_validate(a) for a in c.attachments],
            }
        )


class CaseOut(_Out):
    id: int
    number: str | None
    source: str
    source_ref: str
    case_type: str
    title: str
    summary: str
    topic: str
    risk_level: str
    region: str
    event_id: str | None
    alert_id: str | None
    post_ids: list[str]
    post_urls: list[str]
    petitioner: str
    petitioner_phone: str
    status: CaseStatus
    status_label: str
    unit_id: int | None
    unit: str | None
    co_units: list[str]
    time_limit_days: int
    assigned_at: datetime | None
    due_at: datetime | None
    responded_at: datetime | None
    response: str
    extension_pending: bool
    extension_days: int
    extended_days: int
    supervise_count: int
    overdue: bool
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    version: int
    commitments: list[CommitmentOut]

    @classmethod
    def of(cls, c: Case, *, overdue: bool) -> CaseOut:
        return cls.model_validate(
            {
                **_columns(c),
                "status_label": CaseStatus(c.status).label,
                "unit": c.unit.name if c.unit else None,
                "co_units": [u.name for u in c.co_units],
                "overdue": overdue,
                "commitments": [CommitmentOut.of(m) for m in c.commitments],
            }
        )


class CaseList(BaseModel):
    total: int
    items: list[CaseOut]


class AuditOut(_Out):
    id: int
    case_id: int
    commitment_id: int | None
    action: str
    event: str
    actor_name: str
    actor_role: Role | str
    from_status: str | None
    to_status: str
    note: str
    created_at: datetime

    @classmethod
    def of(cls, a: AuditEntry) -> AuditOut:
        return cls.model_validate(a)


def _columns(obj: Case | Commitment | Unit | User | Attachment) -> dict[str, Any]:
    return {col.key: getattr(obj, col.key) for col in obj.__table__.columns if col.key != "data"}

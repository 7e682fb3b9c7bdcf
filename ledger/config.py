"""Settings of the ledger (the ``ledger:`` section of yuqing.yaml).

The database URL lives in the top-level ``database:`` section because other parts may share it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from ledger.briefing_config import BriefingConfig
from ledger.effect import EffectConfig
from ledger.timeliness.config import TimelinessConfig

# Working-day limits per case type, as 12345 hotlines and 信访 offices commonly set them:
# a consultation is answered within 3 working days, a complaint within 13.
DEFAULT_LIMITS: dict[str, int] = {"咨询": 3, "求助": 5, "建议": 10, "投诉": 13, "举报": 13, "舆情": 5}

# Which unit a topic usually goes to, from the responsible units named in the county's work plan
# (彭府办字〔2023〕68号 §八); used to suggest the 交办单位 and by the demo.
DEFAULT_TOPIC_UNITS: dict[str, str] = {
    "房地产金融": "县住房和城乡建设局",
    "工资拖欠": "县人力资源和社会保障局",
    "环境污染和生态破坏": "县生态环境局",
    "食品药品安全": "县市场监管局",
    "教育医疗养老": "县卫健委",
    "安全生产": "县应急管理局",
    "困难群众生活": "县民政局",
    "其他": "县政府办",
}

DEFAULT_UPLOAD_TYPES: tuple[str, ...] = ("pdf", "jpg", "jpeg", "png", "docx", "xlsx", "txt")


class UnitChannels(BaseModel):
    """One unit's own channels (a 钉钉/企业微信/飞书 robot, an email address): its reminders and
    escalations, and alerts of routes with ``to_unit``, go there."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    unit: str = Field(min_length=1, description="the unit's name as in the ledger (县人力资源和社会保障局)")
    notifiers: list[dict[str, Any]] = Field(min_length=1, description="channels, as alerts.notifiers configs")

    @field_validator("notifiers")
    @classmethod
    def _channels(cls, v: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return _valid_channels(v)


def _valid_channels(v: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from notify.registry import parse_notifier_config

    names = []
    for i, raw in enumerate(v):
        try:
            names.append(parse_notifier_config(raw).name)
        except ValueError as exc:
            raise ValueError(f"notifiers[{i}]: {exc}") from exc
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"notifiers: duplicate name {dup[0]!r} (give each channel its own name)")
    return v


class LedgerConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(8600, ge=0, le=65535)
    base_url: str = Field("http://127.0.0.1:8600", description="public address of the web UI, used in links in notifications and feeds")
    secret_key: SecretStr | None = Field(None, description="signs session cookies; generated once and kept in the database when unset")
    cookie_secure: bool | None = Field(
        None,
        description="mark the session cookie Secure: true always, false never, unset (default) when the request came over https "
        "(behind a proxy: its X-Forwarded-Proto, trusted from forwarded_allow_ips)",
    )
    forwarded_allow_ips: str = Field(
        "127.0.0.1",
        description="proxies whose X-Forwarded-For/-Proto headers are trusted (comma-separated addresses or networks, * for any); "
        "the client address they give is the one sign-in throttling counts",
    )
    session_hours: float = Field(
        12.0, gt=0, description="a session ends this long after sign-in (or at sign-out, a password change, deactivation)"
    )
    auth_cache_seconds: float = Field(
        2.0,
        ge=0,
        le=10,
        description="how long a web process reuses a session's or API token's user (one query fewer per request); a sign-out, "
        "revocation, password change or deactivation reaches the process that made it at once, other processes within this "
        "many seconds; 0 checks the database on every request",
    )

    deadlines: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_LIMITS), description="case type -> working days to reply")
    default_case_type: str = "舆情"
    topic_units: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_TOPIC_UNITS), description="topic -> suggested 交办单位")
    remind_before_workdays: int = Field(1, ge=0, le=10, description="remind the unit this many working days before a due date")
    reminder_interval_minutes: int = Field(30, ge=1, description="how often the reminder/escalation job runs")
    notifiers: list[dict[str, Any]] = Field(
        default_factory=list,
        description="the monitoring office's channels for reminders and escalations, as alerts.notifiers configs (type: webhook, ...); "
        "copied on every escalation, and the fallback for units without channels of their own",
    )
    unit_channels: list[UnitChannels] = Field(
        default_factory=list, description="each unit's own channels: [{unit: 县人力资源和社会保障局, notifiers: [{type: dingtalk, ...}]}]"
    )

    login_max_failures: int = Field(
        5, ge=1, description="failed sign-ins per user name from one client address before a pause (x4 per address)"
    )
    login_window_seconds: int = Field(300, ge=1)
    max_upload_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    upload_types: list[str] = Field(default_factory=lambda: list(DEFAULT_UPLOAD_TYPES), description="allowed evidence file extensions")
    public_feed_size: int = Field(50, ge=1, le=1000)
    briefing: BriefingConfig = Field(default_factory=BriefingConfig, description="风险研判简报 (docs/briefing.md)")
    effect: EffectConfig = Field(default_factory=EffectConfig, description="回应效果: verdict thresholds (docs/ledger.md)")
    timeliness: TimelinessConfig = Field(default_factory=TimelinessConfig, description="回复时效 (docs/timeliness.md)")

    @field_validator("deadlines", mode="before")
    @classmethod
    def _deadline_list(cls, v: Any) -> Any:
        """Also accepted: a list of ``{type: 咨询, days: 3}`` (the form the example settings file uses)."""
        return _pairs(v, "type", "days")

    @field_validator("topic_units", mode="before")
    @classmethod
    def _topic_unit_list(cls, v: Any) -> Any:
        """Also accepted: a list of ``{topic: 工资拖欠, unit: 县人力资源和社会保障局}``."""
        return _pairs(v, "topic", "unit")

    @field_validator("deadlines")
    @classmethod
    def _positive(cls, v: dict[str, int]) -> dict[str, int]:
        if not v:
            raise ValueError("at least one case type is needed")
        for name, days in v.items():
            if not isinstance(days, int) or days < 1 or days > 120:
                raise ValueError(f"case type {name!r}: working days must be an integer between 1 and 120, got {days!r}")
        return v

    @field_validator("notifiers")
    @classmethod
    def _channels(cls, v: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return _valid_channels(v)

    @field_validator("unit_channels")
    @classmethod
    def _one_entry_per_unit(cls, v: list[UnitChannels]) -> list[UnitChannels]:
        units = [u.unit for u in v]
        dup = sorted({u for u in units if units.count(u) > 1})
        if dup:
            raise ValueError(f"unit {dup[0]!r} is listed twice; put all its channels in one entry")
        return v

    def channels_of(self, unit: str) -> list[dict[str, Any]]:
        """The unit's own channel configs (none: the caller falls back to ``notifiers``)."""
        return next((list(u.notifiers) for u in self.unit_channels if u.unit == unit), [])

    @model_validator(mode="after")
    def _default_type_known(self) -> LedgerConfig:
        if self.default_case_type not in self.deadlines:
            raise ValueError(f"default_case_type {self.default_case_type!r} is not one of deadlines: {', '.join(self.deadlines)}")
        return self

    @field_validator("upload_types")
    @classmethod
    def _known_types(cls, v: list[str]) -> list[str]:
        from ledger.uploads import SNIFFERS

        unknown = [t for t in v if t.lower().lstrip(".") not in SNIFFERS]
        if unknown:
            raise ValueError(f"unsupported upload types {unknown}; supported: {sorted(SNIFFERS)}")
        return [t.lower().lstrip(".") for t in v]

    def limit_for(self, case_type: str) -> int:
        return self.deadlines.get(case_type, self.deadlines.get(self.default_case_type, 5))


def _pairs(v: Any, key: str, value: str) -> Any:
    if not isinstance(v, list):
        return v
    out = {}
    for i, item in enumerate(v):
        if not isinstance(item, dict) or set(item) != {key, value}:
            raise ValueError(f"item {i}: expected a mapping with exactly {key!r} and {value!r}")
        out[item[key]] = item[value]
    return out

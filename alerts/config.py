"""Settings of the alert engine (the ``alerts:`` section of yuqing.yaml).

Rules live in their own YAML file (``alerts.rules``); channels (``notifiers``) and who gets
what (``routes``) live here, next to the secrets they need. Every key is documented in
``config/yuqing.example.yaml`` and in docs/alerts.md.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, field_validator, model_validator

from notify.base import NotifierConfig
from notify.config import RetryConfig
from yuqing.duration import Duration
from yuqing.events import RiskLevel, Topic


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RouteMatch(_Model):
    """Every given condition must hold; a list means any of its values."""

    topic: list[Topic] | None = None
    region: list[str] | None = Field(default=None, description="region path prefixes")
    unit: list[str] | None = Field(default=None, description="the rule's responsible unit")
    rule: list[str] | None = Field(default=None, description="rule names")
    severity: RiskLevel | None = Field(default=None, description="at least this severity")

    @field_validator("topic", "region", "unit", "rule", mode="before")
    @classmethod
    def _listed(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class RouteConfig(_Model):
    """Routes are tried in order; the first that matches is used unless it says ``continue``."""

    match: RouteMatch = RouteMatch()
    notifiers: list[str] = Field(min_length=1)
    escalate_after: Duration | None = Field(default=None, description="not acknowledged after this long: notify escalate_to")
    escalate_to: list[str] = Field(default_factory=list)
    continue_: bool = Field(default=False, alias="continue", description="also try the routes after this one")
    to_unit: bool = Field(
        default=False,
        description="also notify the alert's unit (the rule's unit, else ledger.topic_units of its topic) on its own channels "
        "(ledger.unit_channels); a unit without channels is carried by this route's notifiers",
    )

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _escalation_pair(self) -> RouteConfig:
        if bool(self.escalate_after) != bool(self.escalate_to):
            raise ValueError("escalate_after and escalate_to go together")
        return self


_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class QuietHours(_Model):
    """Hold notifications between ``start`` and ``end`` (local time) except for ``override``
    severities; held ones are sent when quiet hours end."""

    enabled: bool = False
    start: str = "22:00"
    end: str = "07:00"
    override: list[RiskLevel] = Field(default_factory=lambda: list[RiskLevel](["重大"]))

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        if not _HHMM.match(str(v)):
            raise ValueError(f"{v!r} is not a time of day like 22:00")
        return str(v)

    def _t(self, v: str) -> time:
        h, m = v.split(":")
        return time(int(h), int(m))

    def active(self, at: datetime) -> bool:
        if not self.enabled:
            return False
        t, s, e = at.timetz().replace(tzinfo=None), self._t(self.start), self._t(self.end)
        return (s <= t < e) if s <= e else (t >= s or t < e)

    def ends_after(self, at: datetime) -> datetime:
        """The next end of quiet hours after ``at``."""
        e = self._t(self.end)
        end = at.replace(hour=e.hour, minute=e.minute, second=0, microsecond=0)
        return end if end > at else end + timedelta(days=1)


class InhibitRule(_Model):
    """An open alert of ``source_severity`` silences alerts of lower severity that share the
    ``equal`` labels (by default: the same event)."""

    source_severity: RiskLevel = "重大"
    equal: list[str] = Field(default_factory=lambda: ["event_id"], min_length=1)


class SilenceConfig(_Model):
    """A timed silence: alerts whose labels match every matcher are not notified between
    ``starts`` and ``ends``. A matcher value ``/regex/`` is a regular expression."""

    id: str | None = None
    matchers: dict[str, str] = Field(min_length=1)
    starts: datetime | None = None
    ends: datetime
    comment: str = ""
    created_by: str = "config"


def _default_notifiers() -> list[NotifierConfig]:
    from notify.channels.inbox_config import InboxConfig

    return [InboxConfig(name="inbox", type="inbox")]


class AlertsConfig(_Model):
    enabled: bool = True
    rules: str | None = Field(default=None, description="rules YAML file; null = the bundled alerts/default_rules.yaml")
    database_url: str | None = Field(default=None, description="alerts, deliveries and the inbox; null = database.url")
    web_base_url: str | None = Field(default=None, description="links in notifications; null = ledger.base_url")
    event_path: str = "/events/{event_id}"
    alert_path: str = "/alerts/{alert_id}"
    templates: str | None = Field(default=None, description="directory with Jinja2 templates overriding the bundled ones")
    group_wait: Duration = Field(default=timedelta(seconds=30), description="default for rules without their own")
    repeat_interval: Duration = Field(default=timedelta(hours=4), description="default for rules without their own")
    auto_resolve_after: Duration = Field(default=timedelta(hours=24), description="resolve an alert with no new posts for this long")
    max_post_age: Duration = Field(default=timedelta(days=3), description="older posts (backfill) are ignored by the live engine")
    tick_interval: Duration = Field(
        default=timedelta(seconds=1), description="how often timers (group wait, repeats, escalation, flatline) run"
    )
    batch_size: int = Field(default=500, ge=1, le=10000)
    linger_ms: int = Field(default=50, ge=0)
    lease_seconds: float = Field(
        default=15.0, ge=1, le=600, description="one engine is active at a time; a standby takes over this long after it dies"
    )
    quiet_hours: QuietHours = QuietHours()
    inhibit: list[InhibitRule] = Field(default_factory=lambda: [InhibitRule()])
    silences: list[SilenceConfig] = Field(default_factory=list)
    retry: RetryConfig = RetryConfig()
    notifiers: list[SerializeAsAny[NotifierConfig]] = Field(
        default_factory=_default_notifiers, description="channels; see alerts.notifiers"
    )
    routes: list[RouteConfig] = Field(default_factory=lambda: [RouteConfig(notifiers=["inbox"])])

    @field_validator("notifiers", mode="before")
    @classmethod
    def _typed_notifiers(cls, v: Any) -> Any:
        from notify.registry import parse_notifier_config

        if not isinstance(v, list):
            return v
        out = []
        for i, item in enumerate(v):
            if isinstance(item, NotifierConfig):
                out.append(item)
                continue
            try:
                out.append(parse_notifier_config(item))
            except ValueError as exc:
                raise ValueError(f"notifiers[{i}]: {exc}") from None
        return out

    @model_validator(mode="after")
    def _known_names(self) -> AlertsConfig:
        names = [n.name for n in self.notifiers]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"notifiers: duplicate name {sorted(dup)[0]!r}")
        for i, route in enumerate(self.routes):
            for field in ("notifiers", "escalate_to"):
                for n in getattr(route, field):
                    if n not in names:
                        raise ValueError(f"routes[{i}].{field}: unknown notifier {n!r}; configured: {', '.join(names) or 'none'}")
        return self

    def notifier(self, name: str) -> NotifierConfig:
        return next(n for n in self.notifiers if n.name == name)

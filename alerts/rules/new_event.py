"""``new_event``: the first post of an event at or above ``risk_level`` — one hit per event.

"First" is per rule: the first time a post of the event passes the rule's conditions, which is
also the moment an event that began harmless first reaches the level. Events are remembered
for ``remember`` so a long-running event does not fire twice.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, field_validator

from alerts.model import Clear, Hit, PostRef, severity_rank
from alerts.rules.base import Rule, RuleConfig
from yuqing.duration import Duration
from yuqing.events import PostClassified, RiskLevel


class NewEventConfig(RuleConfig):
    type: Literal["new_event"] = "new_event"
    risk_level: RiskLevel = Field(default="高", description="at least this level")
    remember: Duration = Field(default=timedelta(days=7), description="how long an event counts as already seen")

    @field_validator("group_by")
    @classmethod
    def _per_event(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and v != ["event_id"]:
            raise ValueError("new_event alerts are per event: group_by must be [event_id] or left out")
        return v


class NewEventRule(Rule):
    type = "new_event"
    Config = NewEventConfig

    @property
    def cfg(self) -> NewEventConfig:
        return self.config  # type: ignore[return-value]

    @property
    def horizon(self) -> timedelta:
        return self.cfg.remember

    def matches(self, post: PostClassified) -> bool:
        return severity_rank(post.risk.level) >= severity_rank(self.cfg.risk_level) and super().matches(post)

    def observe(self, post: PostClassified, ref: PostRef) -> list[Hit | Clear]:
        group = self.group_of(ref)
        if len(self.window(group)) or not self.add(group, ref):
            return []
        metric = f"新事件，风险等级{ref.risk_level}（{ref.risk_score} 分，阈值{self.cfg.risk_level}）"
        return [self.hit(group, [ref], metric, 1)]

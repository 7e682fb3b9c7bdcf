"""``frequency``: at least ``threshold`` matching posts of a group within ``window``."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field

from alerts.model import Clear, Hit, PostRef
from alerts.rules.base import Rule, RuleConfig
from yuqing.duration import Duration, chinese_duration
from yuqing.events import PostClassified


class FrequencyConfig(RuleConfig):
    type: Literal["frequency"] = "frequency"
    threshold: int = Field(ge=1, description="posts needed within the window")
    window: Duration


class FrequencyRule(Rule):
    type = "frequency"
    Config = FrequencyConfig

    @property
    def horizon(self) -> timedelta:
        return self.cfg.window

    @property
    def cfg(self) -> FrequencyConfig:
        return self.config  # type: ignore[return-value]

    def observe(self, post: PostClassified, ref: PostRef) -> list[Hit | Clear]:
        group = self.group_of(ref)
        if not self.add(group, ref):
            return []
        w = self.window(group)
        span = self.cfg.window.total_seconds()
        # Counted at the newest post's time, so a late-arriving old post cannot open a window
        # that was already closed.
        until = w.latest or ref.ts
        posts = w.between(until - span, until)
        if len(posts) < self.cfg.threshold:
            return []
        metric = f"{chinese_duration(self.cfg.window)}内 {len(posts)} 条（阈值 {self.cfg.threshold} 条）"
        return [self.hit(group, posts, metric, len(posts))]

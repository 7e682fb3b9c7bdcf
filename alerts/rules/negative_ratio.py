"""``negative_ratio``: within ``window``, negative posts make up at least ``min_ratio`` of a
group's matching posts, counting at least ``min_count`` posts. The rule's ``match.sentiment``
is ignored: it needs every sentiment to compute the share."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field

from alerts.model import Clear, Hit, PostRef
from alerts.rules.base import Rule, RuleConfig
from yuqing.duration import Duration, chinese_duration
from yuqing.events import PostClassified


class NegativeRatioConfig(RuleConfig):
    type: Literal["negative_ratio"] = "negative_ratio"
    window: Duration
    min_ratio: float = Field(gt=0, le=1, description="share of negative posts, 0-1")
    min_count: int = Field(default=10, ge=1, description="posts needed in the window to judge the share")


class NegativeRatioRule(Rule):
    type = "negative_ratio"
    Config = NegativeRatioConfig
    default_group_by = ("topic",)

    @property
    def cfg(self) -> NegativeRatioConfig:
        return self.config  # type: ignore[return-value]

    @property
    def horizon(self) -> timedelta:
        return self.cfg.window

    def matches(self, post: PostClassified) -> bool:
        return self.config.match.matches(post, ignore=frozenset({"sentiment"}))

    def observe(self, post: PostClassified, ref: PostRef) -> list[Hit | Clear]:
        group = self.group_of(ref)
        if not self.add(group, ref):
            return []
        c = self.cfg
        w = self.window(group)
        until = w.latest or ref.ts
        posts = w.between(until - c.window.total_seconds(), until)
        negative = [p for p in posts if p.negative]
        if len(posts) < c.min_count or len(negative) / len(posts) < c.min_ratio:
            return []
        share = len(negative) / len(posts)
        metric = f"{chinese_duration(c.window)}内 {len(posts)} 条中负面 {len(negative)} 条（{share:.0%}，阈值 {c.min_ratio:.0%}）"
        return [self.hit(group, negative, metric, len(negative))]

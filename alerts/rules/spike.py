"""``spike``: the rate in the current ``window`` is at least ``ratio`` times the rate of the
trailing ``baseline`` period before it, with at least ``min_count`` posts in the window."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field

from alerts.model import Clear, Hit, PostRef
from alerts.rules.base import Rule, RuleConfig
from yuqing.duration import Duration, chinese_duration
from yuqing.events import PostClassified


class SpikeConfig(RuleConfig):
    type: Literal["spike"] = "spike"
    window: Duration = Field(description="the current period")
    baseline: Duration = Field(description="the trailing period just before it")
    ratio: float = Field(default=3.0, gt=1, description="current rate / baseline rate needed")
    min_count: int = Field(default=5, ge=1, description="posts needed in the current window")
    min_baseline: int = Field(default=0, ge=0, description="posts needed in the baseline before a spike can be judged")


class SpikeRule(Rule):
    type = "spike"
    Config = SpikeConfig
    default_group_by = ("topic",)

    @property
    def cfg(self) -> SpikeConfig:
        return self.config  # type: ignore[return-value]

    @property
    def horizon(self) -> timedelta:
        return self.cfg.window + self.cfg.baseline

    def observe(self, post: PostClassified, ref: PostRef) -> list[Hit | Clear]:
        group = self.group_of(ref)
        if not self.add(group, ref):
            return []
        c = self.cfg
        w = self.window(group)
        until = w.latest or ref.ts
        cur_span, base_span = c.window.total_seconds(), c.baseline.total_seconds()
        current = w.between(until - cur_span, until)
        base = w.count(until - cur_span - base_span, until - cur_span)
        if len(current) < c.min_count or base < c.min_baseline:
            return []
        base_rate = base / base_span
        cur_rate = len(current) / cur_span
        if base and cur_rate < c.ratio * base_rate:
            return []
        if base:
            factor = cur_rate / base_rate
            metric = (
                f"{chinese_duration(c.window)}内 {len(current)} 条，是此前 {chinese_duration(c.baseline)} 平均水平的 "
                f"{factor:.1f} 倍（阈值 {c.ratio:g} 倍）"
            )
        else:
            metric = f"{chinese_duration(c.window)}内 {len(current)} 条，此前 {chinese_duration(c.baseline)} 无相关帖子"
        return [self.hit(group, current, metric, len(current))]

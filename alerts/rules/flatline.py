"""``flatline``: a source (or topic, region) goes silent — fewer than ``threshold`` matching posts
within the last ``window`` by the clock. Judged on every tick; the alert clears itself when
posts come back. ``keys`` lists the values to watch (e.g. source ids), so a source that never
posts at all is noticed; without it, every value seen so far is watched.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field, model_validator

from alerts.model import Clear, GroupKey, Hit, PostRef
from alerts.rules.base import Rule, RuleConfig
from yuqing.duration import Duration, chinese_duration
from yuqing.events import PostClassified
from yuqing.timeutil import from_epoch


class FlatlineConfig(RuleConfig):
    type: Literal["flatline"] = "flatline"
    window: Duration
    threshold: int = Field(default=1, ge=1, description="fewer posts than this within the window is silence")
    keys: list[str] | None = Field(default=None, description="values of the group_by key to watch")

    @model_validator(mode="after")
    def _one_key(self) -> FlatlineConfig:
        if self.group_by is not None and len(self.group_by) != 1:
            raise ValueError("flatline watches one thing: group_by must name exactly one key (source, topic or region)")
        return self


class FlatlineRule(Rule):
    type = "flatline"
    Config = FlatlineConfig
    default_group_by = ("source",)
    clears_itself = True

    @property
    def cfg(self) -> FlatlineConfig:
        return self.config  # type: ignore[return-value]

    @property
    def horizon(self) -> timedelta:
        return self.cfg.window

    def _keep_meta(self, key: str) -> bool:
        return True

    def _meta(self, key: str, now_ts: float) -> dict[str, Any]:
        meta = self.meta.get(key)
        if meta is None:
            meta = self.meta[key] = {"since": now_ts, "alerting": False}
            self.touch(key)
        return meta

    def observe(self, post: PostClassified, ref: PostRef) -> list[Hit | Clear]:
        group = self.group_of(ref)
        if self.cfg.keys is not None and group[0][1] not in self.cfg.keys:
            return []
        self.add(group, ref)
        self._meta(self.key_str(group), ref.ts)
        return []  # judged on tick, by the clock

    def tick(self, now: datetime) -> list[Hit | Clear]:
        now_ts = now.timestamp()
        span = self.cfg.window.total_seconds()
        keys = {self.key_str(((self.group_by[0], k),)) for k in self.cfg.keys} if self.cfg.keys is not None else set()
        keys |= set(self.meta) | set(self.windows)
        out: list[Hit | Clear] = []
        for key in sorted(keys):
            meta = self._meta(key, now_ts)
            group: GroupKey = self.key_parse(key)
            w = self.windows.get(key)
            n = w.count(now_ts - span, now_ts) if w else 0
            silent = n < self.cfg.threshold
            if silent and not meta["alerting"] and now_ts - meta["since"] >= span:
                meta["alerting"] = True
                self.touch(key)
                last = w.posts[-1] if w and len(w) else None
                when = f"，最后一条发布于 {from_epoch(last.ts):%m-%d %H:%M}" if last else "，此前未收到任何帖子"
                metric = f"最近{chinese_duration(self.cfg.window)}内 {n} 条（少于 {self.cfg.threshold} 条）{when}"
                out.append(self.hit(group, [last] if last else [], metric, n, [f"{group[0][1]} 已沉寂"]))
            elif not silent and meta["alerting"]:
                meta["alerting"] = False
                self.touch(key)
                out.append(Clear(self.name, group, f"已恢复：最近{chinese_duration(self.cfg.window)}内 {n} 条"))
        return out

"""``unanswered``: a unit has too many posts waiting for its reply — at least ``threshold`` posts
unanswered for more than ``older_than_workdays`` working days (yuqing.workdays: holidays and 调休
counted). A post's unit is the 承办单位 its source names (12345 exports: ``raw.unit``), else the
rule's own ``unit`` (for a board that one unit answers). A post that arrives again with a reply
(the 领导留言板 collector republishes a thread when its reply appears; a later 12345 export) stops
counting. Judged on every tick; the alert clears itself when the count falls below the threshold.
Posts unanswered for longer than ``watch_days`` are no longer tracked.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field, model_validator

from alerts.model import Clear, GroupKey, Hit, PostRef
from alerts.rules.base import Rule, RuleConfig
from yuqing.events import PostClassified
from yuqing.timeutil import TZ, from_epoch
from yuqing.workdays import workdays_between

MAX_POSTS = 20  # posts listed in a notification


class UnansweredConfig(RuleConfig):
    type: Literal["unanswered"] = "unanswered"
    threshold: int = Field(ge=1, description="this many overdue unanswered posts of one unit fire the alert")
    older_than_workdays: int = Field(default=5, ge=0, le=120, description="a post is overdue once this many working days passed")
    watch_days: int = Field(default=60, ge=1, description="stop tracking a post unanswered for longer than this (calendar days)")

    @model_validator(mode="after")
    def _by_unit(self) -> UnansweredConfig:
        if self.group_by is not None:
            raise ValueError("unanswered always groups by unit: remove group_by")
        return self


def post_unit(post: PostClassified, default: str | None) -> str | None:
    declared = str(post.raw.get("unit") or "").strip()
    return declared or default


class UnansweredRule(Rule):
    type = "unanswered"
    Config = UnansweredConfig
    default_group_by = ("unit",)
    clears_itself = True

    @property
    def cfg(self) -> UnansweredConfig:
        return self.config  # type: ignore[return-value]

    @property
    def horizon(self) -> timedelta:
        return timedelta(days=self.cfg.watch_days)

    def _keep_meta(self, key: str) -> bool:
        return True

    def _meta(self, key: str) -> dict[str, Any]:
        meta = self.meta.get(key)
        if meta is None:
            meta = self.meta[key] = {"pending": {}, "alerting": False}
            self.touch(key)
        return meta

    def observe(self, post: PostClassified, ref: PostRef) -> list[Hit | Clear]:
        unit = post_unit(post, self.cfg.unit)
        if unit is None:
            return []
        key = self.key_str((("unit", unit),))
        meta = self._meta(key)
        answered = post.reply is not None and bool(post.reply.content.strip())
        if answered:
            if meta["pending"].pop(post.id, None) is not None:
                self.touch(key)
        elif post.id not in meta["pending"]:
            meta["pending"][post.id] = ref.to_json()
            self.touch(key)
        return []  # judged on tick, by the clock

    def overdue(self, key: str, now: datetime) -> list[PostRef]:
        meta = self._meta(key)
        today = now.astimezone(TZ).date()
        cutoff = now.timestamp() - self.horizon.total_seconds()
        out = []
        for pid, raw in list(meta["pending"].items()):
            ref = PostRef.from_json(raw)
            if ref.ts < cutoff:
                del meta["pending"][pid]
                self.touch(key)
                continue
            if workdays_between(from_epoch(ref.ts).astimezone(TZ).date(), today) > self.cfg.older_than_workdays:
                out.append(ref)
        return sorted(out, key=lambda r: (r.ts, r.id))

    def tick(self, now: datetime) -> list[Hit | Clear]:
        out: list[Hit | Clear] = []
        for key in sorted(self.meta):
            meta = self.meta[key]
            group: GroupKey = self.key_parse(key)
            late = self.overdue(key, now)
            n = len(late)
            if n >= self.cfg.threshold and not meta["alerting"]:
                meta["alerting"] = True
                self.touch(key)
                unit = group[0][1]
                metric = f"{n} 条留言超过 {self.cfg.older_than_workdays} 个工作日未回复（阈值 {self.cfg.threshold} 条），最早一条发布于 {from_epoch(late[0].ts):%m-%d %H:%M}"
                out.append(self.hit(group, late[:MAX_POSTS], metric, n, [f"{unit} 待回复留言积压"]))
            elif n < self.cfg.threshold and meta["alerting"]:
                meta["alerting"] = False
                self.touch(key)
                out.append(Clear(self.name, group, f"已回落：超期未回复 {n} 条"))
        return out

"""``rebound``: an event heats up again after its case was answered (回应后升温).

The engine has no ledger access; it learns response times from the ledger's bus events: the alerts
stage also consumes the topic ``ledger`` (group ``alerts-ledger``) when a rule of this type is
configured, and ``Engine.handle_ledger`` passes each ``case.responded`` / ``case.disclosed`` /
``commitment.disclosed`` event that names an ``event_id`` to ``note_response``. The response is kept
in the rule's per-event state (persisted with its windows), so a restart remembers it.

Condition, evaluated at each post of an answered event (and when the response itself arrives):
with R the event's response time and t the newest post's time, ``R <= t <= R + watch``,

    current  = posts in [max(R, t - window), t]
    baseline = posts in [R - window, R)

fires when ``current >= min_count`` and ``current >= ratio × baseline``. The posts of ``current``
join the alert; its reasons name the case. The same numbers, judged once on complete windows, are
the 升温 of the ledger's 回应效果 (``ledger.effect``), which shows on the case and alert pages.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field, field_validator

from alerts.model import Clear, GroupKey, Hit, PostRef
from alerts.rules.base import Rule, RuleConfig
from yuqing.duration import Duration, chinese_duration
from yuqing.events import PostClassified
from yuqing.timeutil import from_epoch

# Ledger events that mark a response to the event (ledger.events).
RESPONSE_EVENTS = frozenset({"case.responded", "case.disclosed", "commitment.disclosed"})


class ReboundConfig(RuleConfig):
    type: Literal["rebound"] = "rebound"
    window: Duration = Field(default=timedelta(days=1), description="the period compared after and before the response")
    ratio: float = Field(default=1.5, gt=0, description="posts after / posts before needed")
    min_count: int = Field(default=3, ge=1, description="posts needed after the response")
    watch: Duration = Field(default=timedelta(days=7), description="how long after a response the event is watched")

    @field_validator("group_by")
    @classmethod
    def _per_event(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and v != ["event_id"]:
            raise ValueError("rebound alerts are per event: group_by must be [event_id] or left out")
        return v


class ReboundRule(Rule):
    type = "rebound"
    Config = ReboundConfig

    def __init__(self, config: RuleConfig) -> None:
        super().__init__(config)
        self._expire_at = 0.0

    @property
    def cfg(self) -> ReboundConfig:
        return self.config  # type: ignore[return-value]

    @property
    def horizon(self) -> timedelta:
        return self.cfg.window + self.cfg.watch

    # -- responses, from the ledger's bus events ----------------------------------------------
    def note_response(self, event_id: str, at: datetime, case_id: int, case_number: str) -> list[Hit | Clear]:
        """The event ``event_id`` was answered at ``at`` (the earliest response counts, as in
        ``ledger.effect``); judged at once in case its later posts arrived first."""
        if not event_id:
            return []
        group: GroupKey = (("event_id", event_id),)
        key = self.key_str(group)
        ts = at.timestamp()
        known = self.meta.get(key)
        if known is not None and known["response_at"] <= ts:
            return []
        self.meta[key] = {"response_at": ts, "case_id": case_id, "case_number": case_number}
        self.touch(key)
        return self._judge(group)

    def response(self, event_id: str) -> dict[str, Any] | None:
        return self.meta.get(self.key_str((("event_id", event_id),)))

    # -- posts ----------------------------------------------------------------------------------
    def observe(self, post: PostClassified, ref: PostRef) -> list[Hit | Clear]:
        if not ref.event_id:
            return []
        group = self.group_of(ref)
        if not self.add(group, ref):
            return []
        return self._judge(group)

    def _judge(self, group: GroupKey) -> list[Hit | Clear]:
        c = self.cfg
        resp = self.meta.get(self.key_str(group))
        w = self.windows.get(self.key_str(group))
        if resp is None or w is None or w.latest is None:
            return []
        r, t = float(resp["response_at"]), w.latest
        span = c.window.total_seconds()
        if not r <= t <= r + c.watch.total_seconds():
            return []
        current = w.between(max(r, t - span) - 1e-6, t)  # between() is (since, until]: R itself counts
        baseline = w.count(r - span - 1e-6, r - 1e-6)
        if len(current) < c.min_count or len(current) < c.ratio * baseline:
            return []
        number = resp.get("case_number") or f"#{resp.get('case_id')}"
        metric = (
            f"{number} 于 {from_epoch(r):%m-%d %H:%M} 回应后，{chinese_duration(c.window)}内 {len(current)} 条，"
            f"回应前同等时长 {baseline} 条（阈值 {c.ratio:g} 倍、至少 {c.min_count} 条）"
        )
        return [self.hit(group, current, metric, len(current), reasons=[f"回应后升温：关联案件 {number}"])]

    # -- state ----------------------------------------------------------------------------------
    def expire(self, now: datetime) -> None:
        self._expire_at = now.timestamp()
        super().expire(now)
        # A response past its watch (and the window before it) is forgotten, with its posts.
        cutoff = self._expire_at - self.horizon.total_seconds()
        for key, meta in list(self.meta.items()):
            if meta.get("response_at", 0) < cutoff:
                del self.meta[key]
                self.windows.pop(key, None)
                self.touch(key)

    def _keep_meta(self, key: str) -> bool:
        return float(self.meta[key].get("response_at", 0)) >= self._expire_at - self.horizon.total_seconds()

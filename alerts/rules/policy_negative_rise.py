"""``policy_negative_rise``: the negative share of posts about a registered policy (政策舆情,
``schemes.policies``) rose after its publication.

For each watched policy (``policies``: titles; empty: every active one), posts about it (tagged
with its 监测方案, or matching its keywords) are counted in ``before`` (the span before local
midnight of the publication day) and ``after`` (from it). A post in the "after" span fires when
there are at least ``min_before`` posts before and ``min_after`` after, and the after share of
negative posts exceeds the before share by at least ``min_rise`` (0.2: 20 percentage points).
One alert per policy (label ``policy``: its title); the hit's posts are the negative ones after.

Policies are read from the database (``yuqing_policies``, through the shared ``schemes``
package: the alerts stage does not import the ledger) and re-read when they change (checked at
most every ``RELOAD_SECONDS``). Posts count from the time the engine saw them: the "before" span
holds the posts that arrived while the policy was registered (register a policy before it is
published to have a baseline). ``match`` narrows the posts further; ``match.sentiment`` is
ignored (the share needs every sentiment).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Literal

from pydantic import Field

from alerts.model import Clear, Hit, PostRef
from alerts.rules.base import Rule, RuleConfig
from yuqing.duration import Duration, chinese_duration
from yuqing.events import PostClassified

log = logging.getLogger("yuqing.alerts")
RELOAD_SECONDS = 10.0


class PolicyNegativeRiseConfig(RuleConfig):
    type: Literal["policy_negative_rise"] = "policy_negative_rise"
    policies: list[str] = Field(default_factory=list, description="policy titles to watch; empty: every active policy")
    before: Duration = Field(default=timedelta(days=14), description="span before publication that sets the baseline")
    after: Duration = Field(default=timedelta(days=7), description="span after publication that is compared with it")
    min_before: int = Field(default=5, ge=1, description="posts needed before publication")
    min_after: int = Field(default=5, ge=1, description="posts needed after publication")
    min_rise: float = Field(default=0.2, gt=0, le=1, description="rise of the negative share, 0-1 (0.2: 20 percentage points)")


class PolicyNegativeRiseRule(Rule):
    type = "policy_negative_rise"
    Config = PolicyNegativeRiseConfig
    default_group_by = ()

    def __init__(self, config: RuleConfig) -> None:
        super().__init__(config)
        self.policies: list[Any] = []  # schemes.policies.Policy
        self._table: Any = None
        self._url: str | None = None
        self._revision = -1
        self._checked = 0.0

    @property
    def cfg(self) -> PolicyNegativeRiseConfig:
        return self.config  # type: ignore[return-value]

    @property
    def horizon(self) -> timedelta:
        return self.cfg.before + self.cfg.after

    # -- the policies -------------------------------------------------------------------------
    def use_database(self, url: str) -> None:
        """Read the policies from ``yuqing_policies`` at ``url`` (build_service calls this)."""
        self._url = url
        self._reload(force=True)

    def set_policies(self, policies: Sequence[Any]) -> None:
        wanted = set(self.cfg.policies)
        self.policies = [p for p in policies if p.active and (not wanted or p.title in wanted)]

    def _reload(self, force: bool = False) -> None:
        if self._url is None or (not force and time.monotonic() - self._checked < RELOAD_SECONDS):
            return
        self._checked = time.monotonic()
        try:
            if self._table is None:  # opened here, so a database down at start-up is retried
                from schemes.policies import PolicyStore

                self._table = PolicyStore(self._url)
            rev = self._table.revision()
            if rev != self._revision:
                self.set_policies(self._table.list(active_only=True))
                self._revision = rev
        except Exception as exc:  # the database is the ledger's: keep the policies we have
            log.warning("policy_negative_rise %s: cannot reload policies, keeping %d: %s", self.name, len(self.policies), exc)

    # -- evaluation ---------------------------------------------------------------------------
    def matches(self, post: PostClassified) -> bool:
        self._reload()
        return bool(self.policies) and self.config.match.matches(post, ignore=frozenset({"sentiment"}))

    def observe(self, post: PostClassified, ref: PostRef) -> list[Hit | Clear]:
        c = self.cfg
        out: list[Hit | Clear] = []
        for p in self.policies:
            start = p.start.timestamp()
            if not (start - c.before.total_seconds() <= ref.ts < start + c.after.total_seconds()) or not p.matches(post):
                continue
            group = (("policy", p.title.replace("|", "｜")),)
            if not self.add(group, ref) or ref.ts < start:
                continue
            w = self.window(group)
            edge = start - 1e-6  # between() is (since, until]: a post at midnight is "after"
            before = w.between(start - c.before.total_seconds() - 1e-6, edge)
            after = w.between(edge, start + c.after.total_seconds())
            if len(before) < c.min_before or len(after) < c.min_after:
                continue
            neg_b = sum(1 for x in before if x.negative)
            negative = [x for x in after if x.negative]
            share_b, share_a = neg_b / len(before), len(negative) / len(after)
            if share_a - share_b < c.min_rise:
                continue
            metric = (
                f"发布后{chinese_duration(c.after)}内 {len(after)} 条中负面 {len(negative)} 条（{share_a:.0%}），"
                f"发布前{chinese_duration(c.before)}内 {len(before)} 条中负面 {neg_b} 条（{share_b:.0%}），"
                f"上升 {(share_a - share_b) * 100:.0f} 个百分点（阈值 {c.min_rise * 100:.0f}）"
            )
            reason = f"政策：{p.title}" + (f"（{p.doc_number}）" if p.doc_number else "") + f"，{p.published:%Y-%m-%d} 发布"
            out.append(self.hit(group, negative, metric, len(negative), (reason,)))
        return out

"""``any``: every matching post raises (or adds to) the alert of its group — by default its event."""

from __future__ import annotations

from typing import Literal

from alerts.model import Clear, Hit, PostRef
from alerts.rules.base import Rule, RuleConfig
from yuqing.events import PostClassified


class AnyConfig(RuleConfig):
    type: Literal["any"] = "any"


class AnyRule(Rule):
    type = "any"
    Config = AnyConfig

    def observe(self, post: PostClassified, ref: PostRef) -> list[Hit | Clear]:
        group = self.group_of(ref)
        if not self.add(group, ref):
            return []
        words = self.config.match.matched_keywords(post)
        metric = f"命中关键词「{'、'.join(words)}」" if words else "符合规则条件"
        reasons = [f"命中关键词：{'、'.join(words)}"] if words else []
        return [self.hit(group, [ref], metric, len(self.window(group)), reasons)]

"""What a rule looks at: keyword expression, topic, sentiment, risk level (at least), region, source, scheme."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from alerts.keywords import KeywordExpression, KeywordSyntaxError, normalise, parse
from alerts.model import severity_rank
from yuqing.events import PostClassified, RiskLevel, Sentiment, Topic


def _listify(v: Any) -> Any:
    return [v] if isinstance(v, str) else v


class MatchConfig(BaseModel):
    """Every given condition must hold; a list means any of its values."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    keywords: str | None = Field(default=None, description="keyword expression (alerts/keywords.py); matched on title + content")
    topic: list[Topic] | None = None
    sentiment: list[Sentiment] | None = None
    risk_level: RiskLevel | None = Field(default=None, description="at least this level")
    region: list[str] | None = Field(default=None, description="region path prefixes, e.g. 彭泽县/芙蓉墩镇")
    source: list[str] | None = Field(default=None, description="source ids")
    scheme: list[str] | None = Field(default=None, description="监测方案 names: the post was tagged with one of them (post.schemes)")

    _listed = field_validator("topic", "sentiment", "region", "source", "scheme", mode="before")(_listify)

    @field_validator("keywords")
    @classmethod
    def _parses(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                parse(v)
            except KeywordSyntaxError as exc:
                raise ValueError(f"keyword syntax: {exc}") from None
        return v

    @cached_property
    def expression(self) -> KeywordExpression | None:
        return parse(self.keywords) if self.keywords and self.keywords.strip() else None

    def matches(self, post: PostClassified, *, ignore: frozenset[str] = frozenset()) -> bool:
        if self.topic is not None and "topic" not in ignore and post.topic not in self.topic:
            return False
        if self.sentiment is not None and "sentiment" not in ignore and post.sentiment not in self.sentiment:
            return False
        if self.risk_level is not None and severity_rank(post.risk.level) < severity_rank(self.risk_level):
            return False
        if self.region is not None and not any(_under(post.region, r) for r in self.region):
            return False
        if self.source is not None and post.source.id not in self.source:
            return False
        if self.scheme is not None and not set(self.scheme) & set(post.schemes):
            return False
        expr = self.expression
        return expr is None or expr.matches_text(normalise(f"{post.title}\n{post.content}"))

    def matched_keywords(self, post: PostClassified) -> list[str]:
        expr = self.expression
        return expr.matched_terms(normalise(f"{post.title}\n{post.content}")) if expr else []


def _under(region: str | None, prefix: str) -> bool:
    """``彭泽县/芙蓉墩镇/芙蓉村`` is under ``彭泽县`` and ``彭泽县/芙蓉墩镇``, not under ``彭泽``."""
    if not region:
        return False
    prefix = prefix.strip("/")
    return region == prefix or region.startswith(prefix + "/")

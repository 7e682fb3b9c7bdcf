"""Plain data the rules, the engine and the renderer share.

``PostRef.ts`` is epoch seconds: the rules' windows count in them (per post, the hot path) and
store them so. Alerts leave the store as aware datetimes (``alerts.store``); ``yuqing.timeutil.from_epoch`` converts."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from yuqing.events import RISK_LEVELS, PostClassified

# Labels an alert can be grouped, routed, silenced and inhibited by.
GROUP_KEYS = ("event_id", "topic", "region", "source", "sentiment", "risk_level")


def severity_rank(level: str | None) -> int:
    """低 0 < 中 1 < 高 2 < 重大 3; unknown -1."""
    return RISK_LEVELS.index(level) if level in RISK_LEVELS else -1


def max_severity(*levels: str | None) -> str:
    known = [lv for lv in levels if lv in RISK_LEVELS]
    return max(known, key=severity_rank) if known else "低"


@dataclass(frozen=True)
class PostRef:
    """What an alert keeps of a post: enough to show it and count it, not the whole text."""

    id: str
    ts: float  # published_at, epoch seconds
    title: str
    url: str | None
    risk_score: int
    risk_level: str
    negative: bool
    reasons: tuple[str, ...] = ()
    topic: str = ""
    region: str | None = None
    source: str = ""
    event_id: str = ""

    @classmethod
    def of(cls, post: PostClassified) -> PostRef:
        title = post.title or post.content[:40]
        return cls(
            id=post.id,
            ts=post.published_at.timestamp(),
            title=title[:120],
            url=post.url,
            risk_score=post.risk.score,
            risk_level=post.risk.level,
            negative=post.sentiment == "negative",
            reasons=tuple(post.risk.reasons),
            topic=post.topic,
            region=post.region,
            source=post.source.id,
            event_id=post.event_id,
        )

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["reasons"] = list(self.reasons)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> PostRef:
        return cls(**{**d, "reasons": tuple(d.get("reasons", ()))})

    def label(self, key: str) -> str | None:
        if key == "risk_level":
            return self.risk_level
        if key == "sentiment":
            return "negative" if self.negative else "non-negative"
        return getattr(self, key, None)


GroupKey = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Hit:
    """A rule's condition holds for one group: the engine turns it into (or adds it to) an alert."""

    rule: str
    group: GroupKey
    posts: tuple[PostRef, ...]  # posts to attach to the alert (the engine ignores ones it has)
    metric: str  # the condition in words, e.g. "1 小时内 6 条（阈值 5 条）"
    count: int = 0
    extra_reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Clear:
    """A stateful rule's condition no longer holds (e.g. a silent source posts again)."""

    rule: str
    group: GroupKey
    reason: str

"""Typed, versioned events that travel on the bus. Documented in docs/events.md.

Every event is JSON with ``type`` and ``schema_version``. Readers accept any
``schema_version`` up to their own and reject newer ones as poison (they cannot know the shape).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from yuqing.errors import PoisonMessage
from yuqing.timeutil import TZ, now

SCHEMA_VERSION = 2  # 2: post.classified.schemes

TOPICS = ("房地产金融", "工资拖欠", "环境污染和生态破坏", "食品药品安全", "教育医疗养老", "安全生产", "困难群众生活", "其他")
SENTIMENTS = ("negative", "neutral", "positive")
RISK_LEVELS = ("低", "中", "高", "重大")

Topic = Literal["房地产金融", "工资拖欠", "环境污染和生态破坏", "食品药品安全", "教育医疗养老", "安全生产", "困难群众生活", "其他"]
Sentiment = Literal["negative", "neutral", "positive"]
RiskLevel = Literal["低", "中", "高", "重大"]

# Bus topic names.
POSTS_RAW = "posts.raw"
POSTS_CLASSIFIED = "posts.classified"


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = SCHEMA_VERSION

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, v: int) -> int:
        if v > SCHEMA_VERSION or v < 1:
            raise ValueError(f"unsupported schema_version {v} (this reader knows up to {SCHEMA_VERSION})")
        return v

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode("utf-8")


def _shanghai(v: datetime) -> datetime:
    return v.astimezone(TZ)


class Source(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str
    kind: str
    name: str


class Reply(BaseModel):
    """An official reply captured with a post (留言板, 12345)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    content: str
    organization: str | None = None
    replied_at: AwareDatetime | None = None


class PostCollected(_Event):
    type: Literal["post.collected"] = "post.collected"
    id: str = Field(min_length=1, description="source id + native id, or normalised URL hash")
    title: str = ""
    content: str = ""
    url: str | None = None
    author: str | None = None
    published_at: AwareDatetime
    collected_at: AwareDatetime = Field(default_factory=now)
    source: Source
    reply: Reply | None = None
    raw: dict[str, Any] = Field(default_factory=dict, description="source-specific metadata, kept as is")

    _tz = field_validator("published_at", "collected_at")(_shanghai)

    @property
    def text(self) -> str:
        return f"{self.title}\n{self.content}" if self.title else self.content


class Risk(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    score: int = Field(ge=0, le=100)
    level: RiskLevel
    reasons: list[str] = Field(default_factory=list)


class PostClassified(_Event):
    type: Literal["post.classified"] = "post.classified"  # type: ignore[assignment]
    id: str
    title: str = ""
    content: str = ""
    url: str | None = None
    author: str | None = None
    published_at: AwareDatetime
    collected_at: AwareDatetime
    classified_at: AwareDatetime = Field(default_factory=now)
    source: Source
    reply: Reply | None = None
    raw: dict[str, Any] = Field(default_factory=dict)
    tokens: list[str] = Field(default_factory=list, description="jieba tokens of title + content")
    keywords: list[str] = Field(default_factory=list)
    topic: Topic
    topic_confidence: float = Field(default=1.0, ge=0, le=1)
    sentiment: Sentiment
    sentiment_score: float = Field(default=0.5, ge=0, le=1, description="probability of negative")
    risk: Risk
    event_id: str
    event_keys: list[str] = Field(default_factory=list, description="lookup keys of the event clusterer (MinHash bands, names)")
    region: str | None = None
    schemes: list[str] = Field(default_factory=list, description="names of the 监测方案 the post matches (schema_version 2)")

    _tz = field_validator("published_at", "collected_at", "classified_at")(_shanghai)

    @classmethod
    def from_collected(cls, post: PostCollected, **analysis: Any) -> PostClassified:
        """The classified post: ``post``'s fields (validated when it was made) and the analysis.
        Validation runs over the analysis only (topic, sentiment, bounds, risk); the post's own
        fields, its ~500 tokens and the event keys are taken as they are (the tokens and keys come
        from our own code), which saves a fifth of the cost of a small classify step."""
        trusted = {k: analysis.pop(k) for k in ("tokens", "keywords", "event_keys") if k in analysis}
        checked = _Analysis.model_validate(analysis)
        fields = {k: v for k, v in post.__dict__.items() if k not in ("type", "schema_version")}
        fields["raw"] = dict(post.raw)
        fields["classified_at"] = now()  # given, so pydantic need not inspect the default factory per post
        return cls.model_construct(**fields, **trusted, **dict(checked))


class _Analysis(BaseModel):
    """The fields ``PostClassified.from_collected`` validates: the analysis, not the post."""

    model_config = ConfigDict(extra="forbid")
    topic: Topic
    topic_confidence: float = Field(default=1.0, ge=0, le=1)
    sentiment: Sentiment
    sentiment_score: float = Field(default=0.5, ge=0, le=1)
    risk: Risk
    event_id: str
    region: str | None = None
    schemes: list[str] = Field(default_factory=list)


_EVENT_TYPES: dict[str, type[_Event]] = {
    "post.collected": PostCollected,
    "post.classified": PostClassified,
}


def decode(data: bytes, expect: type[_Event] | None = None) -> Any:
    """Decode an event from bus bytes; anything undecodable raises PoisonMessage with the reason."""
    try:
        obj = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PoisonMessage(f"not JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise PoisonMessage(f"not a JSON object: {type(obj).__name__}")
    kind = obj.get("type")
    cls = _EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise PoisonMessage(f"unknown event type {kind!r}")
    if expect is not None and cls is not expect:
        raise PoisonMessage(f"expected {expect.model_fields['type'].default}, got {kind}")
    try:
        return cls.model_validate(obj)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise PoisonMessage(f"invalid {kind}: {loc}: {first['msg']}") from exc

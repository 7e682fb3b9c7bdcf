"""Source configuration. Each kind's module defines a subclass of KindConfig with its own
fields (``extra="forbid"``); ``validate_sources`` converts and checks every entry at load time,
so a typo in ``sources:`` fails at start-up naming the file and the key (``sources.2.fields.title``)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from yuqing.errors import ConfigError


class SettingError(ValueError):
    """Raised by a kind's validators for a key inside a mapping (``fields.title``), so the
    ConfigError names the exact key and not just the mapping."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(f"{key}: {message}")


class SourceConfig(BaseModel):
    """Fields every source has. Kind-specific fields are validated by the kind's Config."""

    model_config = ConfigDict(frozen=True, extra="allow")

    id: str = Field(description="stable slug; part of every post id, never change it")
    kind: str
    name: str = ""
    enabled: bool = True
    interval: float = Field(300.0, gt=0, description="seconds between fetches")
    jitter: float = Field(0.1, ge=0, le=1, description="random extra delay, as a share of interval")
    max_chars: int = Field(50_000, ge=100, description="longer post texts are cut to this many characters")
    flatline_hours: float | None = Field(
        None, gt=0, description="flag the source when it published nothing new for this long; null = learn from its history"
    )

    @field_validator("id")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,63}", v):
            raise ValueError("must be a lower-case slug: a-z, 0-9, '_', '-', '.'")
        return v

    @property
    def display_name(self) -> str:
        return self.name or self.id


class KindConfig(SourceConfig):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HttpConfig(KindConfig):
    """Fields of every kind that talks HTTP (see ``collectors.http``)."""

    timeout: float = Field(20.0, gt=0, description="seconds per request")
    retries: int = Field(2, ge=0, le=10, description="extra attempts after a transport error, 429 or 5xx")
    backoff: float = Field(1.0, ge=0, description="first retry pause in seconds; doubles each attempt")
    deadline: float = Field(120.0, gt=0, description="seconds for a whole fetch, retries and their pauses included")
    max_bytes: int = Field(20 * 1024 * 1024, ge=1024, description="larger responses are abandoned")
    user_agent: str = "Mozilla/5.0 (compatible; yuqing/0.1; public-opinion monitoring)"
    headers: dict[str, str] = Field(default_factory=dict, description="extra request headers (Cookie, Referer)")
    encoding: str | None = Field(None, description="force a charset; null = detect (see collectors.charset)")

    def http_options(self) -> Any:
        from collectors.http import HttpOptions

        return HttpOptions(self.timeout, self.retries, self.backoff, self.max_bytes, self.user_agent, self.headers, self.deadline)


def validate_sources(sources: list[SourceConfig], file: str) -> None:
    """Check each source against its kind's Config; ids must be unique."""
    from collectors.registry import collector_class

    seen: set[str] = set()
    for i, src in enumerate(sources):
        if src.id in seen:
            raise ConfigError(f"duplicate source id {src.id!r}", file=file, key=f"sources.{i}.id")
        seen.add(src.id)
        try:
            cls = collector_class(src.kind)
        except KeyError as exc:
            raise ConfigError(str(exc.args[0]), file=file, key=f"sources.{i}.kind") from exc
        try:
            cls.Config.model_validate(src.model_dump())
        except ValidationError as exc:
            err = exc.errors()[0]
            parts = [str(p) for p in err["loc"]]
            cause = (err.get("ctx") or {}).get("error")
            if isinstance(cause, SettingError):
                parts.append(cause.key)
            loc = ".".join(parts)
            msg = "unknown setting" if err["type"] == "extra_forbidden" else err["msg"]
            key = f"sources.{i}.{loc}" if loc else f"sources.{i}"
            raise ConfigError(f"{msg} (source {src.id}, kind {src.kind})", file=file, key=key) from exc


def typed(src: SourceConfig) -> Any:
    from collectors.registry import collector_class

    return collector_class(src.kind).Config.model_validate(src.model_dump())

"""Source configuration. Each kind's module defines a subclass of SourceConfig with its own
fields (``extra="forbid"``); ``validate_sources`` converts and checks every entry at load time."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from yuqing.errors import ConfigError


class SourceConfig(BaseModel):
    """Fields every source has. Kind-specific fields are validated by the kind's Config."""

    model_config = ConfigDict(frozen=True, extra="allow")

    id: str = Field(description="stable slug; part of every post id, never change it")
    kind: str
    name: str = ""
    enabled: bool = True
    interval: float = Field(300.0, gt=0, description="seconds between fetches")
    jitter: float = Field(0.1, ge=0, le=1, description="random extra delay, as a share of interval")

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
            loc = ".".join(str(p) for p in err["loc"])
            msg = "unknown setting" if err["type"] == "extra_forbidden" else err["msg"]
            raise ConfigError(f"{msg} (source {src.id}, kind {src.kind})", file=file, key=f"sources.{i}.{loc}") from exc


def typed(src: SourceConfig) -> Any:
    from collectors.registry import collector_class

    return collector_class(src.kind).Config.model_validate(src.model_dump())

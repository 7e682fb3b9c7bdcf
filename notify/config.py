"""The ``notify:`` settings: the channels, configured once by name, and how a delivery is retried."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from yuqing.duration import Duration


class RetryConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    attempts: int = Field(default=4, ge=1, le=20, description="delivery attempts per channel, the first included")
    backoff: Duration = Field(default=timedelta(seconds=2), description="wait before the second attempt; doubles each time")
    max_backoff: Duration = timedelta(minutes=5)


class NotifyConfig(BaseModel):
    """The ``notify:`` section: every channel once, by name, and how deliveries are retried. The
    alerts (``alerts.notifiers``), the ledger (``ledger.notifiers``, ``ledger.unit_channels``)
    and the briefings (``ledger.briefing.recipients``) name the channels they use."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channels: list[dict[str, Any]] = Field(
        default_factory=list, description="channels, each with a unique name; the inbox channel `inbox` is always there"
    )
    retry: RetryConfig = RetryConfig()

    @field_validator("channels")
    @classmethod
    def _valid(cls, v: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from notify.registry import parse_notifier_config

        names: list[str] = []
        for i, raw in enumerate(v):
            try:
                names.append(parse_notifier_config(raw).name)
            except ValueError as exc:
                raise ValueError(f"channels[{i}]: {exc}") from exc
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"duplicate channel name {dup[0]!r} (give each channel its own name)")
        return v


class ChannelNameError(ValueError):
    """A part names a channel that ``notify.channels`` does not have; ``key`` says where."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


BUILTIN_CHANNELS: dict[str, dict[str, Any]] = {"inbox": {"name": "inbox", "type": "inbox"}}

Warn = Callable[[str, str], None]


def channel_table(raw: Any, where: str) -> dict[str, dict[str, Any]]:
    """``notify.channels`` (raw, before validation) by name, the built-in inbox included."""
    out = dict(BUILTIN_CHANNELS)
    if raw is None:
        return out
    if not isinstance(raw, list):
        raise ChannelNameError(where, "a list of channels")
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ChannelNameError(f"{where}[{i}]", "a channel is a mapping with a name and a type")
        name = item.get("name") or item.get("type")
        if isinstance(name, str):
            out[name] = item
    return out


def by_name(items: Any, channels: dict[str, dict[str, Any]], key: str, warn: Warn) -> Any:
    """A list of channels as a part's settings give it: each item a channel's name in
    ``notify.channels`` (the form to use) or, as before, a whole channel configuration in place
    (still read, with a warning naming the new key). Names become the channels' configurations."""
    if not isinstance(items, list):
        return items  # the part's own validation names the error
    out: list[Any] = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            if item not in channels:
                known = ", ".join(sorted(channels))
                raise ChannelNameError(f"{key}[{i}]", f"no channel named {item!r} in notify.channels (known: {known})")
            out.append(channels[item])
        else:
            if isinstance(item, dict):
                warn(f"{key}[{i}]", "notify.channels")
            out.append(item)
    return out

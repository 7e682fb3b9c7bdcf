"""The notifier interface every channel implements, and what it sends.

Used by the alert engine and by the ledger (deadline reminders, escalations), so it knows
nothing about rules or cases: a Notification is a rendered message.

A channel module defines a ``Config`` (a ``NotifierConfig`` subclass whose ``type`` is a
``Literal`` of its short name) and a ``Notifier`` subclass taking ``(config, context)``; the
registry (``notify.registry``) finds it by short name or dotted path.
"""

from __future__ import annotations

import builtins
import os
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, model_validator

_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def _secret_from_env(value: Any) -> Any:
    """``${NAME}`` reads the secret from the environment, so settings files need not hold it."""
    if isinstance(value, str):
        m = _ENV_REF.match(value.strip())
        if m:
            if m.group(1) not in os.environ:
                raise ValueError(f"environment variable {m.group(1)} is not set")
            return os.environ[m.group(1)]
    return value


Secret = Annotated[SecretStr, BeforeValidator(_secret_from_env)]


@dataclass(frozen=True)
class Notification:
    title: str  # short, Chinese; email subject / card title
    text: str  # plain text body
    markdown: str | None = None  # for 钉钉/企业微信/飞书 markdown messages
    html: str | None = None  # for email
    url: str | None = None  # link to the event / case in the web UI
    severity: str = "中"  # 低 / 中 / 高 / 重大
    key: str = ""  # idempotency key (alert id + repeat number), recorded with each attempt
    data: dict[str, Any] = field(default_factory=dict)  # structured payload for webhooks and the inbox
    attachments: list[str] = field(default_factory=list)  # file paths; email attaches them, other channels ignore them


@dataclass(frozen=True)
class DeliveryResult:
    ok: bool
    status: str  # HTTP status / SMTP reply / error text
    retryable: bool = True


class NotifierConfig(BaseModel):
    """Fields every channel has. ``name`` defaults to the type; routes refer to it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(default="", description="routes refer to the channel by this name")
    type: str
    timeout: float = Field(default=10.0, gt=0, le=300, description="seconds per attempt")

    @model_validator(mode="after")
    def _default_name(self) -> NotifierConfig:
        if not self.name:
            object.__setattr__(self, "name", self.type)
        return self

    def secrets(self) -> list[str]:
        """Every secret value of this config, so error texts can be scrubbed of them."""
        out = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr) and value.get_secret_value():
                out.append(value.get_secret_value())
        return out


@dataclass(frozen=True)
class NotifierContext:
    """What a channel may need from the deployment besides its own config."""

    database_url: str | None = None


class Notifier(ABC):
    """One configured channel. ``send`` does one attempt; retries and recording live in the engine."""

    type: ClassVar[str]
    Config: ClassVar[builtins.type[NotifierConfig]] = NotifierConfig

    def __init__(self, config: NotifierConfig | None = None, context: NotifierContext | None = None) -> None:
        self.config = config
        self.context = context or NotifierContext()

    @property
    def name(self) -> str:
        return self.config.name if self.config is not None else self.type

    @abstractmethod
    def send(self, notification: Notification) -> DeliveryResult: ...

    def scrub(self, text: str) -> str:
        """``text`` with every secret of the config replaced by ``***`` (for logs and records)."""
        if self.config is not None:
            for secret in self.config.secrets():
                text = text.replace(secret, "***")
        return text

    def close(self) -> None:  # noqa: B027 - optional hook, most channels hold no connection
        """Release connections; the default has none."""

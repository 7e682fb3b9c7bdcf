"""The notifier interface every channel implements, and what it sends.

Used by the alert engine and by the ledger (deadline reminders, escalations), so it knows
nothing about rules or cases: a Notification is a rendered message.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar


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


@dataclass(frozen=True)
class DeliveryResult:
    ok: bool
    status: str  # HTTP status / SMTP reply / error text
    retryable: bool = True


class Notifier(ABC):
    """One configured channel. ``send`` does one attempt; retries and recording live in the engine."""

    type: ClassVar[str]

    @abstractmethod
    def send(self, notification: Notification) -> DeliveryResult: ...

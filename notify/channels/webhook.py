"""Generic webhook: the notification as JSON, signed with HMAC-SHA256 when a secret is set.

Headers: ``X-Yuqing-Timestamp`` (Unix seconds), ``X-Yuqing-Delivery`` (the notification key,
for idempotent receivers) and ``X-Yuqing-Signature: sha256=<hex>`` where the hex digest is
``HMAC-SHA256(key=secret, msg=f"{timestamp}.{raw body}")``. Signing the timestamp with the body
lets a receiver reject replays (docs/alerts.md shows a verifier).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any, Literal

from pydantic import Field

from notify.base import DeliveryResult, Notification, Notifier, NotifierConfig, NotifierContext, Secret
from notify.channels._http import JsonPoster

SIGNATURE_HEADER = "X-Yuqing-Signature"
TIMESTAMP_HEADER = "X-Yuqing-Timestamp"
DELIVERY_HEADER = "X-Yuqing-Delivery"


class WebhookConfig(NotifierConfig):
    type: Literal["webhook"] = "webhook"
    url: Secret = Field(description="receiver URL (a secret: it may carry a token)")
    secret: Secret | None = Field(default=None, description="HMAC key for the signature header")
    headers: dict[str, str] = Field(default_factory=dict, description="extra request headers")


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def body_of(n: Notification) -> dict[str, Any]:
    return {
        "type": "yuqing.notification",
        "key": n.key,
        "title": n.title,
        "severity": n.severity,
        "text": n.text,
        "url": n.url,
        "data": n.data,
    }


class WebhookNotifier(Notifier):
    type = "webhook"
    Config = WebhookConfig

    def __init__(self, config: WebhookConfig, context: NotifierContext | None = None, *, clock_s: Any = None) -> None:
        super().__init__(config, context)
        self.cfg = config
        self._clock_s = clock_s or (lambda: int(time.time()))
        self._http = JsonPoster(config.timeout)

    def request(self, n: Notification) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(body_of(n), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        ts = str(self._clock_s())
        headers = {**self.cfg.headers, TIMESTAMP_HEADER: ts, DELIVERY_HEADER: n.key}
        if self.cfg.secret is not None:
            headers[SIGNATURE_HEADER] = signature(self.cfg.secret.get_secret_value(), ts, body)
        return body, headers

    def send(self, notification: Notification) -> DeliveryResult:
        body, headers = self.request(notification)
        resp, failure = self._http.post_bytes(self.cfg.url.get_secret_value(), body, headers)
        if failure is not None:
            return DeliveryResult(False, self.scrub(failure.status), failure.retryable)
        assert resp is not None
        return DeliveryResult(True, f"HTTP {resp.status_code}")

    def close(self) -> None:
        self._http.close()

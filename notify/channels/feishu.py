"""飞书 custom bot: an interactive card to ``.../open-apis/bot/v2/hook/TOKEN``, optionally signed.

Signing as Feishu verifies it: ``sign = base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}",
msg=b""))`` with ``timestamp`` in seconds; both go in the JSON body. The bot answers
``{"code": 0, "msg": "success"}`` (older deployments: ``{"StatusCode": 0, ...}``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any, Literal

from pydantic import Field

from notify.base import DeliveryResult, Notification, Notifier, NotifierConfig, NotifierContext, Secret
from notify.channels._http import JsonPoster, json_body

# 11232: frequency limited; 9499: too many requests.
_RETRYABLE_CODES = {11232, 9499}
_TEMPLATE_BY_SEVERITY = {"重大": "red", "高": "orange", "中": "yellow", "低": "blue"}


class FeishuConfig(NotifierConfig):
    type: Literal["feishu"] = "feishu"
    url: Secret = Field(description="bot webhook URL with its token (a secret)")
    secret: Secret | None = Field(default=None, description="the bot's 签名校验 secret")


def sign(secret: str, timestamp_s: int) -> str:
    string_to_sign = f"{timestamp_s}\n{secret}"
    digest = hmac.new(string_to_sign.encode("utf-8"), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class FeishuNotifier(Notifier):
    type = "feishu"
    Config = FeishuConfig

    def __init__(self, config: FeishuConfig, context: NotifierContext | None = None, *, clock_s: Any = None) -> None:
        super().__init__(config, context)
        self.cfg = config
        self._clock_s = clock_s or (lambda: int(time.time()))
        self._http = JsonPoster(config.timeout)

    def card(self, n: Notification) -> dict[str, Any]:
        elements: list[dict[str, Any]] = [{"tag": "markdown", "content": n.markdown or n.text}]
        if n.url:
            elements.append(
                {
                    "tag": "action",
                    "actions": [{"tag": "button", "text": {"tag": "plain_text", "content": "查看详情"}, "url": n.url, "type": "primary"}],
                }
            )
        return {
            "config": {"wide_screen_mode": True},
            "header": {"title": {"tag": "plain_text", "content": n.title}, "template": _TEMPLATE_BY_SEVERITY.get(n.severity, "blue")},
            "elements": elements,
        }

    def payload(self, n: Notification) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.cfg.secret is not None:
            ts = self._clock_s()
            body = {"timestamp": str(ts), "sign": sign(self.cfg.secret.get_secret_value(), ts)}
        return {**body, "msg_type": "interactive", "card": self.card(n)}

    def send(self, notification: Notification) -> DeliveryResult:
        resp, failure = self._http.post(self.cfg.url.get_secret_value(), self.payload(notification))
        if failure is not None:
            return DeliveryResult(False, self.scrub(failure.status), failure.retryable)
        assert resp is not None
        body = json_body(resp)
        code = body.get("code", body.get("StatusCode", 0))
        if code == 0:
            return DeliveryResult(True, f"HTTP {resp.status_code} code 0")
        return DeliveryResult(
            False, f"code {code}: {body.get('msg', body.get('StatusMessage', ''))}"[:300], retryable=code in _RETRYABLE_CODES
        )

    def close(self) -> None:
        self._http.close()

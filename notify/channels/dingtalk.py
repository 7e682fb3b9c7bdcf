"""钉钉 custom robot: markdown message to the robot's webhook, optionally signed ("加签").

Signing as DingTalk verifies it: ``sign = urlencode(base64(HMAC-SHA256(key=secret,
msg=f"{timestamp}\\n{secret}")))`` with ``timestamp`` in milliseconds, appended to the webhook
URL as ``&timestamp=...&sign=...``. The robot answers ``{"errcode": 0, "errmsg": "ok"}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
from typing import Any, Literal

from pydantic import Field

from notify.base import DeliveryResult, Notification, Notifier, NotifierConfig, NotifierContext, Secret
from notify.channels._http import JsonPoster, errcode_result

# 130101: sending too fast (20 messages a minute per robot): try again later.
_RETRYABLE_ERRCODES = {130101, -1}


class DingTalkConfig(NotifierConfig):
    type: Literal["dingtalk"] = "dingtalk"
    url: Secret = Field(description="robot webhook URL with its access_token (a secret)")
    secret: Secret | None = Field(default=None, description="the robot's 加签 secret (SEC...)")
    at_mobiles: list[str] = Field(default_factory=list, description="mobile numbers to @")
    at_all: bool = False


def sign(secret: str, timestamp_ms: int) -> str:
    string_to_sign = f"{timestamp_ms}\n{secret}"
    digest = hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest).decode("ascii"))


class DingTalkNotifier(Notifier):
    type = "dingtalk"
    Config = DingTalkConfig

    def __init__(self, config: DingTalkConfig, context: NotifierContext | None = None, *, clock_ms: Any = None) -> None:
        super().__init__(config, context)
        self.cfg = config
        self._clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self._http = JsonPoster(config.timeout)

    def payload(self, n: Notification) -> dict[str, Any]:
        text = n.markdown or n.text
        if self.cfg.at_mobiles:
            # DingTalk only notifies the @-ed people whose numbers also appear in the text.
            text += "\n\n" + " ".join(f"@{m}" for m in self.cfg.at_mobiles)
        return {
            "msgtype": "markdown",
            "markdown": {"title": n.title, "text": text},
            "at": {"atMobiles": list(self.cfg.at_mobiles), "isAtAll": self.cfg.at_all},
        }

    def target(self) -> str:
        url = self.cfg.url.get_secret_value()
        if self.cfg.secret is None:
            return url
        ts = self._clock_ms()
        sep = "&" if "?" in url else "?"
        return f"{url}{sep}timestamp={ts}&sign={sign(self.cfg.secret.get_secret_value(), ts)}"

    def send(self, notification: Notification) -> DeliveryResult:
        resp, failure = self._http.post(self.target(), self.payload(notification))
        if failure is not None:
            return DeliveryResult(False, self.scrub(failure.status), failure.retryable)
        assert resp is not None
        return errcode_result(resp, _RETRYABLE_ERRCODES)

    def close(self) -> None:
        self._http.close()

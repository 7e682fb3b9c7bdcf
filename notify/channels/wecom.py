"""企业微信 group robot: markdown message to ``.../cgi-bin/webhook/send?key=KEY``.

The robot answers ``{"errcode": 0, "errmsg": "ok"}``; markdown content is limited to 4096 bytes,
so longer bodies are cut at a character boundary with a note.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from notify.base import DeliveryResult, Notification, Notifier, NotifierConfig, NotifierContext, Secret
from notify.channels._http import JsonPoster, errcode_result

MAX_BYTES = 4096
# 45009: API frequency limit; -1: system busy.
_RETRYABLE_ERRCODES = {45009, -1}


class WeComConfig(NotifierConfig):
    type: Literal["wecom"] = "wecom"
    url: Secret = Field(description="robot webhook URL with its key (a secret)")
    mentioned_mobiles: list[str] = Field(default_factory=list, description="mobile numbers to remind (<@mobile> in markdown)")


def _fit(text: str, limit: int = MAX_BYTES) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    note = "\n\n（内容过长，已截断）"
    cut = data[: limit - len(note.encode("utf-8"))].decode("utf-8", errors="ignore")
    return cut + note


class WeComNotifier(Notifier):
    type = "wecom"
    Config = WeComConfig

    def __init__(self, config: WeComConfig, context: NotifierContext | None = None) -> None:
        super().__init__(config, context)
        self.cfg = config
        self._http = JsonPoster(config.timeout)

    def payload(self, n: Notification) -> dict[str, Any]:
        content = f"**{n.title}**\n{n.markdown or n.text}"
        if self.cfg.mentioned_mobiles:
            content += "\n" + " ".join(f"<@{m}>" for m in self.cfg.mentioned_mobiles)
        return {"msgtype": "markdown", "markdown": {"content": _fit(content)}}

    def send(self, notification: Notification) -> DeliveryResult:
        resp, failure = self._http.post(self.cfg.url.get_secret_value(), self.payload(notification))
        if failure is not None:
            return DeliveryResult(False, self.scrub(failure.status), failure.retryable)
        assert resp is not None
        return errcode_result(resp, _RETRYABLE_ERRCODES)

    def close(self) -> None:
        self._http.close()

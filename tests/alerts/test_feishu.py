from __future__ import annotations

import base64
import hashlib
import hmac
import time

from notify.base import Notification
from notify.channels.feishu import FeishuConfig, FeishuNotifier
from notify.registry import make_notifier
from tests.alerts.conftest import Receiver

N = Notification(
    title="【重大】高风险新事件：化工厂爆炸",
    text="纯文本",
    markdown="**条件**：新事件",
    url="http://ui/events/ev-9",
    severity="重大",
    key="al-3:1",
)


def feishu_expected_sign(secret: str, timestamp: str) -> str:
    """Feishu's documented check: HMAC-SHA256 keyed with "timestamp\\nsecret" over an empty message."""
    mac = hmac.new(f"{timestamp}\n{secret}".encode(), b"", digestmod=hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def test_signed_card_payload(receiver: Receiver) -> None:
    secret = "feishu-secret-1"
    notifier = make_notifier({"type": "feishu", "url": f"{receiver.url}/open-apis/bot/v2/hook/abc", "secret": secret})
    receiver.default = (200, b'{"code":0,"msg":"success","data":{}}')
    result = notifier.send(N)
    assert result.ok and result.status == "HTTP 200 code 0"
    [req] = receiver.requests
    body = req.json()
    ts = body.pop("timestamp")
    assert abs(int(ts) - time.time()) < 60
    assert body.pop("sign") == feishu_expected_sign(secret, ts)
    assert body == {
        "msg_type": "interactive",
        "card": {
            "config": {"wide_screen_mode": True},
            "header": {"title": {"tag": "plain_text", "content": N.title}, "template": "red"},
            "elements": [
                {"tag": "markdown", "content": "**条件**：新事件"},
                {
                    "tag": "action",
                    "actions": [
                        {
                            "tag": "button",
                            "text": {"tag": "plain_text", "content": "查看详情"},
                            "url": "http://ui/events/ev-9",
                            "type": "primary",
                        }
                    ],
                },
            ],
        },
    }


def test_fixed_clock_and_unsigned(receiver: Receiver) -> None:
    signed = FeishuNotifier(FeishuConfig(url=f"{receiver.url}/hook/a", secret="s"), clock_s=lambda: 1700000000)  # type: ignore[arg-type]
    assert signed.send(Notification(title="t", text="x", severity="低")).ok
    body = receiver.requests[0].json()
    assert (body["timestamp"], body["sign"]) == ("1700000000", feishu_expected_sign("s", "1700000000"))
    assert body["card"]["header"]["template"] == "blue" and len(body["card"]["elements"]) == 1
    plain = make_notifier({"type": "feishu", "url": f"{receiver.url}/hook/b"})
    assert plain.send(Notification(title="t", text="x")).ok
    assert set(receiver.requests[1].json()) == {"msg_type", "card"}


def test_error_codes(receiver: Receiver) -> None:
    notifier = make_notifier({"type": "feishu", "url": f"{receiver.url}/hook/a"})
    receiver.replies = [
        (200, b'{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}'),
        (200, b'{"code":11232,"msg":"frequency limited"}'),
    ]
    r1, r2 = notifier.send(N), notifier.send(N)
    assert (r1.ok, r1.retryable) == (False, False) and r1.status.startswith("code 19021: sign match fail")
    assert (r2.ok, r2.retryable) == (False, True)

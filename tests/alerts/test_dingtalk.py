from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import parse_qs

from notify.base import Notification
from notify.channels.dingtalk import DingTalkConfig, DingTalkNotifier
from notify.registry import make_notifier
from tests.alerts.conftest import Receiver, free_port

N = Notification(
    title="【高】工资拖欠集中反映：某公司拖欠农民工工资等 6 条",
    text="纯文本",
    markdown="### 【高】工资拖欠集中反映\n- **条件**：1 小时内 6 条",
    url="http://127.0.0.1:8600/events/ev-1",
    severity="高",
    key="al-1:1",
)


def dingtalk_expected_sign(secret: str, timestamp: str) -> str:
    """What DingTalk's server computes from the query's timestamp (its documented algorithm)."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(), digestmod=hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def test_signed_markdown_payload(receiver: Receiver) -> None:
    secret = "SEC0123456789abcdef+/="
    notifier = make_notifier(
        {
            "type": "dingtalk",
            "name": "duty",
            "url": f"{receiver.url}/robot/send?access_token=tok123",
            "secret": secret,
            "at_mobiles": ["13800000000"],
        }
    )
    result = notifier.send(N)
    assert result.ok and result.status == "HTTP 200 errcode 0"
    [req] = receiver.requests
    assert req.path == "/robot/send"
    assert req.headers["Content-Type"] == "application/json; charset=utf-8"
    assert req.json() == {
        "msgtype": "markdown",
        "markdown": {"title": N.title, "text": N.markdown + "\n\n@13800000000"},
        "at": {"atMobiles": ["13800000000"], "isAtAll": False},
    }
    query = parse_qs(req.query, strict_parsing=True)
    assert query["access_token"] == ["tok123"]
    [ts], [sign] = query["timestamp"], query["sign"]
    assert abs(int(ts) - time.time() * 1000) < 60_000  # DingTalk rejects timestamps more than an hour off
    assert sign == dingtalk_expected_sign(secret, ts)


def test_fixed_clock_signature_is_url_encoded(receiver: Receiver) -> None:
    secret = "SECabc"
    cfg = DingTalkConfig(url=f"{receiver.url}/robot/send?access_token=t", secret=secret)  # type: ignore[arg-type]
    notifier = DingTalkNotifier(cfg, clock_ms=lambda: 1700000000000)
    assert notifier.send(N).ok
    raw = dict(p.split("=", 1) for p in receiver.requests[0].query.split("&"))
    want = dingtalk_expected_sign(secret, "1700000000000")
    assert raw["sign"] == want.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")


def test_unsigned_robot_gets_plain_url(receiver: Receiver) -> None:
    notifier = make_notifier({"type": "dingtalk", "url": f"{receiver.url}/robot/send?access_token=t"})
    assert notifier.send(Notification(title="t", text="正文")).ok
    assert receiver.requests[0].query == "access_token=t"
    assert receiver.requests[0].json()["markdown"] == {"title": "t", "text": "正文"}


def test_error_codes_and_retryability(receiver: Receiver) -> None:
    notifier = make_notifier({"type": "dingtalk", "url": f"{receiver.url}/robot/send?access_token=t"})
    receiver.replies = [
        (200, b'{"errcode":310000,"errmsg":"sign not match"}'),
        (200, b'{"errcode":130101,"errmsg":"send too fast"}'),
        (502, b"bad gateway"),
    ]
    r1, r2, r3 = (notifier.send(N) for _ in range(3))
    assert (r1.ok, r1.retryable, r1.status) == (False, False, "errcode 310000: sign not match")
    assert (r2.ok, r2.retryable) == (False, True)
    assert (r3.ok, r3.retryable, r3.status) == (False, True, "HTTP 502: bad gateway")


def test_unreachable_robot_is_retryable_and_hides_the_token() -> None:
    notifier = make_notifier(
        {"type": "dingtalk", "url": f"http://127.0.0.1:{free_port()}/robot/send?access_token=SECRET-TOKEN", "timeout": 2}
    )
    result = notifier.send(N)
    assert not result.ok and result.retryable
    assert "SECRET-TOKEN" not in result.status

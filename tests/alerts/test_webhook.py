from __future__ import annotations

import hashlib
import hmac
import json

from notify.base import Notification
from notify.channels.webhook import WebhookConfig, WebhookNotifier
from notify.registry import make_notifier
from tests.alerts.conftest import Receiver

N = Notification(
    title="【高】预警",
    text="正文",
    markdown="md",
    html="<p>x</p>",
    url="http://ui/events/ev-1",
    severity="高",
    key="al-4:2",
    data={"alert_id": "al-4", "post_count": 6, "labels": {"topic": "工资拖欠"}},
)


def test_signed_json_payload(receiver: Receiver) -> None:
    notifier = WebhookNotifier(
        WebhookConfig(url=f"{receiver.url}/hooks/yuqing", secret="whsec", headers={"X-Team": "duty"}),  # type: ignore[arg-type]
        clock_s=lambda: 1700000000,
    )
    receiver.default = (204, b"")
    result = notifier.send(N)
    assert result.ok and result.status == "HTTP 204"
    [req] = receiver.requests
    assert req.path == "/hooks/yuqing"
    assert req.json() == {
        "type": "yuqing.notification",
        "key": "al-4:2",
        "title": "【高】预警",
        "severity": "高",
        "text": "正文",
        "url": "http://ui/events/ev-1",
        "data": {"alert_id": "al-4", "post_count": 6, "labels": {"topic": "工资拖欠"}},
    }
    assert req.headers["X-Team"] == "duty"
    assert req.headers["X-Yuqing-Delivery"] == "al-4:2"
    assert req.headers["X-Yuqing-Timestamp"] == "1700000000"
    # A receiver's check, as docs/alerts.md shows it: HMAC over "timestamp.body" with the raw bytes.
    want = hmac.new(b"whsec", b"1700000000." + req.body, hashlib.sha256).hexdigest()
    assert req.headers["X-Yuqing-Signature"] == f"sha256={want}"


def test_unsigned_and_failures(receiver: Receiver) -> None:
    notifier = make_notifier({"type": "webhook", "url": f"{receiver.url}/h"})
    receiver.replies = [(200, b"ok"), (400, b"bad"), (503, b"later")]
    assert notifier.send(N).ok
    assert "X-Yuqing-Signature" not in receiver.requests[0].headers
    assert json.loads(receiver.requests[0].body)["key"] == "al-4:2"
    bad, later = notifier.send(N), notifier.send(N)
    assert (bad.ok, bad.retryable, bad.status) == (False, False, "HTTP 400: bad")
    assert (later.ok, later.retryable) == (False, True)

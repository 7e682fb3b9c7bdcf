from __future__ import annotations

from notify.base import Notification
from notify.channels.wecom import MAX_BYTES
from notify.registry import make_notifier
from tests.alerts.conftest import Receiver


def test_markdown_payload(receiver: Receiver) -> None:
    notifier = make_notifier({"type": "wecom", "url": f"{receiver.url}/cgi-bin/webhook/send?key=k-1", "mentioned_mobiles": ["13900000000"]})
    n = Notification(title="【中】新事件", text="纯文本", markdown="- **主题**：工资拖欠", key="al-2:1")
    result = notifier.send(n)
    assert result.ok and result.status == "HTTP 200 errcode 0"
    [req] = receiver.requests
    assert (req.path, req.query) == ("/cgi-bin/webhook/send", "key=k-1")
    assert req.json() == {"msgtype": "markdown", "markdown": {"content": "**【中】新事件**\n- **主题**：工资拖欠\n<@13900000000>"}}


def test_long_content_is_cut_to_the_byte_limit(receiver: Receiver) -> None:
    notifier = make_notifier({"type": "wecom", "url": f"{receiver.url}/send?key=k"})
    assert notifier.send(Notification(title="长", text="字" * 3000)).ok
    content = receiver.requests[0].json()["markdown"]["content"]
    assert len(content.encode("utf-8")) <= MAX_BYTES and content.endswith("（内容过长，已截断）")


def test_errcode_is_a_failure(receiver: Receiver) -> None:
    notifier = make_notifier({"type": "wecom", "url": f"{receiver.url}/send?key=k"})
    receiver.replies = [(200, b'{"errcode":93000,"errmsg":"invalid webhook url"}'), (200, b'{"errcode":45009,"errmsg":"freq"}')]
    r1, r2 = notifier.send(Notification(title="t", text="x")), notifier.send(Notification(title="t", text="x"))
    assert (r1.ok, r1.retryable, r1.status) == (False, False, "errcode 93000: invalid webhook url")
    assert (r2.ok, r2.retryable) == (False, True)

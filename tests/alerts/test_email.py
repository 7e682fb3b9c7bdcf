from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from email.header import decode_header, make_header
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from notify.base import Notification
from notify.registry import make_notifier
from tests.alerts.conftest import free_port

N = Notification(
    title="【高】工资拖欠集中反映：某建筑公司拖欠农民工工资等 6 条",
    text="规则：工资拖欠集中反映\n条件：1 小时内 6 条\n",
    html="<h2>【高】工资拖欠集中反映</h2><p>条件：1 小时内 6 条</p>",
    severity="高",
    key="al-5:1",
)


class Recorder:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.reply = "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return self.reply


@pytest.fixture
def smtp() -> Iterator[tuple[Recorder, int]]:
    rec = Recorder()
    port = free_port()
    controller = Controller(rec, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield rec, port
    finally:
        controller.stop()


def test_multipart_message_with_encoded_chinese_subject(smtp: tuple[Recorder, int]) -> None:
    rec, port = smtp
    notifier = make_notifier(
        {
            "type": "email",
            "host": "127.0.0.1",
            "port": port,
            "sender": "yuqing@pengze.gov.example",
            "to": ["duty@pengze.gov.example"],
            "cc": ["lead@pengze.gov.example"],
        }
    )
    result = notifier.send(N)
    assert result.ok and result.status == "250 sent"
    [env] = rec.envelopes
    assert env.mail_from == "yuqing@pengze.gov.example"
    assert env.rcpt_tos == ["duty@pengze.gov.example", "lead@pengze.gov.example"]
    raw: bytes = env.original_content
    raw.decode("ascii")  # 7-bit clean on the wire: every non-ASCII header and body is encoded
    headers = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    subject_raw = headers.split("Subject: ", 1)[1].split("\r\nFrom:", 1)[0]
    assert subject_raw.lower().startswith("=?utf-8?")  # RFC 2047 encoded word(s), possibly folded
    assert str(make_header(decode_header(subject_raw))) == N.title
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Subject"] == N.title
    assert str(msg["From"]) == "舆情预警 <yuqing@pengze.gov.example>"
    assert msg["X-Yuqing-Key"] == "al-5:1"
    assert msg.get_content_type() == "multipart/alternative"
    text, html = msg.get_payload()  # type: ignore[misc]
    assert (text.get_content_type(), text.get_content_charset()) == ("text/plain", "utf-8")
    assert (html.get_content_type(), html.get_content_charset()) == ("text/html", "utf-8")
    assert text.get_content().replace("\r\n", "\n") == N.text  # CRLF on the wire, as SMTP wants
    assert html.get_content().strip() == N.html


def test_text_only_when_no_html(smtp: tuple[Recorder, int]) -> None:
    rec, port = smtp
    notifier = make_notifier({"type": "email", "host": "127.0.0.1", "port": port, "sender": "a@b.example", "to": ["c@d.example"]})
    assert notifier.send(Notification(title="测试", text="正文")).ok
    msg = email.message_from_bytes(rec.envelopes[0].original_content, policy=email.policy.default)
    assert msg.get_content_type() == "text/plain" and msg.get_content().strip() == "正文"


def test_smtp_refusals(smtp: tuple[Recorder, int]) -> None:
    rec, port = smtp
    notifier = make_notifier({"type": "email", "host": "127.0.0.1", "port": port, "sender": "a@b.example", "to": ["c@d.example"]})
    rec.reply = "451 try again later"
    temp = notifier.send(N)
    assert (temp.ok, temp.retryable, temp.status) == (False, True, "SMTP 451: try again later")
    rec.reply = "554 rejected"
    perm = notifier.send(N)
    assert (perm.ok, perm.retryable, perm.status) == (False, False, "SMTP 554: rejected")


def test_unreachable_server_is_retryable_and_hides_the_password() -> None:
    notifier = make_notifier(
        {
            "type": "email",
            "host": "127.0.0.1",
            "port": free_port(),
            "sender": "a@b.example",
            "to": ["c@d.example"],
            "username": "u",
            "password": "hunter2",
            "timeout": 2,
        }
    )
    result = notifier.send(N)
    assert not result.ok and result.retryable and "hunter2" not in result.status

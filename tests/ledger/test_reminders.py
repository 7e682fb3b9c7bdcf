"""Reminders before the due date and escalation when overdue, delivered by the real ``webhook``
notifier (alerts.notifiers) to a real local HTTP receiver, and recorded once in the database."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ledger.reminders import make_notifiers, run_reminders, sent_reminders
from ledger.schemas import CaseAction
from ledger.states import SYSTEM
from tests.ledger.conftest import Env
from yuqing.timeutil import TZ


class Receiver:
    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append((dict(self.headers), json.loads(body)))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b'{"ok":true}')

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _at(env: Env, when: datetime) -> None:
    env.svc.clock = lambda: when


def test_reminder_then_escalation_each_sent_once(env: Env, receiver: Receiver) -> None:
    notifiers = make_notifiers([{"type": "webhook", "name": "台账通知", "url": receiver.url, "secret": "s3cret"}])
    # Assigned on Friday 2026-09-18 as a consultation: 3 working days -> 9.20 (Sunday, 调休), 9.21, 9.22.
    _at(env, datetime(2026, 9, 18, 10, 0, tzinfo=TZ))
    case = env.case("assigned", case_type="咨询")
    assert case.due_at == datetime(2026, 9, 22, 23, 59, 59, tzinfo=TZ)

    _at(env, datetime(2026, 9, 20, 9, 0, tzinfo=TZ))  # two working days left: nothing yet
    report = run_reminders(env.svc, notifiers)
    assert (report.reminded, report.escalated, receiver.requests) == ([], [], [])

    _at(env, datetime(2026, 9, 21, 9, 0, tzinfo=TZ))  # one working day left: remind the unit
    report = run_reminders(env.svc, notifiers)
    key = f"remind:case:{case.id}:2026-09-22T23:59:59+08:00"
    assert report.reminded == [key] and report.failed == []
    headers, body = receiver.requests[0]
    assert body == {
        "type": "yuqing.notification",
        "key": key,
        "title": f"【到期提醒】{case.number} 将于 09月22日 到期",
        "severity": "中",
        "url": f"http://ledger.test/cases/{case.id}",
        "text": f"县生态环境局：案件「梅峰河段黑臭水体」规定回复时间为 2026年09月22日 23:59，请按时办理回复。\nhttp://ledger.test/cases/{case.id}",
        "data": {
            "case_id": case.id,
            "case_number": case.number,
            "unit": "县生态环境局",
            "due_at": "2026-09-22T23:59:59+08:00",
            "title": "梅峰河段黑臭水体",
            "kind": "remind",
        },
    }
    assert headers["X-Yuqing-Delivery"] == key and headers["X-Yuqing-Signature"].startswith("sha256=")
    assert run_reminders(env.svc, notifiers).reminded == []  # once
    assert len(receiver.requests) == 1

    _at(env, datetime(2026, 9, 23, 9, 0, tzinfo=TZ))  # late: escalate to the office
    report = run_reminders(env.svc, notifiers)
    assert report.escalated == [f"escalate:case:{case.id}:2026-09-22T23:59:59+08:00"]
    assert receiver.requests[1][1]["title"] == f"【超期督办】{case.number} 已超过规定回复时间"
    assert receiver.requests[1][1]["severity"] == "高"
    assert run_reminders(env.svc, notifiers).escalated == []
    rows = sent_reminders(env.svc, case.id)
    assert [(r.kind, r.deliveries) for r in rows] == [
        ("remind", [{"channel": "台账通知", "ok": True, "status": "HTTP 200"}]),
        ("escalate", [{"channel": "台账通知", "ok": True, "status": "HTTP 200"}]),
    ]
    assert [a.event for a in env.svc.audit(SYSTEM, case.id)][-2:] == ["case.reminded", "case.overdue"]
    # The reminders did not make anyone's open form stale.
    assert env.svc.get_case(SYSTEM, case.id).version == case.version
    for n in notifiers:
        n.close()  # type: ignore[attr-defined]


def test_an_approved_extension_moves_the_deadline_and_earns_a_new_reminder(env: Env, receiver: Receiver) -> None:
    notifiers = make_notifiers([{"type": "webhook", "url": receiver.url}])
    _at(env, datetime(2026, 9, 18, 10, 0, tzinfo=TZ))
    case = env.case("assigned", case_type="咨询")  # due 9.22
    a = env.world.actors
    case = env.svc.act(
        a["unit"], case.id, CaseAction(action="request_extension", version=case.version, extension_days=7, note="需现场核查")
    )
    _at(env, datetime(2026, 9, 21, 9, 0, tzinfo=TZ))
    assert len(run_reminders(env.svc, notifiers).reminded) == 1
    case = env.svc.act(a["monitor"], case.id, CaseAction(action="approve_extension", version=case.version))
    # 9.22 + 7 working days, over 中秋 (9.25) and National Day (10.1-10.7): 9.23, 9.24, 9.28, 9.29, 9.30, 10.8, 10.9.
    assert (case.due_at, case.extended_days) == (datetime(2026, 10, 9, 23, 59, 59, tzinfo=TZ), 7)
    _at(env, datetime(2026, 9, 30, 9, 0, tzinfo=TZ))  # the old deadline has passed, the new one is 2 working days away
    assert (run_reminders(env.svc, notifiers).reminded, run_reminders(env.svc, notifiers).escalated) == ([], [])
    _at(env, datetime(2026, 10, 8, 9, 0, tzinfo=TZ))
    report = run_reminders(env.svc, notifiers)
    assert (report.reminded, report.escalated) == ([f"remind:case:{case.id}:2026-10-09T23:59:59+08:00"], [])
    for n in notifiers:
        n.close()  # type: ignore[attr-defined]


def test_overdue_commitments_are_escalated_and_a_dead_channel_is_reported(env: Env) -> None:
    dead = make_notifiers([{"type": "webhook", "url": "http://127.0.0.1:9/nothing-listens", "timeout": 2}])
    case = env.case("fulfilling")
    com = case.commitments[0]
    _at(env, com.due_at + timedelta(days=1))
    report = run_reminders(env.svc, dead)
    key = f"escalate:commitment:{com.id}:{com.due_at.isoformat()}"
    assert report.escalated == [key] and report.failed == [key]
    row = sent_reminders(env.svc, case.id)[0]
    assert row.title == f"【承诺超期】{case.number} 第 1 项承诺未按期落实" and row.deliveries[0]["ok"] is False
    assert env.client("monitor").get("/cases?overdue=1").text.count(f">{case.number}<") == 1
    for n in dead:
        n.close()  # type: ignore[attr-defined]

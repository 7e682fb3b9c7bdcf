"""Issue 11 §3/§4: reminders that reach the case's own units, and briefings recorded, archived and
delivered. Real channels (dingtalk/wecom/webhook to a local HTTP server, email to aiosmtpd), the
real ledger deliveries (alert_deliveries with retries), the real web app in-process."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller

from alerts import db as alerts_db
from app.settings import DatabaseConfig, Settings, StoreConfig
from briefings.model import Period
from briefings.runs import Archive, period_for, run_briefing
from ledger.briefing_config import BriefingConfig
from ledger.channels import LedgerDeliveries
from ledger.config import LedgerConfig
from ledger.reminders import deliver_pending, run_reminders, sent_reminders
from ledger.schemas import CaseAction, NewCase
from notify.config import RetryConfig
from tests.alerts import conftest as alerts_conftest
from tests.alerts.conftest import Receiver, free_port
from tests.ledger.conftest import BASE, Env
from tests.ledger.test_briefing import post
from yuqing.store.sqlite import SqliteStore
from yuqing.timeutil import TZ

receiver = alerts_conftest.receiver  # the local HTTP server standing in for the robots
STHJ, RSJ, ZFB = "县生态环境局", "县人力资源和社会保障局", "县政府办"


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def _channels(url: str) -> LedgerConfig:
    return LedgerConfig(
        base_url=BASE,
        max_upload_bytes=64 * 1024,
        notifiers=[{"type": "webhook", "name": "监测办", "url": f"{url}/office"}],
        unit_channels=[
            {"unit": STHJ, "notifiers": [{"type": "dingtalk", "name": "sthj-robot", "url": f"{url}/robot/sthj?access_token=t1"}]},
            {"unit": RSJ, "notifiers": [{"type": "wecom", "name": "rsj-robot", "url": f"{url}/robot/rsj?key=k2"}]},
        ],
    )


@pytest.fixture
def ledger_deliveries(env: Env, receiver: Receiver, tmp_path: Path) -> Iterator[tuple[LedgerDeliveries, Clock]]:
    cfg = _channels(receiver.url)
    env.svc.config = cfg
    clock = Clock(datetime(2026, 9, 21, 9, 0, tzinfo=TZ))
    url = f"sqlite:///{tmp_path}/alerts.db"  # deliveries of this test only
    box = LedgerDeliveries(cfg, url, RetryConfig(attempts=3, backoff=timedelta(seconds=60)), clock=clock)
    yield box, clock
    box.close()
    alerts_db.dispose(url)


def _paths(rec: Receiver) -> list[str]:
    return [r.path for r in rec.requests]


def test_a_cases_reminder_reaches_its_units_robot_and_no_other(
    env: Env, receiver: Receiver, ledger_deliveries: tuple[LedgerDeliveries, Clock]
) -> None:
    box, clock = ledger_deliveries
    env.svc.clock = lambda: datetime(2026, 9, 18, 10, 0, tzinfo=TZ)
    case = env.case("assigned", case_type="咨询")  # 县生态环境局, due 9.22
    env.svc.clock = clock
    report = run_reminders(env.svc, [], ledger_deliveries=box)
    key = f"remind:case:{case.id}:2026-09-22T23:59:59+08:00"
    assert report.reminded == [key] and report.failed == []
    assert _paths(receiver) == ["/robot/sthj"]  # its own robot; not 人社局's, not the office
    assert receiver.requests[0].query == "access_token=t1"
    assert f"【到期提醒】{case.number}" in receiver.requests[0].body.decode()
    [row] = sent_reminders(env.svc, case.id)
    assert row.deliveries == [{"channel": f"{STHJ} sthj-robot", "ok": True, "status": "已发送（第 1 次）：HTTP 200 errcode 0"}]
    assert run_reminders(env.svc, [], ledger_deliveries=box).reminded == [] and len(receiver.requests) == 1  # once

    clock.at = datetime(2026, 9, 23, 9, 0, tzinfo=TZ)  # overdue: the unit again, the monitoring office copied
    report = run_reminders(env.svc, [], ledger_deliveries=box)
    assert report.escalated == [f"escalate:case:{case.id}:2026-09-22T23:59:59+08:00"]
    assert sorted(_paths(receiver)[1:]) == ["/office", "/robot/sthj"]
    assert "/robot/rsj" not in _paths(receiver)


def test_co_units_hear_too_and_a_unit_without_channels_falls_back_to_the_office(
    env: Env, receiver: Receiver, ledger_deliveries: tuple[LedgerDeliveries, Clock]
) -> None:
    box, clock = ledger_deliveries
    a, u = env.world.actors, env.world.units
    env.svc.clock = lambda: datetime(2026, 9, 18, 10, 0, tzinfo=TZ)
    c = env.svc.create_case(a["monitor"], NewCase(title="龙城镇欠薪", summary="农民工讨薪", source="12345", case_type="咨询"))
    c = env.svc.act(a["monitor"], c.id, CaseAction(action="assign", version=c.version, unit_id=u[ZFB], co_unit_ids=[u[RSJ]]))
    env.svc.clock = clock
    run_reminders(env.svc, [], ledger_deliveries=box)
    # 县政府办 has no channel of its own: the office's channel carries it; 协办 人社局 gets its own robot's copy.
    assert sorted(_paths(receiver)) == ["/office", "/robot/rsj"]
    [row] = sent_reminders(env.svc, c.id)
    assert {d["channel"] for d in row.deliveries if d["ok"]} == {"监测办 监测办", f"{RSJ} rsj-robot"}
    assert {"channel": "—", "ok": False, "status": f"{ZFB}未配置通知渠道（ledger.unit_channels），改发监测办默认渠道"} in row.deliveries


def test_a_failed_reminder_is_retried_and_the_record_follows(
    env: Env, receiver: Receiver, ledger_deliveries: tuple[LedgerDeliveries, Clock]
) -> None:
    box, clock = ledger_deliveries
    env.svc.clock = lambda: datetime(2026, 9, 18, 10, 0, tzinfo=TZ)
    case = env.case("assigned", case_type="咨询")
    env.svc.clock = clock
    receiver.replies = [(502, b"bad gateway")]
    run_reminders(env.svc, [], ledger_deliveries=box)
    [row] = sent_reminders(env.svc, case.id)
    assert row.deliveries[0]["ok"] is None and row.deliveries[0]["status"].startswith("待重试（第 1 次）：HTTP 502")
    assert deliver_pending(env.svc, box) == 0  # not due yet: 60 s backoff
    clock.at += timedelta(seconds=61)
    assert deliver_pending(env.svc, box) == 1
    [row] = sent_reminders(env.svc, case.id)
    assert row.deliveries[0]["ok"] is True and row.deliveries[0]["status"].startswith("已发送（第 2 次）")
    assert _paths(receiver) == ["/robot/sthj", "/robot/sthj"]
    clock.at += timedelta(hours=1)
    assert deliver_pending(env.svc, box) == 0  # sent once: nothing more


def test_two_processes_do_not_send_one_delivery_twice(
    env: Env, receiver: Receiver, ledger_deliveries: tuple[LedgerDeliveries, Clock]
) -> None:
    from notify.base import Notification

    box, clock = ledger_deliveries
    other = LedgerDeliveries(box.config, box.store.url, RetryConfig(), clock=clock)  # a second `yuqing run` on the same database
    try:
        box.enqueue("remind:test:1", "remind", box.of_unit(STHJ), Notification(title="测试", text="测试"))
        [d] = box.store.due_deliveries(clock())
        assert box.deliverer.attempt(d) == "sent"
        assert other.deliverer.attempt(d) == "claimed elsewhere"  # the same row, read before the first sent it
        assert other.run_due() == 0 and len(receiver.requests) == 1
    finally:
        other.close()


def test_bad_unit_channel_settings_are_named() -> None:
    with pytest.raises(ValueError, match=r"unit '县人力资源和社会保障局' is listed twice"):
        LedgerConfig(unit_channels=[{"unit": RSJ, "notifiers": [{"type": "inbox"}]}, {"unit": RSJ, "notifiers": [{"type": "inbox"}]}])
    with pytest.raises(ValueError, match=r"notifiers\[0\]: \(dingtalk\) url: Field required"):
        LedgerConfig(unit_channels=[{"unit": RSJ, "notifiers": [{"type": "dingtalk"}]}])


def test_alert_routes_to_the_unit_of_its_rule_or_topic() -> None:
    from alerts.config import AlertsConfig
    from alerts.routing import resolve_routes

    cfg = AlertsConfig.model_validate(
        {"notifiers": [{"type": "inbox", "name": "值班室"}], "routes": [{"notifiers": ["值班室"], "to_unit": True}]}
    )
    units = {RSJ: [f"unit:{RSJ}:rsj-robot"], STHJ: [f"unit:{STHJ}:sthj-robot"]}
    topics = {"工资拖欠": RSJ, "环境污染和生态破坏": STHJ}
    assert resolve_routes(cfg.routes, {"topic": "工资拖欠"}, "r", "高", unit_channels=units, topic_units=topics)[0] == [
        "值班室",
        f"unit:{RSJ}:rsj-robot",
    ]
    # the rule's own unit wins over its topic's
    got = resolve_routes(cfg.routes, {"topic": "工资拖欠", "unit": STHJ}, "r", "高", unit_channels=units, topic_units=topics)[0]
    assert got == ["值班室", f"unit:{STHJ}:sthj-robot"]
    # a unit without channels: the route's own channel carries it
    assert resolve_routes(cfg.routes, {"topic": "其他"}, "r", "高", unit_channels=units, topic_units={"其他": ZFB})[0] == ["值班室"]


def test_build_service_names_unit_channels_for_the_engine(tmp_path: Path) -> None:
    from alerts.service import build_service

    settings = Settings(
        database=DatabaseConfig(url=f"sqlite:///{tmp_path}/a.db"),
        state_url=f"sqlite:///{tmp_path}/state.db",
        ledger=LedgerConfig(
            unit_channels=[{"unit": RSJ, "notifiers": [{"type": "webhook", "name": "hook", "url": "http://127.0.0.1:9/x"}]}]
        ),
    )
    svc = build_service(settings, rules=[])
    try:
        assert svc.engine.unit_channels == {RSJ: [f"unit:{RSJ}:hook"]} and f"unit:{RSJ}:hook" in svc.notifiers
        assert svc.engine.topic_units["工资拖欠"] == RSJ
    finally:
        svc.close()
        alerts_db.dispose(f"sqlite:///{tmp_path}/a.db")


# -- briefings ---------------------------------------------------------------------------------
class Smtp:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.reply = "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return self.reply

    def messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(e.content, policy=email.policy.default) for e in self.envelopes]  # type: ignore[misc]


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Smtp, int]]:
    rec = Smtp()
    port = free_port()
    controller = Controller(rec, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield rec, port
    finally:
        controller.stop()


def _plain(msg: email.message.EmailMessage) -> str:
    body = msg.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


MONDAY = datetime(2026, 11, 23, 8, 0, tzinfo=TZ)
WEEK = period_for("weekly", MONDAY)


def _store(tmp: Path) -> SqliteStore:
    store = SqliteStore(f"sqlite:///{tmp}/store.db")
    store.write(
        [
            post(WEEK.since + timedelta(days=1, hours=9), "工资拖欠", "negative", event="ev-a", level="高", score=70),
            post(WEEK.since + timedelta(days=2, hours=9), "工资拖欠", "negative", event="ev-a", level="中", score=40),
            post(WEEK.since + timedelta(days=3, hours=9), "其他", "neutral", event="ev-b"),
        ]
    )
    return store


def _briefing_settings(tmp: Path, port: int, *, pdf: bool, timeout: float = 5.0, **extra: Any) -> Settings:
    mail = {
        "type": "email", "name": "领导邮箱", "host": "127.0.0.1", "port": port, "sender": "yq@pengze.gov.example",
        "to": ["leader@pengze.gov.example"], "timeout": timeout,
    }  # fmt: skip
    return Settings(
        store=StoreConfig(url=f"sqlite:///{tmp}/store.db"),
        database=DatabaseConfig(url=f"sqlite:///{tmp}/ledger.db"),
        state_url=f"sqlite:///{tmp}/state.db",
        ledger=LedgerConfig(
            base_url=BASE,
            briefing=BriefingConfig(out_dir=str(tmp / "briefings"), pdf=pdf, recipients=[mail, *extra.pop("recipients", [])], **extra),
        ),
    )


def _archive(settings: Settings, clock: Clock) -> Archive:
    box = LedgerDeliveries(settings.ledger, settings.database.url, RetryConfig(attempts=3, backoff=timedelta(seconds=60)), clock=clock)
    return Archive(settings.database.url, settings.ledger.briefing.out_dir, box, BASE)


@pytest.fixture(scope="module")
def weekly(
    tmp_path_factory: pytest.TempPathFactory, smtp: tuple[Smtp, int]
) -> Iterator[tuple[Any, Archive, list[email.message.EmailMessage]]]:
    """One scheduled 周报 with PDF, run by the job APScheduler holds, emailed to aiosmtpd (made once: LibreOffice is slow)."""
    from apscheduler.schedulers.background import BackgroundScheduler

    from briefings.schedule import schedule

    tmp = tmp_path_factory.mktemp("weekly")
    rec, port = smtp
    store = _store(tmp)
    settings = _briefing_settings(tmp, port, pdf=True, schedules=[{"kind": "weekly", "cron": "0 8 * * mon"}])
    clock = Clock(MONDAY)
    archive = _archive(settings, clock)
    scheduler = BackgroundScheduler(timezone="Asia/Shanghai")
    assert schedule(scheduler, settings, store, ledger_deliveries=archive.ledger_deliveries)
    job = scheduler.get_job("ledger:briefing:weekly")
    assert job.trigger.get_next_fire_time(None, datetime(2026, 11, 19, tzinfo=TZ)) == MONDAY
    before = len(rec.envelopes)
    run = job.func(settings, store, archive, "weekly", MONDAY, **job.kwargs)  # what the scheduler calls on Monday 08:00
    yield run, archive, rec.messages()[before:]
    store.close()
    alerts_db.dispose(settings.database.url)


@pytest.mark.slow
def test_scheduled_weekly_briefing_is_emailed_with_the_pdf_and_recorded(
    weekly: tuple[Any, Archive, list[email.message.EmailMessage]],
) -> None:
    run, archive, sent = weekly
    assert (run.kind, run.period, run.posts, run.status) == ("weekly", WEEK, 3, "delivered")
    stem = "舆情风险研判简报_20261116-20261122"
    assert run.files == [f"{stem}.pdf", f"{stem}.docx"]
    assert run.recipients == [{"channel": "领导邮箱", "who": "邮件 leader@pengze.gov.example"}]
    [msg] = sent  # one message, during the scheduled run
    assert str(msg["Subject"]).startswith("【周报】") and msg["To"] == "leader@pengze.gov.example"
    parts = {p.get_filename(): p for p in msg.iter_attachments()}
    assert set(parts) == {f"{stem}.pdf", f"{stem}.docx"}
    pdf = parts[f"{stem}.pdf"].get_content()
    assert parts[f"{stem}.pdf"].get_content_type() == "application/pdf" and pdf.startswith(b"%PDF-")
    assert pdf == (archive.directory(run.id, "weekly") / f"{stem}.pdf").read_bytes()
    body = _plain(msg)
    assert "统计时段：2026年11月16日至11月22日" in body and f"{BASE}/briefings#run-{run.id}" in body
    [d] = run.deliveries
    assert (d.notifier, d.status, d.attempts) == ("ledger:briefing:领导邮箱", "sent", 1)


def test_smtp_refusal_is_retried_and_visible(tmp_path: Path, smtp: tuple[Smtp, int], receiver: Receiver) -> None:
    rec, port = smtp
    robot = {"type": "feishu", "name": "办公室飞书", "url": f"{receiver.url}/feishu"}
    settings = _briefing_settings(tmp_path, port, pdf=False, recipients=[robot])
    clock = Clock(MONDAY)
    archive = _archive(settings, clock)
    store = _store(tmp_path)
    rec.reply = "451 4.3.0 try again later"
    try:
        run = run_briefing(settings, store, archive, "weekly", WEEK)
    finally:
        rec.reply = "250 OK"
    assert run.status == "retrying"
    by = {d.notifier: d for d in run.deliveries}
    mail = by["ledger:briefing:领导邮箱"]
    assert (mail.status, mail.attempts, mail.last_status) == ("pending", 1, "SMTP 451: 4.3.0 try again later")
    assert by["ledger:briefing:办公室飞书"].status == "sent"  # the robot got its summary with the link
    card = receiver.requests[0].body.decode()
    assert f"{BASE}/briefings#run-{run.id}" in card
    clock.at += timedelta(seconds=61)
    assert archive.ledger_deliveries is not None and archive.ledger_deliveries.run_due() == 1
    [run] = archive.with_deliveries([archive.get(run.id)])  # type: ignore[list-item]
    assert run.status == "delivered" and {d.attempts for d in run.deliveries} == {1, 2}
    assert len(receiver.requests) == 1  # the robot was not sent twice
    store.close()
    alerts_db.dispose(settings.database.url)


def test_smtp_timeout_is_retried(tmp_path: Path) -> None:
    silent = socket.socket()  # accepts connections (backlog) and never greets
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)
    try:
        settings = _briefing_settings(tmp_path, silent.getsockname()[1], pdf=False, timeout=0.5)
        archive = _archive(settings, Clock(MONDAY))
        store = _store(tmp_path)
        run = run_briefing(settings, store, archive, "daily", period_for("daily", MONDAY))
        [d] = run.deliveries
        assert run.status == "retrying" and d.status == "pending" and "timed out" in (d.last_status or "")
        store.close()
    finally:
        silent.close()
        alerts_db.dispose(f"sqlite:///{tmp_path}/ledger.db")


def test_a_period_without_posts_still_makes_and_sends_a_briefing(tmp_path: Path, smtp: tuple[Smtp, int]) -> None:
    rec, port = smtp
    settings = _briefing_settings(tmp_path, port, pdf=False)
    archive = _archive(settings, Clock(MONDAY))
    store = _store(tmp_path)
    before = len(rec.envelopes)
    run = run_briefing(settings, store, archive, "monthly", period_for("monthly", datetime(2026, 3, 1, 8, tzinfo=TZ)))
    assert run.period.label() == "2026年2月1日至2月28日"
    assert (run.posts, run.status, run.note) == (0, "delivered", "本期（2026年2月1日至2月28日）无帖文，简报照常生成并注明")
    [msg] = [m for m in rec.messages()[before:]]
    assert "无帖文" in _plain(msg)
    store.close()
    alerts_db.dispose(settings.database.url)


def test_the_archive_page_and_downloads_follow_authorisation(env: Env, tmp_path: Path, smtp: tuple[Smtp, int]) -> None:
    _, port = smtp
    settings = _briefing_settings(tmp_path, port, pdf=False)
    settings = settings.model_copy(update={"database": DatabaseConfig(url=env.url)})
    archive = _archive(settings, Clock(MONDAY))
    store = _store(tmp_path)
    county = run_briefing(settings, store, archive, "weekly", WEEK)
    for_rsj = run_briefing(settings, store, archive, "monthly", period_for("monthly", MONDAY), units=[RSJ])
    env.app.state.briefings = archive
    try:
        listing = env.client("leader").get("/briefings")
        assert listing.status_code == 200
        for r in (county, for_rsj):
            assert f'id="run-{r.id}"' in listing.text and f"/briefings/{r.id}/files/{quote(r.files[0])}" in listing.text
        assert "已送达" in listing.text and "邮件 leader@pengze.gov.example" in listing.text
        doc = env.client("monitor").get(f"/briefings/{county.id}/files/{county.files[0]}")
        assert doc.status_code == 200 and doc.content == (archive.directory(county.id, "weekly") / county.files[0]).read_bytes()
        assert doc.headers["content-disposition"].startswith("attachment;")
        # 人社局 sees the run sent to it, nothing else; 生态环境局 sees none
        rsj = env.client("other_unit").get("/briefings").text
        assert f'id="run-{for_rsj.id}"' in rsj and f'id="run-{county.id}"' not in rsj
        assert "leader@pengze.gov.example" not in rsj  # recipients and replies are the office's business
        assert env.client("other_unit").get(f"/briefings/{for_rsj.id}/files/{for_rsj.files[0]}").status_code == 200
        assert env.client("other_unit").get(f"/briefings/{county.id}/files/{county.files[0]}").status_code == 404
        assert 'id="run-' not in env.client("unit").get("/briefings").text
        # only recorded names inside the run's directory
        assert env.client("admin").get(f"/briefings/{county.id}/files/..%2F..%2Fledger.db").status_code == 404
        assert env.client(None).get("/briefings").status_code == 303
    finally:
        env.app.state.briefings = None
        store.close()


# -- 专报 ----------------------------------------------------------------------------------------
def test_special_report_for_one_event(tmp_path: Path, smtp: tuple[Smtp, int]) -> None:
    from briefings.model import BriefingError
    from briefings.runs import run_special

    rec, port = smtp
    settings = _briefing_settings(tmp_path, port, pdf=False)
    archive = _archive(settings, Clock(MONDAY))
    store = _store(tmp_path)
    before = len(rec.envelopes)
    run = run_special(settings, store, archive, "ev-a")
    # only the event's two posts (not ev-b's), over the whole days they span
    assert (run.kind, run.kind_zh, run.event_id, run.posts, run.status) == ("special", "专报", "ev-a", 2, "delivered")
    assert run.period == Period(WEEK.since + timedelta(days=1), WEEK.since + timedelta(days=3))
    assert run.title.startswith("舆情专报：工资拖欠帖文") and len(rec.envelopes) == before + 1
    assert str(rec.messages()[-1]["Subject"]).startswith("【专报】舆情专报：")
    with pytest.raises(BriefingError, match="没有事件 ev-nothing 的帖文"):
        run_special(settings, store, archive, "ev-nothing")
    assert [r.id for r in archive.runs()] == [run.id]  # nothing recorded for the unknown event
    store.close()
    alerts_db.dispose(settings.database.url)


def test_brief_cli_records_and_delivers(tmp_path: Path, smtp: tuple[Smtp, int], monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from app.cli import main

    rec, port = smtp
    _store(tmp_path).close()
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "yuqing.yaml"
    config.write_text(
        f"store: {{url: 'sqlite:///{tmp_path}/store.db'}}\ndatabase: {{url: 'sqlite:///{tmp_path}/ledger.db'}}\n"
        "ledger:\n  briefing:\n    out_dir: archive\n    pdf: false\n    recipients:\n"
        f"      - {{type: email, host: 127.0.0.1, port: {port}, sender: yq@pengze.gov.example, to: [office@pengze.gov.example]}}\n",
        encoding="utf-8",
    )
    before = len(rec.envelopes)
    result = CliRunner().invoke(main, ["-c", str(config), "brief", "--event", "ev-b"])
    assert result.exit_code == 0, result.output + str(result.exception)
    [path] = result.stdout.splitlines()
    assert Path(path).parent.name.endswith("-special") and Path(path).suffix == ".docx" and Path(path).exists()
    assert "已送达" in result.stderr and len(rec.envelopes) == before + 1
    week = CliRunner().invoke(main, ["-c", str(config), "brief", "--since", "2026-11-16", "--until", "2026-11-22", "--deliver"])
    assert week.exit_code == 0 and "-manual" in week.stdout and len(rec.envelopes) == before + 2
    bad = CliRunner().invoke(main, ["-c", str(config), "brief", "--event", "ev-unknown"])
    assert bad.exit_code != 0 and "没有事件 ev-unknown 的帖文" in bad.output
    alerts_db.dispose(f"sqlite:///{tmp_path}/ledger.db")


def test_special_report_from_the_web_page(env: Env, tmp_path: Path, smtp: tuple[Smtp, int]) -> None:
    _, port = smtp
    settings = _briefing_settings(tmp_path, port, pdf=False).model_copy(update={"database": DatabaseConfig(url=env.url)})
    env.app.state.briefings = Archive(env.url, tmp_path / "out", None, BASE, settings=settings)
    env.app.state.store = store = _store(tmp_path)
    try:
        mon = env.client("monitor")
        assert 'id="special-form"' in mon.get("/briefings").text
        assert 'id="special-form"' not in env.client("leader").get("/briefings").text
        r = mon.form("/briefings/special", {"event_id": "ev-a"})
        assert r.status_code == 303 and r.headers["location"].startswith("/briefings#run-")
        run_id = int(r.headers["location"].split("-")[-1])
        page = mon.get("/briefings").text
        assert f'id="run-{run_id}"' in page and "专报" in page and "舆情专报：工资拖欠帖文" in page
        bad = mon.form("/briefings/special", {"event_id": "ev-none"})
        assert bad.status_code == 422 and "没有事件 ev-none 的帖文" in bad.text
    finally:
        store.close()


# -- alerts routed to the unit by the real engine -----------------------------------------------
def test_the_engine_sends_an_alert_to_its_topics_unit(tmp_path: Path, receiver: Receiver) -> None:
    from alerts.config import AlertsConfig
    from alerts.rules.registry import load_rules
    from app.settings import BusConfig
    from tests.alerts.conftest import T0, make_harness_from, make_post
    from tests.alerts.conftest import Clock as AlertClock
    from yuqing.bus.sqlite import SqliteBus

    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n  - {name: 逐条, type: any, match: {}, group_wait: 0s}\n",
        encoding="utf-8",
    )
    bus = SqliteBus(f"sqlite:///{tmp_path}/bus.db")
    settings = Settings(
        bus=BusConfig(url=bus.url),
        database=DatabaseConfig(url=f"sqlite:///{tmp_path}/alerts.db"),
        state_url=f"sqlite:///{tmp_path}/state.db",
        alerts=AlertsConfig.model_validate(
            {
                "rules": str(rules),
                "notifiers": [{"type": "webhook", "name": "值班室", "url": f"{receiver.url}/duty"}],
                "routes": [{"notifiers": ["值班室"], "to_unit": True}],
                "group_wait": "0s",
            }
        ),
        ledger=_channels(receiver.url),
    )
    h = make_harness_from(settings, AlertClock(T0), bus, load_rules(str(rules)))
    try:
        h.feed(make_post(at=T0, topic="工资拖欠", event_id="ev-w"))  # 工资拖欠 -> 县人力资源和社会保障局
        h.feed(make_post("某河段黑臭", "河水发黑", at=T0, topic="其他", event_id="ev-o"))  # 其他 -> 县政府办: no channel
        assert sorted(_paths(receiver)) == ["/duty", "/duty", "/robot/rsj"]
        assert "/robot/sthj" not in _paths(receiver)
        assert {d.notifier for d in h.deliveries()} == {"值班室", f"unit:{RSJ}:rsj-robot"}
    finally:
        h.close()
        bus.close()
        alerts_db.dispose(f"sqlite:///{tmp_path}/alerts.db")


def test_yuqing_run_schedules_the_briefings_and_the_retry_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from apscheduler.schedulers.background import BackgroundScheduler

    from app.run import start_all
    from app.settings import load_settings
    from briefings.runs import Archive as ArchiveType
    from yuqing.runtime import Runtime

    monkeypatch.chdir(tmp_path)
    (tmp_path / "yuqing.yaml").write_text(
        "ledger:\n  port: 0\n  unit_channels:\n"
        f"    - {{unit: {RSJ}, notifiers: [{{type: webhook, name: hook, url: 'http://127.0.0.1:9/x'}}]}}\n"
        "  briefing:\n    schedules: [{kind: weekly, cron: '0 8 * * mon'}, {kind: monthly, cron: '0 9 1 * *'}]\n",
        encoding="utf-8",
    )
    runtime = Runtime(load_settings(tmp_path / "yuqing.yaml", environ={}))
    scheduler = BackgroundScheduler(timezone="Asia/Shanghai")
    stop = threading.Event()
    threads = start_all(runtime, scheduler, stop, stages=["ledger.stage:start", "briefings.stage:start"])
    try:
        jobs = {j.id: j for j in scheduler.get_jobs()}
        assert {"ledger:reminders", "ledger:deliveries", "ledger:briefing:weekly", "ledger:briefing:monthly"} <= set(jobs)
        ledger_deliveries = jobs["ledger:deliveries"].args[1]
        assert ledger_deliveries.of_unit(RSJ) == [f"ledger:unit:{RSJ}:hook"] and jobs["ledger:reminders"].kwargs == {
            "ledger_deliveries": ledger_deliveries
        }
        assert jobs["ledger:briefing:monthly"].trigger.get_next_fire_time(None, MONDAY) == datetime(2026, 12, 1, 9, 0, tzinfo=TZ)
        assert isinstance(jobs["ledger:briefing:weekly"].args[2], ArchiveType)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
        runtime.close()
        alerts_db.dispose(runtime.settings.database.url)  # a relative URL: later tests in other directories reuse it


def test_reminders_stand_when_the_bus_is_down(
    env: Env, receiver: Receiver, ledger_deliveries: tuple[LedgerDeliveries, Clock], tmp_path: Path
) -> None:
    """The reminder run ends by publishing the ledger's waiting events; with the bus away that must
    not fail the run (the reminders were sent and recorded): the events wait in the outbox."""
    import sqlite3

    from sqlalchemy import func, select

    from ledger.tables import OutboxMessage
    from yuqing.bus import open_bus

    box, clock = ledger_deliveries
    env.svc.clock = lambda: datetime(2026, 9, 18, 10, 0, tzinfo=TZ)
    case = env.case("assigned", case_type="咨询")  # events written with no bus: they wait in the outbox
    env.svc.clock = clock
    bus = open_bus(f"sqlite:///{tmp_path}/bus.db")
    bus._conn.execute("PRAGMA busy_timeout=50")  # type: ignore[attr-defined]  # fail fast
    env.svc.bus = bus
    held = sqlite3.connect(f"{tmp_path}/bus.db", isolation_level=None)
    held.execute("BEGIN EXCLUSIVE")  # another writer holds the bus's file: its publishes fail
    try:
        report = run_reminders(env.svc, [], ledger_deliveries=box)
    finally:
        held.execute("ROLLBACK")
        held.close()
    assert report.reminded == [f"remind:case:{case.id}:2026-09-22T23:59:59+08:00"]
    assert _paths(receiver) == ["/robot/sthj"]
    with env.db.read() as s:
        waiting = int(s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.published_at.is_(None))) or 0)
    assert waiting > 0
    assert env.svc.flush_pending() == waiting  # the scheduled job publishes them once the bus is back
    bus.close()

"""Reminders before a due date and escalation when overdue, sent through the alert notifiers.

``run_reminders`` is what the scheduler calls every ``ledger.reminder_interval_minutes``. Each
reminder has a key (what, which record, which due date): it is claimed in ``ledger_reminders``
before it is sent, so it goes out once even with several processes, and an approved extension (a
new due date) earns a new reminder. Every one is audited and published (``case.reminded``,
``case.overdue``, ``commitment.reminded``, ``commitment.overdue``) and kept with its delivery
results, which the web UI and tests read back.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ledger import workdays
from ledger.channels import LedgerDeliveries, channel_label
from ledger.service import LedgerService
from ledger.states import REPLY_CLOCK, CaseStatus, CommitmentStatus
from ledger.tables import Case, Commitment, Reminder
from notify.base import Notification, Notifier

log = logging.getLogger("ledger.reminders")


@dataclass
class ReminderReport:
    reminded: list[str] = field(default_factory=list)  # keys
    escalated: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # keys no channel accepted


def make_notifiers(configs: Sequence[dict[str, Any]], database_url: str | None = None) -> list[Notifier]:
    """Channels from ``ledger.notifiers`` through the alerts' registry (the same configs as alert routes)."""
    if not configs:
        return []
    from notify.base import NotifierContext
    from notify.registry import make_notifier

    return [make_notifier(dict(c), NotifierContext(database_url=database_url)) for c in configs]


@dataclass(frozen=True)
class _Due:
    key: str
    kind: str  # remind / escalate
    case_id: int
    commitment_id: int | None
    unit_id: int | None
    notification: Notification
    units: tuple[str, ...] = ()  # who it is for: the 交办单位 and 协办单位 (a commitment: its unit)


def _fmt(dt: datetime) -> str:
    return f"{dt:%Y年%m月%d日 %H:%M}"


def find_due(svc: LedgerService, at: datetime) -> list[_Due]:
    """What should be sent now (already-sent keys are filtered out when claiming)."""
    cfg = svc.config
    base = cfg.base_url.rstrip("/")
    out: list[_Due] = []
    with svc.db.read() as s:
        cases = s.scalars(select(Case).where(Case.status.in_([st.value for st in (*REPLY_CLOCK, CaseStatus.FULFILLING)]))).all()
        for c in cases:
            unit = c.unit.name if c.unit else "—"
            case_units = tuple(u.name for u in ([c.unit] if c.unit else []) + list(c.co_units))
            url = f"{base}/cases/{c.id}"
            if CaseStatus(c.status) in REPLY_CLOCK and c.due_at is not None:
                data = {"case_id": c.id, "case_number": c.number, "unit": unit, "due_at": c.due_at.isoformat(), "title": c.title}
                if at > c.due_at:
                    key = f"escalate:case:{c.id}:{c.due_at.isoformat()}"
                    n = Notification(
                        title=f"【超期督办】{c.number} 已超过规定回复时间",
                        text=f"案件「{c.title}」交办{unit}，规定回复时间 {_fmt(c.due_at)}，至今未回复，请督办。\n{url}",
                        url=url,
                        severity="高",
                        key=key,
                        data={**data, "kind": "escalate"},
                    )
                    out.append(_Due(key, "escalate", c.id, None, c.unit_id, n, case_units))
                elif workdays.workdays_left(c.due_at, at) <= cfg.remind_before_workdays:
                    key = f"remind:case:{c.id}:{c.due_at.isoformat()}"
                    n = Notification(
                        title=f"【到期提醒】{c.number} 将于 {c.due_at:%m月%d日} 到期",
                        text=f"{unit}：案件「{c.title}」规定回复时间为 {_fmt(c.due_at)}，请按时办理回复。\n{url}",
                        url=url,
                        severity="中",
                        key=key,
                        data={**data, "kind": "remind"},
                    )
                    out.append(_Due(key, "remind", c.id, None, c.unit_id, n, case_units))
            if c.status == CaseStatus.FULFILLING.value:
                for m in c.commitments:
                    if m.status != CommitmentStatus.OPEN.value:
                        continue
                    data = {
                        "case_id": c.id,
                        "case_number": c.number,
                        "commitment_id": m.id,
                        "unit": m.unit.name,
                        "due_at": m.due_at.isoformat(),
                        "content": m.content,
                    }
                    if at > m.due_at:
                        key = f"escalate:commitment:{m.id}:{m.due_at.isoformat()}"
                        n = Notification(
                            title=f"【承诺超期】{c.number} 第 {m.seq} 项承诺未按期落实",
                            text=f"{m.unit.name}承诺「{m.content}」，时限 {_fmt(m.due_at)}，至今未登记落实情况，请督办。\n{url}",
                            url=url,
                            severity="高",
                            key=key,
                            data={**data, "kind": "escalate"},
                        )
                        out.append(_Due(key, "escalate", c.id, m.id, m.unit_id, n, (m.unit.name,)))
                    elif workdays.workdays_left(m.due_at, at) <= cfg.remind_before_workdays:
                        key = f"remind:commitment:{m.id}:{m.due_at.isoformat()}"
                        n = Notification(
                            title=f"【承诺到期提醒】{c.number} 第 {m.seq} 项承诺将于 {m.due_at:%m月%d日} 到期",
                            text=f"{m.unit.name}：承诺「{m.content}」时限为 {_fmt(m.due_at)}，请按时落实并登记。\n{url}",
                            url=url,
                            severity="中",
                            key=key,
                            data={**data, "kind": "remind"},
                        )
                        out.append(_Due(key, "remind", c.id, m.id, m.unit_id, n, (m.unit.name,)))
    return out


def _claim(svc: LedgerService, due: _Due, at: datetime) -> bool:
    try:
        with svc.db.write() as s:
            if s.scalar(select(Reminder.id).where(Reminder.key == due.key)) is not None:
                return False
            s.add(
                Reminder(
                    key=due.key,
                    kind=due.kind,
                    case_id=due.case_id,
                    commitment_id=due.commitment_id,
                    unit_id=due.unit_id,
                    title=due.notification.title,
                    text=due.notification.text,
                    deliveries=[],
                    created_at=at,
                )
            )
            case = s.get(Case, due.case_id)
            assert case is not None
            com = s.get(Commitment, due.commitment_id) if due.commitment_id else None
            what = "commitment" if com is not None else "case"
            event = f"{what}.{'overdue' if due.kind == 'escalate' else 'reminded'}"
            # Core UPDATEs leave the version column alone: a reminder must not make a user's open form stale.
            column = "overdue_notified_at" if due.kind == "escalate" else "reminded_at"
            if com is not None:
                s.execute(update(Commitment).where(Commitment.id == com.id).values({column: at}))
            else:
                s.execute(update(Case).where(Case.id == case.id).values({column: at}))
            svc.record_system_event(s, case, event, due.notification.title, commitment=com)
        return True
    except IntegrityError:  # another process claimed it first
        return False


def run_reminders(
    svc: LedgerService, notifiers: Sequence[Notifier], at: datetime | None = None, *, ledger_deliveries: LedgerDeliveries | None = None
) -> ReminderReport:
    """Send what is due. With ``ledger_deliveries`` (as ``yuqing run`` and ``yuqing ledger remind`` do) each
    reminder goes to its units' own channels as durable deliveries with retries, escalations also to
    the monitoring office; ``notifiers`` is then unused. Without one, every reminder goes once to
    every channel in ``notifiers`` (the demo, old callers)."""
    at = at or svc.clock()
    report = ReminderReport()
    for due in find_due(svc, at):
        if not _claim(svc, due, at):
            continue
        if ledger_deliveries is not None:
            _send_durably(svc, ledger_deliveries, due, report)
            continue
        deliveries = []
        for n in notifiers:
            try:
                result = n.send(due.notification)
                deliveries.append({"channel": n.name, "ok": result.ok, "status": result.status})
            except Exception as exc:  # one broken channel must not stop the others
                log.exception("reminder %s via %s failed", due.key, getattr(n, "name", n))
                deliveries.append({"channel": getattr(n, "name", "?"), "ok": False, "status": f"{type(exc).__name__}: {exc}"})
        with svc.db.write() as s:
            row = s.scalar(select(Reminder).where(Reminder.key == due.key))
            assert row is not None
            row.deliveries = deliveries
        (report.escalated if due.kind == "escalate" else report.reminded).append(due.key)
        if notifiers and not any(d["ok"] for d in deliveries):
            report.failed.append(due.key)
            log.warning("reminder %s reached no channel: %s", due.key, deliveries)
    svc.outbox.flush_after_commit()  # with the bus down the events wait in the outbox; the reminders stand
    return report


def _send_durably(svc: LedgerService, ledger_deliveries: LedgerDeliveries, due: _Due, report: ReminderReport) -> None:
    target = ledger_deliveries.for_units(due.units, copy_office=due.kind == "escalate")
    for note in target.notes:
        log.warning("reminder %s: %s", due.key, note)
    ledger_deliveries.enqueue(due.key, due.kind, target.channels, due.notification)
    ledger_deliveries.deliverer.run_due()  # the first attempt now; retries by the ledger:deliveries job
    deliveries: list[dict[str, Any]] = [{"channel": channel_label(name), "ok": None, "status": "待发送"} for name in target.channels]
    deliveries += [{"channel": "—", "ok": False, "status": note} for note in target.notes]
    with svc.db.write() as s:
        row = s.scalar(select(Reminder).where(Reminder.key == due.key))
        assert row is not None
        row.deliveries = deliveries
    sync_reminders(svc, ledger_deliveries, [due.key])
    (report.escalated if due.kind == "escalate" else report.reminded).append(due.key)
    if not target.channels:
        report.failed.append(due.key)


_STATUS_ZH = {"pending": "待重试", "sent": "已发送", "failed": "发送失败"}


def sync_reminders(svc: LedgerService, ledger_deliveries: LedgerDeliveries, keys: Sequence[str] | None = None) -> int:
    """Copy the state of durable deliveries (sent, retrying, failed for good) into the reminders'
    records, which the case page shows. ``keys`` None: every reminder with a delivery still open."""
    with svc.db.read() as s:
        q = select(Reminder.key, Reminder.deliveries)
        if keys is not None:
            q = q.where(Reminder.key.in_(list(keys)))
        rows = [(k, d) for k, d in s.execute(q) if keys is not None or any(x.get("ok") is None for x in d or [])]
    if not rows:
        return 0
    found = ledger_deliveries.deliveries_for([k for k, _ in rows])
    changed = 0
    for key, old in rows:
        notes = [d for d in old or [] if d.get("channel") == "—"]
        new = [
            {
                "channel": channel_label(d.notifier),
                "ok": True if d.status == "sent" else (False if d.status == "failed" else None),
                "status": f"{_STATUS_ZH.get(d.status, d.status)}（第 {d.attempts} 次）：{d.last_status or ''}".rstrip("："),
            }
            for d in found.get(key, [])
        ] + notes
        if new != old:
            with svc.db.write() as s:
                row = s.scalar(select(Reminder).where(Reminder.key == key))
                if row is not None:
                    row.deliveries = new
                    changed += 1
    return changed


def deliver_pending(svc: LedgerService, ledger_deliveries: LedgerDeliveries) -> int:
    """The ``ledger:deliveries`` job: retry due deliveries of the ledger's channels, then bring the
    reminders' records up to date."""
    done = ledger_deliveries.run_due()
    if done:
        sync_reminders(svc, ledger_deliveries)
    return done


def sent_reminders(svc: LedgerService, case_id: int | None = None) -> list[Reminder]:
    with svc.db.read() as s:
        q = select(Reminder).order_by(Reminder.id)
        if case_id is not None:
            q = q.where(Reminder.case_id == case_id)
        return list(s.scalars(q))

"""What the case pages tell a user about where a case stands and what to do next (pure, no I/O).

- ``steps``: the case's stage as a step indicator (交办 → 签收 → 回复 → 落实 → 公开 → 办结).
- ``next_action``: one sentence naming the next action for *this* user, or whom the case waits for.
- ``deadline_of`` / ``days_left``: the deadline now running (the reply's, else the earliest open
  commitment's), as the case list shows and sorts it (``LedgerService.list_cases(sort="deadline")``
  orders by the same rule in SQL).
- ``on_time``: whether a commitment was fulfilled by its due date, for the public page.
- ``alert_title``: an alert's title, or a readable one when the stored title has no words in it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from ledger import states
from ledger.service import view_of
from ledger.states import Actor, CaseStatus, CommitmentStatus, Role
from ledger.tables import Case, Commitment
from yuqing.timeutil import TZ

StepState = Literal["done", "current", "todo", "skipped"]


@dataclass(frozen=True)
class Step:
    label: str
    state: StepState
    note: str = ""


S = CaseStatus
_AFTER_ACCEPT = frozenset({S.IN_PROGRESS, S.RESPONDED, S.FULFILLING, S.FULFILLED, S.DISCLOSED, S.CLOSED})
_AFTER_REPLY = frozenset({S.RESPONDED, S.FULFILLING, S.FULFILLED, S.DISCLOSED, S.CLOSED})


def steps(case: Case) -> list[Step]:
    """The six stages with done / current / todo; 落实 and 公开 are skipped for a case without commitments
    once it has been replied to (it may be closed straight away)."""
    status = CaseStatus(case.status)
    has_commitments = bool(case.commitments)
    com = [CommitmentStatus(m.status) for m in case.commitments]
    done = {
        "交办": status is not S.PENDING,
        "签收": status in _AFTER_ACCEPT,
        "回复": status in _AFTER_REPLY,
        "落实": has_commitments and status in _AFTER_REPLY and all(c is not CommitmentStatus.OPEN for c in com),
        "公开": has_commitments and status in _AFTER_REPLY and all(c is CommitmentStatus.DISCLOSED for c in com),
        "办结": status is S.CLOSED,
    }
    skip = not has_commitments and status in _AFTER_REPLY
    out: list[Step] = []
    current_given = False
    for label, is_done in done.items():
        if skip and label in ("落实", "公开"):
            out.append(Step(label, "skipped", "无承诺事项"))
        elif is_done:
            out.append(Step(label, "done"))
        elif not current_given:
            out.append(Step(label, "current"))
            current_given = True
        else:
            out.append(Step(label, "todo"))
    if has_commitments and status in _AFTER_REPLY:
        n_done = sum(c is not CommitmentStatus.OPEN for c in com)
        n_public = sum(c is CommitmentStatus.DISCLOSED for c in com)
        out = [
            Step(s.label, s.state, f"{n_done}/{len(com)}")
            if s.label == "落实"
            else Step(s.label, s.state, f"{n_public}/{len(com)}")
            if s.label == "公开"
            else s
            for s in out
        ]
    return out


def _seqs(ms: Sequence[Commitment]) -> str:
    return "、".join(str(m.seq) for m in ms)


def _unit(case: Case) -> str:
    return case.unit.name if case.unit else "承办单位"


def next_action(case: Case, actor: Actor, now: datetime) -> tuple[str, bool]:
    """(sentence, whether it is this user's turn). Based on what the state machine allows ``actor``."""
    view = view_of(case)
    status = CaseStatus(case.status)

    def can(action: str, commitment_id: int | None = None) -> bool:
        return states.can(view, action, actor, commitment_id=commitment_id)

    due = f"（{days_left_text(case.due_at, now)}）" if case.due_at and status in states.REPLY_CLOCK else ""
    if status is S.PENDING:
        return ("请选择交办单位并交办", True) if can("assign") else ("等待舆情监测员交办", False)
    if case.extension_pending and can("approve_extension"):
        return (f"{_unit(case)}申请延期 {case.extension_days} 个工作日：请批准或驳回", True)
    if status is S.ASSIGNED:
        if can("accept"):
            return (f"请签收{due}；不属于本单位职责的，填写理由后退回", True)
        return (f"等待{_unit(case)}签收{due}", False)
    if status is S.IN_PROGRESS:
        if can("respond"):
            return (f"请填写回应内容并回复{due}；有承诺事项的在回复时一并登记，回复后即进入承诺落实", True)
        return (f"等待{_unit(case)}回复{due}", False)
    if status is S.RESPONDED:
        if case.commitments:
            if can("track"):
                return ("已回复并登记了承诺事项：请转入承诺落实", True)
            return ("等待转入承诺落实", False)
        if can("close"):
            return ("已回复，没有承诺事项：可以办结", True)
        if can("add_commitment"):
            return ("已回复。如有承诺事项请登记，登记后即进入承诺落实；否则等待舆情监测员办结", False)
        return ("已回复，等待舆情监测员办结", False)
    if status in (S.FULFILLING, S.FULFILLED):
        open_ = [m for m in case.commitments if m.status == CommitmentStatus.OPEN.value]
        mine = [m for m in open_ if can("fulfil", m.id)]
        to_disclose = [m for m in case.commitments if can("disclose", m.id)]
        parts = []
        if mine:
            first = min(m.due_at for m in mine)
            parts.append(f"请登记第 {_seqs(mine)} 项承诺的落实情况和佐证材料（{days_left_text(first, now)}）")
        if to_disclose:
            office = actor.role in states.OFFICE
            ask = "请核查后登记公开，或核查退回" if office else "可登记公开渠道和链接"
            parts.append(f"第 {_seqs(to_disclose)} 项承诺已落实：{ask}")
        if parts:
            return ("；".join(parts), True)
        others = [m for m in open_ if m not in mine]
        if others:
            units = "、".join(dict.fromkeys(m.unit.name for m in others))
            return (f"等待{units}落实第 {_seqs(others)} 项承诺", False)
        return ("承诺已全部落实，等待登记公开", False)
    if status is S.DISCLOSED:
        if can("close"):
            return ("承诺已全部落实并公开：请办结（回访可先在下方承诺事项中登记）", True)
        return ("承诺已全部落实并公开，等待舆情监测员办结", False)
    return ("已办结", False)


def deadline_of(case: Case) -> datetime | None:
    """The deadline running now: the reply's while the unit has not replied, else the earliest due date
    of an open commitment while commitments are carried out; None otherwise."""
    status = CaseStatus(case.status)
    if status in states.REPLY_CLOCK:
        return case.due_at
    if status is S.FULFILLING:
        dues = [m.due_at for m in case.commitments if m.status == CommitmentStatus.OPEN.value]
        return min(dues) if dues else None
    return None


def days_left(deadline: datetime | None, now: datetime) -> int | None:
    """Calendar days from today to the deadline's day (Asia/Shanghai): 0 today, negative when overdue."""
    if deadline is None:
        return None
    return (deadline.astimezone(TZ).date() - now.astimezone(TZ).date()).days


def days_left_text(deadline: datetime | None, now: datetime) -> str:
    n = days_left(deadline, now)
    if n is None or deadline is None:
        return "—"
    if deadline < now:
        return f"已超期 {max(1, -n)} 天" if n < 0 else "今天已超期"
    if n == 0:
        return "今天到期"
    return f"还剩 {n} 天"


def on_time(m: Any) -> tuple[bool | None, str]:
    """Whether a commitment was fulfilled by its due date, and the sentence the public page shows."""
    if m.fulfilled_at is None or m.due_at is None:
        return None, "落实时间未登记"
    if m.fulfilled_at <= m.due_at:
        return True, f"按期落实（承诺时限 {m.due_at.astimezone(TZ):%Y-%m-%d}）"
    late = (m.fulfilled_at.astimezone(TZ).date() - m.due_at.astimezone(TZ).date()).days
    return False, f"逾期 {max(1, late)} 天落实（承诺时限 {m.due_at.astimezone(TZ):%Y-%m-%d}）"


_WORDY = re.compile(r"\w")


def alert_title(title: str, rule: str, labels: dict[str, Any]) -> str:
    """The stored title when it has a letter, digit or 汉字 in it; else one made of rule, topic and region."""
    if title and _WORDY.search(title):
        return title.strip()
    where = "·".join(str(labels[k]) for k in ("region", "topic") if labels.get(k))
    return f"{rule}（{where}）" if where else (rule or "未命名预警")


def is_unit(actor: Actor | None) -> bool:
    return actor is not None and actor.role is Role.UNIT

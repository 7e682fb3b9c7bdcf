"""The ledger's state machine: who may do what to a case or a commitment, in which state.

Pure: no I/O. The service (``ledger.transitions``) loads a snapshot, asks this module whether an
action is allowed and what the new state is, then writes, audits and publishes. The rule tables
(``CASE_RULES``, ``COMMITMENT_RULES``) are the one place that says, per action, the states it
starts from and leads to, the roles, whether a note is required, what else it needs and which
side effect on the stored record it has; the service's dispatcher only looks them up.

Case lifecycle (the order offices use in their 台账)::

    待交办 ─assign→ 已交办 ─accept→ 办理中 ─respond→ 已回应 ─track→ 承诺落实中 ⇢ 已落实 ⇢ 已公开 ─close→ 已办结
       ↑               │                │               └────────────close (no commitments)──────────────↗
       └────return─────┴───────return───┘

⇢ are derived from the commitments (all fulfilled → 已落实; all disclosed → 已公开; a rejected
fulfilment sends the case back to 承诺落实中). 申请延期 / 批准延期 / 驳回延期 and 督办 keep the state.
超期 is not a state: it is computed from the due dates (``is_overdue``), so it can never disagree
with them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from ledger.errors import PermissionDenied, TransitionError


class Role(StrEnum):
    UNIT = "unit"  # a responsible unit's staff: see and update their own unit's cases
    MONITOR = "monitor"  # the opinion office: create, assign, supervise, close
    LEADER = "leader"  # read everything; may 督办 (supervise)
    ADMIN = "admin"  # manage units and users; may also act as a monitor


ROLE_LABELS = {Role.UNIT: "承办单位", Role.MONITOR: "舆情监测员", Role.LEADER: "领导", Role.ADMIN: "管理员"}


class CaseStatus(StrEnum):
    PENDING = "pending"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    RESPONDED = "responded"
    FULFILLING = "fulfilling"
    FULFILLED = "fulfilled"
    DISCLOSED = "disclosed"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return CASE_LABELS[self]


CASE_LABELS = {
    CaseStatus.PENDING: "待交办",
    CaseStatus.ASSIGNED: "已交办",
    CaseStatus.IN_PROGRESS: "办理中",
    CaseStatus.RESPONDED: "已回应",
    CaseStatus.FULFILLING: "承诺落实中",
    CaseStatus.FULFILLED: "已落实",
    CaseStatus.DISCLOSED: "已公开",
    CaseStatus.CLOSED: "已办结",
}


class CommitmentStatus(StrEnum):
    OPEN = "open"
    FULFILLED = "fulfilled"
    DISCLOSED = "disclosed"

    @property
    def label(self) -> str:
        return COMMITMENT_LABELS[self]


COMMITMENT_LABELS = {CommitmentStatus.OPEN: "落实中", CommitmentStatus.FULFILLED: "已落实", CommitmentStatus.DISCLOSED: "已公开"}

# States in which the reply deadline runs (the unit has not answered yet).
REPLY_CLOCK = frozenset({CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS})
# States in which commitments are being carried out and their due dates run.
COMMITMENT_PHASE = frozenset({CaseStatus.FULFILLING, CaseStatus.FULFILLED, CaseStatus.DISCLOSED})
OPEN_CASE = frozenset(CaseStatus) - {CaseStatus.CLOSED}


@dataclass(frozen=True)
class Actor:
    user_id: int
    username: str
    role: Role
    unit_id: int | None = None
    display_name: str = ""

    @property
    def name(self) -> str:
        return self.display_name or self.username


SYSTEM = Actor(user_id=0, username="system", role=Role.ADMIN, display_name="系统")


@dataclass(frozen=True)
class CommitmentView:
    id: int
    status: CommitmentStatus
    unit_id: int
    due_at: datetime | None = None


@dataclass(frozen=True)
class CaseView:
    status: CaseStatus
    unit_id: int | None = None
    co_unit_ids: frozenset[int] = frozenset()
    extension_pending: bool = False
    due_at: datetime | None = None
    commitments: tuple[CommitmentView, ...] = ()

    def commitment(self, commitment_id: int) -> CommitmentView | None:
        return next((c for c in self.commitments if c.id == commitment_id), None)


Guard = Callable[[CaseView], str | None]  # returns the reason for refusing, or None


@dataclass(frozen=True)
class Rule:
    """One action: where it may start, where it leads, who may do it, what it needs and what it does.

    The service's dispatcher (``ledger.transitions``) looks the action up here and nowhere else:
    it checks ``roles``, ``sources`` and ``guard`` (through ``apply``), the note, the uploads and
    ``needs``, then runs the side effect named by ``effect`` on the stored record and audits the
    change under ``event``.
    """

    action: str
    label: str  # Chinese verb shown on buttons and in the audit log
    event: str  # bus event type, past tense
    sources: frozenset[CaseStatus]  # case states in which the action is allowed
    roles: frozenset[Role]
    target: CaseStatus | None = None  # None: the case keeps its state
    note_required: bool = False
    guard: Guard | None = None
    # For commitment rules: the commitment states allowed and the commitment's new state.
    commitment_sources: frozenset[CommitmentStatus] = field(default_factory=frozenset)
    commitment_target: CommitmentStatus | None = None
    # The side effect on the stored case or commitment besides its new state: a name in
    # ``ledger.transitions.CASE_EFFECTS`` / ``COMMITMENT_EFFECTS`` (checked when that module loads);
    # None: the state changes and nothing else.
    effect: str | None = None
    # Request fields the action cannot do without, each with the message that asks for it.
    needs: tuple[tuple[str, str], ...] = ()
    uploads: bool = False  # evidence files may come with the action
    # The interface that carries the action: "act" (/cases/{id}/act, /commitments/{id}/act) or
    # another one, named in the refusal when the action is sent to "act".
    route: str = "act"


def _S(*states: CaseStatus) -> frozenset[CaseStatus]:
    return frozenset(states)


def _R(*roles: Role) -> frozenset[Role]:
    return frozenset(roles)


OFFICE = _R(Role.MONITOR, Role.ADMIN)
UNIT = _R(Role.UNIT)
# Who may 督办: the office, and leaders, as county offices practise it (领导督办); docs/ledger.md "Decisions".
SUPERVISORS = OFFICE | _R(Role.LEADER)
S = CaseStatus


def _no_pending_extension(case: CaseView) -> str | None:
    return "已有一项延期申请待审批" if case.extension_pending else None


def _pending_extension(case: CaseView) -> str | None:
    return None if case.extension_pending else "没有待审批的延期申请"


def _has_open_commitments(case: CaseView) -> str | None:
    if not case.commitments:
        return "尚未登记承诺事项；没有承诺的案件可直接办结"
    return None


def _no_commitments(case: CaseView) -> str | None:
    return f"已登记 {len(case.commitments)} 项承诺，不能退回" if case.commitments else None


def _all_disclosed(case: CaseView) -> str | None:
    left = [c for c in case.commitments if c.status is not CommitmentStatus.DISCLOSED]
    return f"尚有 {len(left)} 项承诺未落实或未公开" if left else None


CASE_RULES: dict[str, Rule] = {
    r.action: r
    for r in (
        Rule("assign", "交办", "case.assigned", _S(S.PENDING), OFFICE, S.ASSIGNED, effect="assign"),
        Rule("accept", "签收", "case.accepted", _S(S.ASSIGNED), UNIT, S.IN_PROGRESS),
        Rule(
            "return",
            "退回",
            "case.returned",
            _S(S.ASSIGNED, S.IN_PROGRESS),
            UNIT,
            S.PENDING,
            note_required=True,
            guard=_no_commitments,
            effect="unassign",
        ),
        Rule(
            "respond",
            "回复",
            "case.responded",
            _S(S.IN_PROGRESS),
            UNIT,
            S.RESPONDED,
            effect="respond",
            needs=(("response", "请填写回应内容"),),
        ),
        Rule("track", "转入承诺落实", "case.tracking", _S(S.RESPONDED), UNIT | OFFICE, S.FULFILLING, guard=_has_open_commitments),
        Rule("close", "办结", "case.closed", _S(S.RESPONDED, S.DISCLOSED), OFFICE, S.CLOSED, guard=_all_disclosed, effect="close"),
        Rule(
            "request_extension",
            "申请延期",
            "case.extension_requested",
            REPLY_CLOCK,
            UNIT,
            note_required=True,
            guard=_no_pending_extension,
            effect="request_extension",
            needs=(("extension_days", "请填写申请延期的工作日数"),),
        ),
        Rule("approve_extension", "批准延期", "case.extension_approved", REPLY_CLOCK, OFFICE, guard=_pending_extension, effect="extend"),
        Rule(
            "reject_extension",
            "驳回延期",
            "case.extension_rejected",
            REPLY_CLOCK,
            OFFICE,
            note_required=True,
            guard=_pending_extension,
            effect="drop_extension",
        ),
        Rule("supervise", "督办", "case.supervised", OPEN_CASE - {S.PENDING}, SUPERVISORS, note_required=True, effect="supervise"),
        Rule("edit", "修改", "case.updated", OPEN_CASE, OFFICE, effect="edit", needs=(("fields", "没有要修改的内容"),)),
        Rule(
            "add_commitment",
            "登记承诺",
            "commitment.created",
            _S(S.IN_PROGRESS, S.RESPONDED, S.FULFILLING),
            UNIT | OFFICE,
            route="commitments",
        ),
    )
}

C = CommitmentStatus
COMMITMENT_RULES: dict[str, Rule] = {
    r.action: r
    for r in (
        Rule(
            "fulfil",
            "登记落实",
            "commitment.fulfilled",
            _S(S.FULFILLING),
            UNIT,
            commitment_sources=frozenset({C.OPEN}),
            commitment_target=C.FULFILLED,
            effect="fulfil",
            needs=(("fulfilment", "请填写落实情况"),),
            uploads=True,
        ),
        Rule(
            "reject",
            "核查退回",
            "commitment.rejected",
            _S(S.FULFILLING, S.FULFILLED),
            OFFICE,
            note_required=True,
            commitment_sources=frozenset({C.FULFILLED}),
            commitment_target=C.OPEN,
            effect="reopen",
        ),
        # Only the office publishes: a unit's fulfilment goes public after a monitor has read it
        # (and can 核查退回 it instead); docs/ledger.md "Decisions".
        Rule(
            "disclose",
            "登记公开",
            "commitment.disclosed",
            _S(S.FULFILLING, S.FULFILLED),
            OFFICE,
            commitment_sources=frozenset({C.FULFILLED}),
            commitment_target=C.DISCLOSED,
            effect="disclose",
            needs=(("disclosure_channel", "请填写公开渠道"),),
        ),
        Rule(
            "revisit",
            "回访",
            "commitment.revisited",
            COMMITMENT_PHASE | {S.CLOSED},
            OFFICE,
            commitment_sources=frozenset({C.FULFILLED, C.DISCLOSED}),
            effect="revisit",
            needs=(("satisfaction", "请选择满意度"),),
        ),
        Rule(
            "supervise",
            "督办",
            "commitment.supervised",
            _S(S.IN_PROGRESS, S.RESPONDED, S.FULFILLING),
            SUPERVISORS,
            note_required=True,
            commitment_sources=frozenset({C.OPEN}),
            effect="supervise",
        ),
    )
}


def _labels(states: Iterable[CaseStatus | CommitmentStatus]) -> str:
    order: list[CaseStatus | CommitmentStatus] = [*CaseStatus, *CommitmentStatus]
    return "、".join(s.label for s in sorted(states, key=order.index))


def _check_role(rule: Rule, actor: Actor) -> None:
    if actor.role not in rule.roles:
        raise PermissionDenied(f"{ROLE_LABELS[actor.role]}无权执行「{rule.label}」")


def case_transition(case: CaseView, action: str, actor: Actor) -> CaseStatus:
    """The case's state after ``action`` by ``actor``; raises PermissionDenied or TransitionError."""
    rule = CASE_RULES.get(action)
    if rule is None:
        raise TransitionError(f"未知的操作「{action}」", action=action, state=case.status.value)
    _check_role(rule, actor)
    if actor.role is Role.UNIT and (case.unit_id is None or actor.unit_id != case.unit_id):
        raise PermissionDenied(f"只有交办单位可以执行「{rule.label}」")
    if case.status not in rule.sources:
        raise TransitionError(
            f"案件当前状态为「{case.status.label}」，不能执行「{rule.label}」（仅限：{_labels(rule.sources)}）",
            action=action,
            state=case.status.value,
        )
    reason = rule.guard(case) if rule.guard else None
    if reason:
        raise TransitionError(f"不能执行「{rule.label}」：{reason}", action=action, state=case.status.value)
    target = rule.target or case.status
    if action == "track":
        return derive(target, case.commitments)
    return target


def commitment_transition(case: CaseView, commitment_id: int, action: str, actor: Actor) -> tuple[CommitmentStatus, CaseStatus]:
    """(commitment state, case state) after ``action``; raises PermissionDenied or TransitionError."""
    rule = COMMITMENT_RULES.get(action)
    current = case.commitment(commitment_id)
    if current is None:
        raise TransitionError(f"案件中没有编号为 {commitment_id} 的承诺", action=action, state=case.status.value)
    if rule is None:
        raise TransitionError(f"未知的操作「{action}」", action=action, state=current.status.value)
    _check_role(rule, actor)
    if actor.role is Role.UNIT and actor.unit_id != current.unit_id:
        # Each unit records its own fulfilment, the host unit included (docs/ledger.md "Decisions").
        raise PermissionDenied(f"只有承诺的责任单位可以执行「{rule.label}」")
    if current.status not in rule.commitment_sources:
        raise TransitionError(
            f"承诺当前状态为「{current.status.label}」，不能执行「{rule.label}」（仅限：{_labels(rule.commitment_sources)}）",
            action=action,
            state=current.status.value,
        )
    if case.status not in rule.sources:
        raise TransitionError(
            f"案件当前状态为「{case.status.label}」，不能对承诺执行「{rule.label}」（仅限：{_labels(rule.sources)}）",
            action=action,
            state=case.status.value,
        )
    new = rule.commitment_target or current.status
    after = tuple(CommitmentView(c.id, new if c.id == commitment_id else c.status, c.unit_id, c.due_at) for c in case.commitments)
    return new, derive(case.status, after)


def derive(status: CaseStatus, commitments: Iterable[CommitmentView]) -> CaseStatus:
    """In the commitment phase the case state follows its commitments."""
    if status not in COMMITMENT_PHASE:
        return status
    states = [c.status for c in commitments]
    if states and all(s is CommitmentStatus.DISCLOSED for s in states):
        return CaseStatus.DISCLOSED
    if states and all(s is not CommitmentStatus.OPEN for s in states):
        return CaseStatus.FULFILLED
    return CaseStatus.FULFILLING


def apply(
    case: CaseView,
    action: str,
    actor: Actor,
    *,
    unit_id: int | None = None,
    commitment_id: int | None = None,
    new_commitment: CommitmentView | None = None,
) -> CaseView:
    """The whole snapshot after ``action``: the one definition of each action's effect.

    ``unit_id`` is the unit to assign to; ``commitment_id`` the commitment acted on;
    ``new_commitment`` the commitment that ``add_commitment`` records.
    """
    if commitment_id is not None:
        new, status = commitment_transition(case, commitment_id, action, actor)
        commitments = tuple(CommitmentView(c.id, new, c.unit_id, c.due_at) if c.id == commitment_id else c for c in case.commitments)
        return replace(case, status=status, commitments=commitments)
    status = case_transition(case, action, actor)
    if action == "assign":
        if unit_id is None:
            raise TransitionError("交办需要指定交办单位", action=action, state=case.status.value)
        return replace(case, status=status, unit_id=unit_id)
    if action == "return":
        return replace(case, status=status, unit_id=None, co_unit_ids=frozenset(), extension_pending=False, due_at=None)
    if action == "respond":
        # A pending extension request is moot once the unit has replied.
        return replace(case, status=status, extension_pending=False)
    if action == "request_extension":
        return replace(case, extension_pending=True)
    if action in ("approve_extension", "reject_extension"):
        return replace(case, extension_pending=False)
    if action == "add_commitment":
        if new_commitment is None:
            raise TransitionError("没有要登记的承诺", action=action, state=case.status.value)
        return replace(case, commitments=(*case.commitments, new_commitment))
    return replace(case, status=status)


def can(case: CaseView, action: str, actor: Actor, commitment_id: int | None = None) -> bool:
    try:
        if commitment_id is None:
            case_transition(case, action, actor)
        else:
            commitment_transition(case, commitment_id, action, actor)
    except (PermissionDenied, TransitionError):
        return False
    return True


def is_overdue(case: CaseView, at: datetime) -> bool:
    """超期: the reply is late, or a commitment is not fulfilled by its due date."""
    if case.status in REPLY_CLOCK and case.due_at is not None and at > case.due_at:
        return True
    if case.status in (CaseStatus.FULFILLING,):
        return any(c.status is CommitmentStatus.OPEN and c.due_at is not None and at > c.due_at for c in case.commitments)
    return False


def invariant_violations(case: CaseView) -> list[str]:
    """What must always hold; the property-based tests check it after every action."""
    out = []
    if (case.unit_id is None) != (case.status is CaseStatus.PENDING):
        out.append(f"unit {case.unit_id} with state {case.status}")
    if case.extension_pending and case.status not in REPLY_CLOCK:
        out.append(f"extension pending in state {case.status}")
    if case.status in COMMITMENT_PHASE and derive(case.status, case.commitments) is not case.status:
        out.append(f"state {case.status} disagrees with commitments {[c.status.value for c in case.commitments]}")
    if case.status in COMMITMENT_PHASE and not case.commitments:
        out.append(f"state {case.status} without commitments")
    if case.status is CaseStatus.CLOSED and any(c.status is not CommitmentStatus.DISCLOSED for c in case.commitments):
        out.append("closed with commitments not disclosed")
    if case.status in (CaseStatus.PENDING, CaseStatus.ASSIGNED) and case.commitments:
        out.append(f"commitments in state {case.status}")
    if case.status not in COMMITMENT_PHASE | {CaseStatus.CLOSED} and any(c.status is not CommitmentStatus.OPEN for c in case.commitments):
        out.append(f"a commitment fulfilled before the case reached 承诺落实中 (state {case.status})")
    return out

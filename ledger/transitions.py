"""Changing cases and commitments: every change goes through here, so every change is checked
against the state machine (``ledger.states``) and the actor's role and unit, versioned, audited and
published.

A change runs in one transaction that locks the case row first (``SELECT ... FOR UPDATE`` on
PostgreSQL; ``BEGIN IMMEDIATE`` on SQLite), compares the version the client saw, applies the
pure transition from ``ledger.states``, writes the audit row and the outbox event, and commits.
Events are published to the bus from the outbox after the commit (``ledger.outbox``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_args

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ledger import states, workdays
from ledger.audit import AuditLog
from ledger.cases import CaseQueries, view_of
from ledger.config import LedgerConfig
from ledger.context import LedgerContext
from ledger.errors import InvalidInput, LedgerError, NotFound, PermissionDenied, StaleVersion
from ledger.meta import next_case_number
from ledger.outbox import EventOutbox
from ledger.schemas import CaseAction, CommitmentAction, NewCase, NewCommitment
from ledger.states import Actor, CaseStatus, CommitmentStatus, CommitmentView, Role
from ledger.tables import Attachment, Case, Commitment, Unit
from ledger.uploads import CheckedUpload

EDITABLE = {
    "title": "标题",
    "summary": "摘要",
    "case_type": "类型",
    "topic": "主题",
    "risk_level": "风险等级",
    "region": "地区",
    "petitioner": "诉求人",
    "petitioner_phone": "联系电话",
    "source": "来源",
    "source_ref": "原始编号",
}


# The event published when commitments move the case on by themselves (see states.derive).
DERIVED_EVENTS = {CaseStatus.FULFILLING: "case.tracking", CaseStatus.FULFILLED: "case.fulfilled", CaseStatus.DISCLOSED: "case.disclosed"}


class Transitions:
    def __init__(self, ctx: LedgerContext, cases: CaseQueries, audit: AuditLog, outbox: EventOutbox) -> None:
        self.ctx = ctx
        self.cases = cases
        self.audit = audit
        self.outbox = outbox

    def create_case(self, actor: Actor, new: NewCase) -> Case:
        if actor.role not in states.OFFICE:
            raise PermissionDenied(f"{states.ROLE_LABELS[actor.role]}无权登记案件")
        case_type = new.case_type or self.ctx.config.default_case_type
        if case_type not in self.ctx.config.deadlines:
            raise InvalidInput(f"未知类型「{case_type}」（可选：{'、'.join(self.ctx.config.deadlines)}）", field="case_type")
        at = self.ctx.clock()
        with self.ctx.db.write() as s:
            # The number first: its counter row lock serialises case creation, so the duplicate
            # checks below see any case a concurrent click has just committed (PostgreSQL reads
            # committed rows anew per statement; SQLite's BEGIN IMMEDIATE already serialises).
            number = next_case_number(s, at)
            if new.alert_id:
                dup = s.scalar(select(Case.number).where(Case.alert_id == new.alert_id).order_by(Case.id))
                if dup:
                    raise InvalidInput(f"该预警已立案，编号 {dup}", field="alert_id")
            if new.event_id:
                dup = s.scalar(select(Case.number).where(Case.event_id == new.event_id, Case.status != CaseStatus.CLOSED.value))
                if dup:
                    raise InvalidInput(f"该事件已立案，编号 {dup}", field="event_id")
            case = Case(
                number=number,
                source=new.source,
                source_ref=new.source_ref,
                case_type=case_type,
                title=new.title,
                summary=new.summary,
                topic=new.topic,
                risk_level=new.risk_level,
                region=new.region,
                event_id=new.event_id,
                alert_id=new.alert_id,
                post_ids=list(new.post_ids),
                post_urls=list(new.post_urls),
                petitioner=new.petitioner,
                petitioner_phone=new.petitioner_phone,
                status=CaseStatus.PENDING.value,
                time_limit_days=new.time_limit_days or self.ctx.config.limit_for(case_type),
                created_by_id=actor.user_id or None,
                created_at=at,
                updated_at=at,
            )
            s.add(case)
            s.flush()
            self.audit.record(s, case, actor, "create", "case.created", None, case.status, note="")
            if new.unit_id is not None:
                req = CaseAction(
                    action="assign",
                    version=case.version,
                    unit_id=new.unit_id,
                    co_unit_ids=new.co_unit_ids,
                    time_limit_days=new.time_limit_days,
                )
                self._case_action(s, case, actor, req)
            case_id = case.id
        self.outbox.flush_after_commit()
        return self.cases.get_case(actor, case_id)

    def open_case(self, actor: Actor, new: NewCase) -> tuple[Case, bool]:
        """One-click 立案 from an alert or event: the case already opened for that alert (any state)
        or for that event (while open), else a new one. Returns the case and whether it is new."""
        if actor.role not in states.OFFICE:
            raise PermissionDenied(f"{states.ROLE_LABELS[actor.role]}无权登记案件")
        existing = self.cases.existing_case(new)
        if existing is None:
            try:
                return self.create_case(actor, new), True
            except InvalidInput as exc:
                # Lost a race with another click: the winner's case is the answer.
                existing = self.cases.existing_case(new) if exc.field in ("alert_id", "event_id") else None
                if existing is None:
                    raise
        return self.cases.get_case(actor, existing), False

    def act(self, actor: Actor, case_id: int, req: CaseAction) -> Case:
        with _StaleGuard(), self.ctx.db.write() as s:
            case = self.cases.lock_case(s, actor, case_id)
            if case.version != req.version:
                raise StaleVersion(f"案件 {case.number}", req.version, case.version)
            self._case_action(s, case, actor, req)
        self.outbox.flush_after_commit()
        # The case as committed, without reading it back (three queries fewer per status update): its
        # units, commitments and their attachments were loaded with the lock and it carries the new
        # version. Returned whoever may still see it: a unit that has just returned a case may not.
        return case

    def add_commitment(self, actor: Actor, case_id: int, req: NewCommitment) -> Commitment:
        at = self.ctx.clock()
        with _StaleGuard(), self.ctx.db.write() as s:
            case = self.cases.lock_case(s, actor, case_id)
            if case.version != req.version:
                raise StaleVersion(f"案件 {case.number}", req.version, case.version)
            unit_id = req.unit_id or case.unit_id
            if actor.role is Role.UNIT and unit_id != actor.unit_id:
                # A unit commits only for itself: a commitment for another unit would give that unit
                # the whole case and let this one record its fulfilment (docs/ledger.md, "Decisions").
                raise PermissionDenied("承办单位只能为本单位登记承诺；需要其他单位承诺的，请舆情监测员登记")
            # The state machine first: a refused action is refused whatever the form says.
            placeholder = CommitmentView(id=-1, status=CommitmentStatus.OPEN, unit_id=unit_id or 0)
            after = states.apply(view_of(case), "add_commitment", actor, new_commitment=placeholder)
            if unit_id is None or s.get(Unit, unit_id) is None:
                raise InvalidInput("承诺需要责任单位", field="unit_id")
            if req.due_at is not None:
                due = req.due_at
            elif req.due_workdays is not None:
                due = workdays.due_at(at, req.due_workdays)
            else:
                raise InvalidInput("请填写承诺时限", field="due_at")
            if due <= at:
                raise InvalidInput("承诺时限须晚于现在", field="due_at")
            seq = len(case.commitments) + 1
            com = Commitment(
                case_id=case.id,
                seq=seq,
                content=req.content,
                unit_id=unit_id,
                due_at=due,
                status=CommitmentStatus.OPEN.value,
                created_at=at,
                updated_at=at,
            )
            s.add(com)
            case.commitments.append(com)
            s.flush()
            case.updated_at = at  # bumps the case's version: its set of commitments changed
            s.flush()
            self.audit.record(
                s,
                case,
                actor,
                "add_commitment",
                "commitment.created",
                case.status,
                after.status.value,
                note=req.content[:200],
                commitment=com,
            )
            com_id = com.id
        self.outbox.flush_after_commit()
        return self.cases.commitment(com_id)

    def act_on_commitment(self, actor: Actor, commitment_id: int, req: CommitmentAction, files: Sequence[CheckedUpload] = ()) -> Commitment:
        at = self.ctx.clock()
        with _StaleGuard(), self.ctx.db.write() as s:
            case_id = s.scalar(select(Commitment.case_id).where(Commitment.id == commitment_id))
            if case_id is None:
                raise NotFound("没有这项承诺")
            case = self.cases.lock_case(s, actor, case_id)
            com = next(c for c in case.commitments if c.id == commitment_id)
            if com.version != req.version:
                raise StaleVersion(f"承诺 {case.number}-{com.seq}", req.version, com.version)
            before_case, before_com = case.status, com.status
            after = states.apply(view_of(case), req.action, actor, commitment_id=commitment_id)
            rule = states.COMMITMENT_RULES[req.action]
            _need_note(rule, req.note)
            if files and not rule.uploads:
                raise InvalidInput("只有登记落实情况时可以上传佐证材料", field="files")
            _need_fields(rule, req)
            effect = COMMITMENT_EFFECTS[rule.effect] if rule.effect else None
            data = effect(CommitmentChange(s, case, com, actor, req, files, at)) if effect else {}
            com.status = after.commitment(commitment_id).status.value  # type: ignore[union-attr]
            com.updated_at = at
            case.status = after.status.value
            case.updated_at = at  # the case's version moves with any change below it
            s.flush()
            self.audit.record(s, case, actor, req.action, rule.event, before_com, com.status, note=req.note, commitment=com, data=data)
            if case.status != before_case:
                self.audit.record(
                    s,
                    case,
                    actor,
                    f"derived:{req.action}",
                    DERIVED_EVENTS[CaseStatus(case.status)],
                    before_case,
                    case.status,
                    note=f"承诺「{com.content[:30]}」{rule.label}后，案件状态随承诺变化",
                )
        self.outbox.flush_after_commit()
        return self.cases.commitment(commitment_id)

    def _case_action(self, s: Session, case: Case, actor: Actor, req: CaseAction) -> None:
        """The dispatcher: the rule table (``states.CASE_RULES``) says who may do ``req.action`` in
        which state, what it needs and which side effect (``CASE_EFFECTS``) it has."""
        at = self.ctx.clock()
        rule = states.CASE_RULES[req.action]
        if rule.route != "act":
            raise InvalidInput(f"{rule.label}请用 {rule.route} 接口", field="action")
        before = case.status
        after = states.apply(view_of(case), req.action, actor, unit_id=req.unit_id or 0)  # 0: no such unit, checked by the effect
        _need_note(rule, req.note)
        _need_fields(rule, req)
        effect = CASE_EFFECTS[rule.effect] if rule.effect else None
        data = effect(CaseChange(s, case, req, at, self.ctx.config)) if effect else {}
        case.status = after.status.value
        case.updated_at = at
        s.flush()
        self.audit.record(s, case, actor, req.action, rule.event, before, case.status, note=req.note, data=data)


class _StaleGuard:
    """Turns a lost optimistic-locking race inside the ORM into the same StaleVersion a stale client gets."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, StaleDataError):
            raise StaleVersion("记录") from exc
        if isinstance(exc, IntegrityError):
            raise LedgerError(f"数据冲突：{exc.orig}") from exc


def _need_note(rule: states.Rule, note: str) -> None:
    if rule.note_required and not note.strip():
        raise InvalidInput(f"「{rule.label}」须填写说明", field="note")


# -- side effects on the stored records, named by the rule table ------------------------------------
@dataclass(frozen=True)
class CaseChange:
    """What a case action's side effect may touch; it returns the data its audit row records."""

    s: Session
    case: Case
    req: CaseAction
    at: datetime
    config: LedgerConfig


def _assign(ch: CaseChange) -> dict[str, Any]:
    s, case, req, at = ch.s, ch.case, ch.req, ch.at
    unit = s.get(Unit, req.unit_id)
    if unit is None or not unit.active:
        raise InvalidInput("没有这个单位，或单位已停用", field="unit_id")
    co = [u for u in (s.get(Unit, i) for i in dict.fromkeys(req.co_unit_ids)) if u is not None and u.id != unit.id]
    if len(co) != len({i for i in req.co_unit_ids if i != unit.id}):
        raise InvalidInput("协办单位中有不存在的单位", field="co_unit_ids")
    case.unit_id = unit.id
    case.unit = unit
    case.co_units = co
    if req.time_limit_days:
        case.time_limit_days = req.time_limit_days
    case.assigned_at = at
    case.due_at = workdays.due_at(at, case.time_limit_days)
    case.extended_days = 0
    return {"unit": unit.name, "co_units": [u.name for u in co], "due_at": case.due_at.isoformat()}


def _unassign(ch: CaseChange) -> dict[str, Any]:
    case = ch.case
    data = {"unit": case.unit.name if case.unit else None}
    case.unit_id = None
    case.unit = None
    case.co_units = []
    case.assigned_at = None
    case.due_at = None
    case.extension_pending = False
    case.extension_days = 0
    case.returned_count += 1
    return data


def _respond(ch: CaseChange) -> dict[str, Any]:
    case = ch.case
    case.response = ch.req.response or ""  # never empty here: the rule needs it
    case.responded_at = ch.at
    case.extension_pending = False
    case.extension_days = 0
    return {}


def _request_extension(ch: CaseChange) -> dict[str, Any]:
    ch.case.extension_pending = True
    ch.case.extension_days = ch.req.extension_days or 0
    return {"days": ch.req.extension_days}


def _extend(ch: CaseChange) -> dict[str, Any]:
    case = ch.case
    assert case.due_at is not None
    case.due_at = workdays.extend(case.due_at, case.extension_days)
    case.extended_days += case.extension_days
    data = {"days": case.extension_days, "due_at": case.due_at.isoformat()}
    case.extension_pending = False
    case.extension_days = 0
    return data


def _drop_extension(ch: CaseChange) -> dict[str, Any]:
    ch.case.extension_pending = False
    ch.case.extension_days = 0
    return {}


def _supervise(ch: CaseChange) -> dict[str, Any]:
    ch.case.supervise_count += 1
    return {}


def _close(ch: CaseChange) -> dict[str, Any]:
    ch.case.closed_at = ch.at
    return {}


def _edit(ch: CaseChange) -> dict[str, Any]:
    case = ch.case
    changed = {}
    for key, value in ch.req.fields.items():
        if key not in EDITABLE:
            raise InvalidInput(f"字段 {key[:40]} 不可修改", field=key[:40])
        if not isinstance(value, str):
            raise InvalidInput(f"{EDITABLE[key]}须为文字", field=key)
        limit = getattr(Case.__table__.c[key].type, "length", None)
        if limit is not None and len(value) > limit:
            raise InvalidInput(f"{EDITABLE[key]}最多 {limit} 个字符", field=key)
        if key == "case_type" and value not in ch.config.deadlines:
            raise InvalidInput(f"未知类型「{value}」", field="case_type")
        if key == "risk_level" and value not in ("低", "中", "高", "重大"):
            raise InvalidInput(f"未知风险等级「{value}」", field="risk_level")
        if getattr(case, key) != value:
            changed[key] = [getattr(case, key), value]
            setattr(case, key, value)
    if not changed:
        raise InvalidInput("没有要修改的内容", field="fields")
    return {"changed": changed}


CASE_EFFECTS: dict[str, Callable[[CaseChange], dict[str, Any]]] = {
    "assign": _assign,
    "unassign": _unassign,
    "respond": _respond,
    "request_extension": _request_extension,
    "extend": _extend,
    "drop_extension": _drop_extension,
    "supervise": _supervise,
    "close": _close,
    "edit": _edit,
}


@dataclass(frozen=True)
class CommitmentChange:
    """What a commitment action's side effect may touch; it returns the data its audit row records."""

    s: Session
    case: Case
    com: Commitment
    actor: Actor
    req: CommitmentAction
    files: Sequence[CheckedUpload]
    at: datetime


def _fulfil(ch: CommitmentChange) -> dict[str, Any]:
    com, req = ch.com, ch.req
    com.fulfilment = req.fulfilment or ""  # never empty here: the rule needs it
    com.fulfilled_at = ch.at
    com.evidence_links = [*com.evidence_links, *req.evidence_links]
    for f in ch.files:
        com.attachments.append(
            Attachment(
                filename=f.filename,
                content_type=f.content_type,
                size=len(f.data),
                sha256=f.sha256,
                data=f.data,
                uploaded_by_id=ch.actor.user_id or None,
            )
        )
    return {"evidence_links": req.evidence_links, "attachments": [f.filename for f in ch.files]}


def _reopen(ch: CommitmentChange) -> dict[str, Any]:
    ch.com.fulfilled_at = None
    return {}


def _disclose(ch: CommitmentChange) -> dict[str, Any]:
    com, req = ch.com, ch.req
    com.disclosure_channel = req.disclosure_channel or ""  # never empty here: the rule needs it
    com.disclosure_url = req.disclosure_url
    com.disclosed_at = ch.at
    return {"channel": req.disclosure_channel, "url": req.disclosure_url}


def _revisit(ch: CommitmentChange) -> dict[str, Any]:
    com, req = ch.com, ch.req
    com.revisit_result = req.revisit_result or ""
    com.satisfaction = req.satisfaction or ""  # never empty here: the rule needs it
    com.revisited_at = ch.at
    return {"satisfaction": req.satisfaction}


def _supervise_commitment(ch: CommitmentChange) -> dict[str, Any]:
    ch.com.supervise_count += 1
    return {}


COMMITMENT_EFFECTS: dict[str, Callable[[CommitmentChange], dict[str, Any]]] = {
    "fulfil": _fulfil,
    "reopen": _reopen,
    "disclose": _disclose,
    "revisit": _revisit,
    "supervise": _supervise_commitment,
}


def _need_fields(rule: states.Rule, req: CaseAction | CommitmentAction) -> None:
    for name, message in rule.needs:
        if not getattr(req, name):
            raise InvalidInput(message, field=name)


def check_rule_table() -> None:
    """The rule table and this module agree: every effect a rule names exists and is used, every
    field a rule needs is a field of its request, and the requests accept exactly the actions
    routed to "act". Run when the module loads, so a mismatch stops the program at start."""
    problems: list[str] = []
    tables: tuple[tuple[str, dict[str, states.Rule], dict[str, Any], type[CaseAction] | type[CommitmentAction]], ...] = (
        ("ledger.states.CASE_RULES", states.CASE_RULES, CASE_EFFECTS, CaseAction),
        ("ledger.states.COMMITMENT_RULES", states.COMMITMENT_RULES, COMMITMENT_EFFECTS, CommitmentAction),
    )
    for where, rules, effects, request in tables:
        named = {r.effect for r in rules.values() if r.effect}
        problems += [f"{where}[{a!r}]: no side effect {r.effect!r}" for a, r in rules.items() if r.effect and r.effect not in effects]
        problems += [f"{where}: side effect {e!r} is used by no rule" for e in effects if e not in named]
        problems += [
            f"{where}[{a!r}]: needs {name!r}, which {request.__name__} does not have"
            for a, r in rules.items()
            for name, _ in r.needs
            if name not in request.model_fields
        ]
        accepted = set(get_args(request.model_fields["action"].annotation))
        routed = {a for a, r in rules.items() if r.route == "act"}
        if accepted != routed:
            problems.append(f"{where}: {request.__name__}.action accepts {sorted(accepted)}, the table routes {sorted(routed)}")
    if problems:
        raise RuntimeError("the ledger's rule table and its side effects disagree: " + "; ".join(problems))


check_rule_table()

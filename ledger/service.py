"""The ledger's operations: every change goes through here, so every change is checked against the
state machine and the actor's role and unit, versioned, audited and published.

A change runs in one transaction that locks the case row first (``SELECT ... FOR UPDATE`` on
PostgreSQL; ``BEGIN IMMEDIATE`` on SQLite), compares the version the client saw, applies the
pure transition from ``ledger.states``, writes the audit row and the outbox event, and commits.
Events are published to the bus from the outbox after the commit (``flush_outbox``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy import case as sql_case
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from ledger import states, workdays
from ledger.config import LedgerConfig
from ledger.db import Database
from ledger.errors import InvalidInput, LedgerError, NotFound, PermissionDenied, StaleVersion
from ledger.events import TOPIC, make_event
from ledger.schemas import CaseAction, CommitmentAction, NewCase, NewCommitment
from ledger.security import burn_time, hash_password, new_session_token, new_token, token_hash, verify_password
from ledger.states import SYSTEM, Actor, CaseStatus, CaseView, CommitmentStatus, CommitmentView, Role
from ledger.tables import ApiToken, Attachment, AuditEntry, Case, CaseCoUnit, Commitment, Meta, OutboxMessage, SessionRow, Unit, User
from ledger.text import clean_text
from ledger.uploads import CheckedUpload
from yuqing.bus import Bus, OutMessage
from yuqing.errors import BusError
from yuqing.timeutil import now as _now

log = logging.getLogger("ledger")

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


@dataclass(frozen=True)
class Page:
    total: int
    items: list[Case]


def view_of(case: Case) -> CaseView:
    return CaseView(
        status=CaseStatus(case.status),
        unit_id=case.unit_id,
        co_unit_ids=frozenset(u.id for u in case.co_units),
        extension_pending=case.extension_pending,
        due_at=case.due_at,
        commitments=tuple(CommitmentView(c.id, CommitmentStatus(c.status), c.unit_id, c.due_at) for c in case.commitments),
    )


class LedgerService:
    def __init__(
        self, db: Database, config: LedgerConfig | None = None, *, bus: Bus | None = None, clock: Callable[[], datetime] = _now
    ) -> None:
        self.db = db
        self.config = config or LedgerConfig()
        self.bus = bus
        self.clock = clock
        self._flush_lock = threading.Lock()
        self._bus_down = False  # set by a failed publish after a commit, cleared by flush_pending
        self._topic_ready = False

    # -- units and users ----------------------------------------------------------------------
    def list_units(self, *, active_only: bool = False) -> list[Unit]:
        with self.db.read() as s:
            q = select(Unit).order_by(Unit.id)
            if active_only:
                q = q.where(Unit.active.is_(True))
            return list(s.scalars(q))

    def unit_by_name(self, name: str) -> Unit | None:
        with self.db.read() as s:
            return s.scalar(select(Unit).where(Unit.name == name))

    def create_unit(self, actor: Actor, name: str, kind: str = "部门", contact: str = "") -> Unit:
        self._require(actor, {Role.ADMIN}, "管理单位")
        name, kind, contact = clean_text(name).strip(), clean_text(kind).strip(), clean_text(contact).strip()
        if len(name) > 100 or len(kind) > 20 or len(contact) > 100:
            raise InvalidInput("单位名称最多 100 字，类型最多 20 字，联系方式最多 100 字", field="name")
        if not name:
            raise InvalidInput("单位名称不能为空", field="name")
        try:
            with self.db.write() as s:
                unit = Unit(name=name, kind=kind or "部门", contact=contact)
                s.add(unit)
                s.flush()
                return unit
        except IntegrityError as exc:
            raise InvalidInput(f"单位「{name}」已存在", field="name") from exc

    def set_unit_active(self, actor: Actor, unit_id: int, active: bool) -> None:
        self._require(actor, {Role.ADMIN}, "管理单位")
        with self.db.write() as s:
            unit = s.get(Unit, unit_id)
            if unit is None:
                raise NotFound("没有这个单位")
            unit.active = active

    def list_users(self, actor: Actor) -> list[User]:
        self._require(actor, {Role.ADMIN}, "管理用户")
        with self.db.read() as s:
            return list(s.scalars(select(User).order_by(User.id)))

    def create_user(
        self, actor: Actor, username: str, password: str, role: Role | str, *, unit_id: int | None = None, display_name: str = ""
    ) -> User:
        self._require(actor, {Role.ADMIN}, "管理用户")
        try:
            role = Role(role)
        except ValueError as exc:
            raise InvalidInput(f"未知角色 {role!r}（可选：{', '.join(r.value for r in Role)}）", field="role") from exc
        username, display_name = clean_text(username).strip(), clean_text(display_name).strip()
        if not username or len(username) > 64:
            raise InvalidInput("用户名须为 1-64 个字符", field="username")
        if any(c.isspace() for c in username):
            raise InvalidInput("用户名不能含空格", field="username")
        if len(display_name) > 64:
            raise InvalidInput("姓名最多 64 个字符", field="display_name")
        if (role is Role.UNIT) != (unit_id is not None):
            raise InvalidInput("承办单位用户必须指定单位，其他角色不属于单位", field="unit_id")
        pw_hash = hash_password(password, [username, display_name])
        try:
            with self.db.write() as s:
                if unit_id is not None and s.get(Unit, unit_id) is None:
                    raise InvalidInput("没有这个单位", field="unit_id")
                user = User(
                    username=username, display_name=display_name or username, role=role.value, unit_id=unit_id, password_hash=pw_hash
                )
                s.add(user)
                s.flush()
                s.refresh(user)
                return user
        except IntegrityError as exc:
            raise InvalidInput(f"用户名「{username}」已存在", field="username") from exc

    def set_password(self, actor: Actor, user_id: int, password: str) -> None:
        """A new password (the user's own, or a reset by an administrator); ends all the user's sessions."""
        if actor.user_id != user_id:
            self._require(actor, {Role.ADMIN}, "管理用户")
        with self.db.read() as s:
            found = s.get(User, user_id)
            if found is None:
                raise NotFound("没有这个用户")
            names = [found.username, found.display_name]
        pw_hash = hash_password(password, names)
        with self.db.write() as s:
            user = s.get(User, user_id)
            if user is None:
                raise NotFound("没有这个用户")
            user.password_hash = pw_hash
            s.execute(delete(SessionRow).where(SessionRow.user_id == user_id))

    def set_user_active(self, actor: Actor, user_id: int, active: bool) -> None:
        self._require(actor, {Role.ADMIN}, "管理用户")
        with self.db.write() as s:
            user = s.get(User, user_id)
            if user is None:
                raise NotFound("没有这个用户")
            user.active = active
            if not active:
                s.execute(delete(SessionRow).where(SessionRow.user_id == user_id))

    def authenticate(self, username: str, password: str) -> Actor | None:
        with self.db.read() as s:
            user = s.scalar(select(User).where(User.username == username.strip()))
        if user is None or not user.active:
            burn_time(password)
            return None
        if not verify_password(user.password_hash, password):
            return None
        with self.db.write() as s:
            s.execute(update(User).where(User.id == user.id).values(last_login_at=self.clock()))
        return _actor(user)

    def actor(self, user_id: int) -> Actor | None:
        with self.db.read() as s:
            user = s.get(User, user_id)
            return _actor(user) if user is not None and user.active else None

    # -- browser sessions (server-side, so they can be ended) ----------------------------------
    def start_session(self, user_id: int, address: str = "") -> str:
        """A new session for ``user_id``; returns the token the cookie carries (stored only as its hash).
        Sessions run on the wall clock, not ``self.clock`` (which tests and the demo move)."""
        token, digest = new_session_token()
        at = _now()
        with self.db.write() as s:
            s.execute(delete(SessionRow).where(SessionRow.expires_at <= at))  # housekeeping: expired rows
            s.add(
                SessionRow(
                    id=digest,
                    user_id=user_id,
                    created_at=at,
                    expires_at=at + timedelta(hours=self.config.session_hours),
                    address=address[:64],
                )
            )
        return token

    def actor_for_session(self, token: str) -> Actor | None:
        """The signed-in user of a live session; None when it ended, expired or the user was deactivated."""
        # One query of the columns an Actor needs (it runs on every page view), not two ORM loads.
        query = select(*_ACTOR_COLUMNS, SessionRow.expires_at).join(User, User.id == SessionRow.user_id)
        with self.db.read() as s:
            row = s.execute(query.where(SessionRow.id == token_hash(token))).first()
        if row is None or row.expires_at <= _now() or not row.active:
            return None
        return _actor_of_row(row)

    def end_session(self, token: str) -> None:
        with self.db.write() as s:
            s.execute(delete(SessionRow).where(SessionRow.id == token_hash(token)))

    def end_sessions(self, actor: Actor, user_id: int) -> int:
        """Signs ``user_id`` out everywhere (an administrator, or the user); returns how many sessions ended."""
        if actor.user_id != user_id:
            self._require(actor, {Role.ADMIN}, "管理用户")
        with self.db.write() as s:
            return int(s.execute(delete(SessionRow).where(SessionRow.user_id == user_id)).rowcount or 0)  # type: ignore[attr-defined]

    def issue_token(self, actor: Actor, user_id: int, name: str = "") -> str:
        """A new API token acting as ``user_id``; returns the token, which is stored only as its hash."""
        self._require(actor, {Role.ADMIN}, "签发接口令牌")
        name = clean_text(name).strip()
        if len(name) > 100:
            raise InvalidInput("令牌名称最多 100 个字符", field="name")
        token, digest, prefix = new_token()
        with self.db.write() as s:
            if s.get(User, user_id) is None:
                raise NotFound("没有这个用户")
            s.add(ApiToken(user_id=user_id, name=name, token_hash=digest, prefix=prefix))
        return token

    def list_tokens(self, actor: Actor) -> list[ApiToken]:
        self._require(actor, {Role.ADMIN}, "管理接口令牌")
        with self.db.read() as s:
            return list(s.scalars(select(ApiToken).order_by(ApiToken.id)))

    def revoke_token(self, actor: Actor, token_id: int) -> None:
        self._require(actor, {Role.ADMIN}, "管理接口令牌")
        with self.db.write() as s:
            tok = s.get(ApiToken, token_id)
            if tok is None:
                raise NotFound("没有这个令牌")
            tok.revoked_at = self.clock()

    def actor_for_token(self, token: str) -> Actor | None:
        # One query of the columns an Actor needs (it runs on every API call), not ORM objects.
        query = select(*_ACTOR_COLUMNS, ApiToken.revoked_at).join(User, User.id == ApiToken.user_id)
        with self.db.read() as s:
            row = s.execute(query.where(ApiToken.token_hash == token_hash(token))).first()
        if row is None or row.revoked_at is not None or not row.active:
            return None
        return _actor_of_row(row)

    # -- secrets kept in the database ----------------------------------------------------------
    def meta(self, key: str, default: Callable[[], str]) -> str:
        """A value stored once and shared by every process (e.g. the session signing key)."""
        with self.db.read() as s:
            row = s.get(Meta, key)
            if row is not None:
                return row.value
        with self.db.write() as s:
            stmt = _insert(s)(Meta).values(key=key, value=default()).on_conflict_do_nothing()
            s.execute(stmt)
        with self.db.read() as s:
            row = s.get(Meta, key)
            assert row is not None
            return row.value

    # -- reading cases -------------------------------------------------------------------------
    def _visible(self, actor: Actor) -> Any:
        if actor.role is not Role.UNIT:
            return True
        uid = actor.unit_id
        return or_(
            Case.unit_id == uid,
            exists().where(and_(CaseCoUnit.case_id == Case.id, CaseCoUnit.unit_id == uid)),
            exists().where(and_(Commitment.case_id == Case.id, Commitment.unit_id == uid)),
        )

    def overdue_clause(self, at: datetime) -> Any:
        return or_(
            and_(Case.status.in_([s.value for s in states.REPLY_CLOCK]), Case.due_at < at),
            and_(
                Case.status == CaseStatus.FULFILLING.value,
                exists().where(
                    and_(Commitment.case_id == Case.id, Commitment.status == CommitmentStatus.OPEN.value, Commitment.due_at < at)
                ),
            ),
        )

    def deadline_clause(self) -> Any:
        """The deadline running now: the reply's, else the earliest open commitment's; NULL otherwise."""
        earliest = (
            select(func.min(Commitment.due_at))
            .where(Commitment.case_id == Case.id, Commitment.status == CommitmentStatus.OPEN.value)
            .scalar_subquery()
        )
        return sql_case(
            (Case.status.in_([s.value for s in states.REPLY_CLOCK]), Case.due_at),
            (Case.status == CaseStatus.FULFILLING.value, earliest),
            else_=None,
        )

    def list_cases(
        self,
        actor: Actor,
        *,
        unit_id: int | None = None,
        status: str | None = None,
        overdue: bool | None = None,
        text: str | None = None,
        limit: int = 50,
        offset: int = 0,
        sort: str = "new",
    ) -> Page:
        """``sort``: "new" (newest first) or "deadline" (the deadline running now, soonest first; cases
        with no running deadline last) — the same rule as ``web.guide.deadline_of``."""
        if sort not in ("new", "deadline"):
            raise InvalidInput(f"未知排序 {sort!r}", field="sort")
        at = self.clock()
        cond = [self._visible(actor)]
        if unit_id is not None:
            cond.append(Case.unit_id == unit_id)
        if status:
            try:
                cond.append(Case.status == CaseStatus(status).value)
            except ValueError as exc:
                raise InvalidInput(f"未知状态 {status!r}", field="status") from exc
        if overdue is not None:
            clause = self.overdue_clause(at)
            cond.append(clause if overdue else ~clause)
        if text and text.strip():
            like = f"%{escape_like(text.strip())}%"
            cond.append(or_(*(col.like(like, escape="\\") for col in (Case.title, Case.summary, Case.number))))
        with self.db.read() as s:
            # The total rides along with the page (a window count over the filtered rows): one
            # query fewer. Only a page past the end, which has no row to carry it, counts apart.
            rows = s.execute(
                select(Case, func.count().over().label("total"))
                .where(*cond)
                .order_by(*((self.deadline_clause().asc().nulls_last(),) if sort == "deadline" else ()), Case.id.desc())
                .limit(limit)
                .offset(offset)
                .options(selectinload(Case.commitments).selectinload(Commitment.attachments))
            ).all()
            if rows:
                return Page(total=int(rows[0].total), items=[r[0] for r in rows])
            if not offset:
                return Page(total=0, items=[])
            return Page(total=s.scalar(select(func.count()).select_from(Case).where(*cond)) or 0, items=[])

    def get_case(self, actor: Actor, case_id: int) -> Case:
        with self.db.read() as s:
            case = s.scalar(select(Case).where(Case.id == case_id, self._visible(actor)))
            if case is None:
                raise NotFound(f"没有编号为 {case_id} 的案件，或您无权查看")
            for c in case.commitments:
                _ = c.attachments
            return case

    def audit(self, actor: Actor, case_id: int) -> list[AuditEntry]:
        self.get_case(actor, case_id)
        with self.db.read() as s:
            return list(s.scalars(select(AuditEntry).where(AuditEntry.case_id == case_id).order_by(AuditEntry.id)))

    def is_overdue(self, case: Case, at: datetime | None = None) -> bool:
        return states.is_overdue(view_of(case), at or self.clock())

    def get_attachment(self, actor: Actor, attachment_id: int) -> tuple[Attachment, bytes]:
        with self.db.read() as s:
            att = s.get(Attachment, attachment_id)
            if att is None:
                raise NotFound("没有这个附件")
            case_id = att.commitment.case_id
            data = att.data
        self.get_case(actor, case_id)  # visibility of the attachment is that of its case
        return att, data

    # -- changing cases ------------------------------------------------------------------------
    def create_case(self, actor: Actor, new: NewCase) -> Case:
        if actor.role not in states.OFFICE:
            raise PermissionDenied(f"{states.ROLE_LABELS[actor.role]}无权登记案件")
        case_type = new.case_type or self.config.default_case_type
        if case_type not in self.config.deadlines:
            raise InvalidInput(f"未知类型「{case_type}」（可选：{'、'.join(self.config.deadlines)}）", field="case_type")
        at = self.clock()
        with self.db.write() as s:
            # The number first: its counter row lock serialises case creation, so the duplicate
            # checks below see any case a concurrent click has just committed (PostgreSQL reads
            # committed rows anew per statement; SQLite's BEGIN IMMEDIATE already serialises).
            number = self._next_number(s, at)
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
                time_limit_days=new.time_limit_days or self.config.limit_for(case_type),
                created_by_id=actor.user_id or None,
                created_at=at,
                updated_at=at,
            )
            s.add(case)
            s.flush()
            self._record(s, case, actor, "create", "case.created", None, case.status, note="")
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
        self._flush_after_commit()
        return self.get_case(actor, case_id)

    def open_case(self, actor: Actor, new: NewCase) -> tuple[Case, bool]:
        """One-click 立案 from an alert or event: the case already opened for that alert (any state)
        or for that event (while open), else a new one. Returns the case and whether it is new."""
        if actor.role not in states.OFFICE:
            raise PermissionDenied(f"{states.ROLE_LABELS[actor.role]}无权登记案件")
        existing = self._existing_case(new)
        if existing is None:
            try:
                return self.create_case(actor, new), True
            except InvalidInput as exc:
                # Lost a race with another click: the winner's case is the answer.
                existing = self._existing_case(new) if exc.field in ("alert_id", "event_id") else None
                if existing is None:
                    raise
        return self.get_case(actor, existing), False

    def _existing_case(self, new: NewCase) -> int | None:
        with self.db.read() as s:
            if new.alert_id:
                found = s.scalar(select(Case.id).where(Case.alert_id == new.alert_id).order_by(Case.id))
                if found is not None:
                    return found
            if new.event_id:
                return s.scalar(
                    select(Case.id).where(Case.event_id == new.event_id, Case.status != CaseStatus.CLOSED.value).order_by(Case.id)
                )
        return None

    def cases_for_alerts(self, actor: Actor, alert_ids: Sequence[str], event_ids: Sequence[str] = ()) -> list[Case]:
        """Cases opened for these alerts or about these events, oldest first, as ``actor`` may see them."""
        match = [Case.alert_id.in_(list(alert_ids))] if alert_ids else []
        if event_ids:
            match.append(Case.event_id.in_(list(event_ids)))
        if not match:
            return []
        with self.db.read() as s:
            return list(s.scalars(select(Case).where(or_(*match), self._visible(actor)).order_by(Case.id)))

    def case_numbers_for_alerts(self, actor: Actor, alert_ids: Sequence[str]) -> list[tuple[int, str | None, str]]:
        """(id, number, alert id) of the cases opened for these alerts that ``actor`` may see, oldest
        first: what the alert list shows, without loading each case's units and commitments."""
        if not alert_ids:
            return []
        query = (
            select(Case.id, Case.number, Case.alert_id).where(Case.alert_id.in_(list(alert_ids)), self._visible(actor)).order_by(Case.id)
        )
        with self.db.read() as s:
            return [(r.id, r.number, r.alert_id) for r in s.execute(query)]

    def act(self, actor: Actor, case_id: int, req: CaseAction) -> Case:
        with self._conflicts(), self.db.write() as s:
            case = self._lock_case(s, actor, case_id)
            if case.version != req.version:
                raise StaleVersion(f"案件 {case.number}", req.version, case.version)
            self._case_action(s, case, actor, req)
        self._flush_after_commit()
        # The case as committed, without reading it back (three queries fewer per status update): its
        # units, commitments and their attachments were loaded with the lock and it carries the new
        # version. Returned whoever may still see it: a unit that has just returned a case may not.
        return case

    def add_commitment(self, actor: Actor, case_id: int, req: NewCommitment) -> Commitment:
        at = self.clock()
        with self._conflicts(), self.db.write() as s:
            case = self._lock_case(s, actor, case_id)
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
            self._record(
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
        self._flush_after_commit()
        return self._commitment(com_id)

    def act_on_commitment(self, actor: Actor, commitment_id: int, req: CommitmentAction, files: Sequence[CheckedUpload] = ()) -> Commitment:
        at = self.clock()
        with self._conflicts(), self.db.write() as s:
            case_id = s.scalar(select(Commitment.case_id).where(Commitment.id == commitment_id))
            if case_id is None:
                raise NotFound("没有这项承诺")
            case = self._lock_case(s, actor, case_id)
            com = next(c for c in case.commitments if c.id == commitment_id)
            if com.version != req.version:
                raise StaleVersion(f"承诺 {case.number}-{com.seq}", req.version, com.version)
            before_case, before_com = case.status, com.status
            after = states.apply(view_of(case), req.action, actor, commitment_id=commitment_id)
            rule = states.COMMITMENT_RULES[req.action]
            _need_note(rule, req.note)
            data: dict[str, Any] = {}
            if req.action == "fulfil":
                if not req.fulfilment:
                    raise InvalidInput("请填写落实情况", field="fulfilment")
                com.fulfilment = req.fulfilment
                com.fulfilled_at = at
                com.evidence_links = [*com.evidence_links, *req.evidence_links]
                for f in files:
                    com.attachments.append(
                        Attachment(
                            filename=f.filename,
                            content_type=f.content_type,
                            size=len(f.data),
                            sha256=f.sha256,
                            data=f.data,
                            uploaded_by_id=actor.user_id or None,
                        )
                    )
                data = {"evidence_links": req.evidence_links, "attachments": [f.filename for f in files]}
            elif files:
                raise InvalidInput("只有登记落实情况时可以上传佐证材料", field="files")
            if req.action == "reject":
                com.fulfilled_at = None
            elif req.action == "disclose":
                if not req.disclosure_channel:
                    raise InvalidInput("请填写公开渠道", field="disclosure_channel")
                com.disclosure_channel = req.disclosure_channel
                com.disclosure_url = req.disclosure_url
                com.disclosed_at = at
                data = {"channel": req.disclosure_channel, "url": req.disclosure_url}
            elif req.action == "revisit":
                if not req.satisfaction:
                    raise InvalidInput("请选择满意度", field="satisfaction")
                com.revisit_result = req.revisit_result or ""
                com.satisfaction = req.satisfaction
                com.revisited_at = at
                data = {"satisfaction": req.satisfaction}
            elif req.action == "supervise":
                com.supervise_count += 1
            com.status = after.commitment(commitment_id).status.value  # type: ignore[union-attr]
            com.updated_at = at
            case.status = after.status.value
            case.updated_at = at  # the case's version moves with any change below it
            s.flush()
            self._record(s, case, actor, req.action, rule.event, before_com, com.status, note=req.note, commitment=com, data=data)
            if case.status != before_case:
                self._record(
                    s,
                    case,
                    actor,
                    f"derived:{req.action}",
                    DERIVED_EVENTS[CaseStatus(case.status)],
                    before_case,
                    case.status,
                    note=f"承诺「{com.content[:30]}」{rule.label}后，案件状态随承诺变化",
                )
        self._flush_after_commit()
        return self._commitment(commitment_id)

    def _commitment(self, commitment_id: int) -> Commitment:
        with self.db.read() as s:
            com = s.get(Commitment, commitment_id)
            assert com is not None
            _ = com.attachments, com.case
            return com

    def _case_action(self, s: Session, case: Case, actor: Actor, req: CaseAction) -> None:
        at = self.clock()
        rule = states.CASE_RULES[req.action]
        if req.action == "add_commitment":
            raise InvalidInput("登记承诺请用 commitments 接口", field="action")
        before = case.status
        after = states.apply(view_of(case), req.action, actor, unit_id=req.unit_id or 0)  # 0: no such unit, checked below
        _need_note(rule, req.note)
        data: dict[str, Any] = {}
        if req.action == "assign":
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
            data = {"unit": unit.name, "co_units": [u.name for u in co], "due_at": case.due_at.isoformat()}
        elif req.action == "return":
            data = {"unit": case.unit.name if case.unit else None}
            case.unit_id = None
            case.unit = None
            case.co_units = []
            case.assigned_at = None
            case.due_at = None
            case.extension_pending = False
            case.extension_days = 0
            case.returned_count += 1
        elif req.action == "respond":
            if not req.response:
                raise InvalidInput("请填写回应内容", field="response")
            case.response = req.response
            case.responded_at = at
            case.extension_pending = False
            case.extension_days = 0
        elif req.action == "request_extension":
            if not req.extension_days:
                raise InvalidInput("请填写申请延期的工作日数", field="extension_days")
            case.extension_pending = True
            case.extension_days = req.extension_days
            data = {"days": req.extension_days}
        elif req.action == "approve_extension":
            assert case.due_at is not None
            case.due_at = workdays.extend(case.due_at, case.extension_days)
            case.extended_days += case.extension_days
            data = {"days": case.extension_days, "due_at": case.due_at.isoformat()}
            case.extension_pending = False
            case.extension_days = 0
        elif req.action == "reject_extension":
            case.extension_pending = False
            case.extension_days = 0
        elif req.action == "supervise":
            case.supervise_count += 1
        elif req.action == "close":
            case.closed_at = at
        elif req.action == "edit":
            changed = {}
            for key, value in req.fields.items():
                if key not in EDITABLE:
                    raise InvalidInput(f"字段 {key[:40]} 不可修改", field=key[:40])
                if not isinstance(value, str):
                    raise InvalidInput(f"{EDITABLE[key]}须为文字", field=key)
                limit = getattr(Case.__table__.c[key].type, "length", None)
                if limit is not None and len(value) > limit:
                    raise InvalidInput(f"{EDITABLE[key]}最多 {limit} 个字符", field=key)
                if key == "case_type" and value not in self.config.deadlines:
                    raise InvalidInput(f"未知类型「{value}」", field="case_type")
                if key == "risk_level" and value not in ("低", "中", "高", "重大"):
                    raise InvalidInput(f"未知风险等级「{value}」", field="risk_level")
                if getattr(case, key) != value:
                    changed[key] = [getattr(case, key), value]
                    setattr(case, key, value)
            if not changed:
                raise InvalidInput("没有要修改的内容", field="fields")
            data = {"changed": changed}
        case.status = after.status.value
        case.updated_at = at
        s.flush()
        self._record(s, case, actor, req.action, rule.event, before, case.status, note=req.note, data=data)

    def _lock_case(self, s: Session, actor: Actor, case_id: int) -> Case:
        case = s.scalar(select(Case).where(Case.id == case_id).with_for_update(of=Case).execution_options(populate_existing=True))
        if case is None:
            raise NotFound(f"没有编号为 {case_id} 的案件")
        if actor.role is Role.UNIT and s.scalar(select(Case.id).where(Case.id == case_id, self._visible(actor))) is None:
            raise NotFound(f"没有编号为 {case_id} 的案件，或您无权查看")
        return case

    def _conflicts(self) -> Any:
        return _StaleGuard()

    def _next_number(self, s: Session, at: datetime) -> str:
        """编号 YQ-2026-00001: a per-year counter in ledger_meta, incremented under the write lock."""
        key = f"case_seq:{at.year}"
        s.execute(_insert(s)(Meta).values(key=key, value="0").on_conflict_do_nothing())
        row = s.scalar(select(Meta).where(Meta.key == key).with_for_update())
        assert row is not None
        n = int(row.value) + 1
        row.value = str(n)
        return f"YQ-{at.year}-{n:05d}"

    def _record(
        self,
        s: Session,
        case: Case,
        actor: Actor,
        action: str,
        event: str,
        before: str | None,
        after: str,
        *,
        note: str = "",
        commitment: Commitment | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        at = self.clock()
        s.add(
            AuditEntry(
                case_id=case.id,
                commitment_id=commitment.id if commitment else None,
                action=action,
                event=event,
                actor_id=actor.user_id or None,
                actor_name=actor.username,
                actor_role=actor.role.value,
                from_status=before,
                to_status=after,
                note=note,
                data=data or {},
                created_at=at,
            )
        )
        fields: dict[str, Any] = {
            "case_id": case.id,
            "case_number": case.number or "",
            "action": action,
            "from_status": before,
            "to_status": after,
            "actor": actor.username,
            "actor_role": actor.role.value,
            "unit": case.unit.name if case.unit else None,
            "event_id": case.event_id,
            "note": note,
            "at": at,
        }
        if commitment is not None:
            fields.update(commitment_id=commitment.id, commitment_unit=commitment.unit.name if commitment.unit else None)
        ev = make_event(event, **fields)
        s.add(OutboxMessage(topic=TOPIC, key=str(case.id), payload=ev.model_dump_json(), created_at=at))

    def record_system_event(self, s: Session, case: Case, event: str, note: str, commitment: Commitment | None = None) -> None:
        """Audit and publish something the scheduler noticed (overdue, reminded) without a state change."""
        state = commitment.status if commitment is not None else case.status
        self._record(s, case, SYSTEM, event.split(".")[1], event, state, state, note=note, commitment=commitment)

    @staticmethod
    def _require(actor: Actor, roles: set[Role], what: str) -> None:
        if actor.role not in roles:
            raise PermissionDenied(f"{states.ROLE_LABELS[actor.role]}无权{what}")

    # -- outbox -> bus -------------------------------------------------------------------------
    def _flush_after_commit(self) -> None:
        """Publish what a committed change put in the outbox. The change stands whether or not
        the bus answers: with the bus down its events wait in the outbox for the scheduled
        ``flush_outbox`` job (every 30 s), and the user is not told that a saved change failed.
        After one failure, requests stop trying until the scheduled job gets through again, so an
        outage costs one user one slow answer, not every user every time."""
        if self._bus_down:
            return
        try:
            self.flush_outbox()
        except BusError as exc:
            self._bus_down = True
            log.warning("ledger: the bus is unavailable; events wait in the outbox until it is back: %s", exc)
        except SQLAlchemyError as exc:
            log.warning("ledger: events wait in the outbox (database: %s)", str(exc).splitlines()[0][:200])

    def flush_pending(self) -> int:
        """The scheduled job: publish everything waiting; re-opens the path after an outage."""
        sent = self.flush_outbox()
        if self._bus_down:
            self._bus_down = False
            log.warning("ledger: the bus is back; %d waiting events published", sent)
        return sent

    def flush_outbox(self, limit: int = 500) -> int:
        """Publish pending events in order; returns how many. Without a bus, events wait in the outbox."""
        if self.bus is None:
            return 0
        sent = 0
        with self._flush_lock:
            if not self._topic_ready:
                self.bus.ensure_topic(TOPIC)
                self._topic_ready = True
            while True:
                with self.db.read() as s:
                    rows = list(
                        s.execute(
                            select(OutboxMessage.id, OutboxMessage.topic, OutboxMessage.key, OutboxMessage.payload)
                            .where(OutboxMessage.published_at.is_(None))
                            .order_by(OutboxMessage.id)
                            .limit(limit)
                        )
                    )
                if not rows:
                    return sent
                by_topic: dict[str, list[OutMessage]] = {}
                for _, topic, key, payload in rows:
                    by_topic.setdefault(topic, []).append(OutMessage(key=key, value=payload.encode("utf-8")))
                for topic, msgs in by_topic.items():
                    self.bus.publish(topic, msgs)
                with self.db.write() as s:
                    s.execute(update(OutboxMessage).where(OutboxMessage.id.in_([r[0] for r in rows])).values(published_at=self.clock()))
                sent += len(rows)

    # -- public disclosure -----------------------------------------------------------------------
    def disclosed_commitments(self, limit: int = 50) -> list[Commitment]:
        with self.db.read() as s:
            rows = s.scalars(
                select(Commitment)
                .where(Commitment.status == CommitmentStatus.DISCLOSED.value)
                .order_by(Commitment.disclosed_at.desc(), Commitment.id.desc())
                .limit(limit)
                .options(selectinload(Commitment.case))
            )
            out = list(rows)
            for c in out:
                _ = c.case.unit
            return out


class _StaleGuard:
    """Turns a lost optimistic-locking race inside the ORM into the same StaleVersion a stale client gets."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, StaleDataError):
            raise StaleVersion("记录") from exc
        if isinstance(exc, IntegrityError):
            raise LedgerError(f"数据冲突：{exc.orig}") from exc


def escape_like(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern (escape character ``\\``): % and _ match only themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _need_note(rule: states.Rule, note: str) -> None:
    if rule.note_required and not note.strip():
        raise InvalidInput(f"「{rule.label}」须填写说明", field="note")


def _actor(user: User) -> Actor:
    return Actor(user_id=user.id, username=user.username, role=Role(user.role), unit_id=user.unit_id, display_name=user.display_name)


_ACTOR_COLUMNS = (User.id, User.username, User.role, User.unit_id, User.display_name, User.active)


def _actor_of_row(row: Any) -> Actor:
    return Actor(user_id=row.id, username=row.username, role=Role(row.role), unit_id=row.unit_id, display_name=row.display_name)


def _insert(s: Session) -> Any:
    return pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert

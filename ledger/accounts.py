"""Accounts: units, users, roles, sign-in, browser sessions and API tokens.

Who may manage them: administrators (and each user their own password and sessions). Passwords are
argon2 hashes (``ledger.security``); session and API tokens are stored only as their hashes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from ledger.context import LedgerContext
from ledger.errors import InvalidInput, NotFound, PermissionDenied
from ledger.security import burn_time, hash_password, new_session_token, new_token, token_hash, verify_password
from ledger.states import ROLE_LABELS, Actor, Role
from ledger.tables import ApiToken, SessionRow, Unit, User
from ledger.text import clean_text
from yuqing.timeutil import now as _now


class ActorCache:
    """Who a session or API token belongs to, kept ``seconds`` per web process (issue 9: the lookup
    was one query on every request; the web app asks with ``kept=True``, every other caller reads
    the database). Only live answers are kept (an unknown, ended or revoked
    credential is asked about each time, so random tokens cannot fill it), keyed by the credential's
    SHA-256 as the database keys it, at most ``MAX`` of them.

    Revocation stays prompt: every change of accounts in this process (sign-out, sign-out
    everywhere, password change or reset, deactivation, token revocation) empties the cache at once,
    and an answer read from the database while such a change was being made is not kept (the
    generation check). Another process (a second uvicorn worker, the CLI) reaches this one within
    ``seconds`` (``ledger.auth_cache_seconds``, default 2); a session's own expiry is checked on
    every hit."""

    MAX = 10_000

    def __init__(self, seconds: Callable[[], float], clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds  # read at each use: tests swap the service's configuration
        self.clock = clock
        self._entries: dict[str, tuple[float, Actor, datetime | None]] = {}
        self.generation = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str, at: Callable[[], datetime]) -> Actor | None:
        hit = self._entries.get(key)
        if hit is None:
            return None
        kept, actor, expires = hit
        if self.clock() - kept >= self.seconds() or (expires is not None and expires <= at()):
            self._entries.pop(key, None)
            return None
        return actor

    def put(self, key: str, actor: Actor, expires: datetime | None, generation: int) -> None:
        if self.seconds() <= 0 or generation != self.generation:
            return  # an account changed while this answer was being read: not kept
        if len(self._entries) >= self.MAX:
            self._entries.clear()
        self._entries[key] = (self.clock(), actor, expires)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()


class Accounts:
    def __init__(self, ctx: LedgerContext) -> None:
        self.ctx = ctx
        self.actor_cache = ActorCache(lambda: self.ctx.config.auth_cache_seconds)

    def _changed(self) -> None:
        """Sessions, tokens or users changed (committed): no sign-in answer kept here outlives it."""
        self.actor_cache.clear()

    # -- units and users ----------------------------------------------------------------------
    def list_units(self, *, active_only: bool = False) -> list[Unit]:
        with self.ctx.db.read() as s:
            q = select(Unit).order_by(Unit.id)
            if active_only:
                q = q.where(Unit.active.is_(True))
            return list(s.scalars(q))

    def unit_by_name(self, name: str) -> Unit | None:
        with self.ctx.db.read() as s:
            return s.scalar(select(Unit).where(Unit.name == name))

    def create_unit(self, actor: Actor, name: str, kind: str = "部门", contact: str = "") -> Unit:
        require_role(actor, {Role.ADMIN}, "管理单位")
        name, kind, contact = clean_text(name).strip(), clean_text(kind).strip(), clean_text(contact).strip()
        if len(name) > 100 or len(kind) > 20 or len(contact) > 100:
            raise InvalidInput("单位名称最多 100 字，类型最多 20 字，联系方式最多 100 字", field="name")
        if not name:
            raise InvalidInput("单位名称不能为空", field="name")
        try:
            with self.ctx.db.write() as s:
                unit = Unit(name=name, kind=kind or "部门", contact=contact)
                s.add(unit)
                s.flush()
                return unit
        except IntegrityError as exc:
            raise InvalidInput(f"单位「{name}」已存在", field="name") from exc

    def set_unit_active(self, actor: Actor, unit_id: int, active: bool) -> None:
        require_role(actor, {Role.ADMIN}, "管理单位")
        with self.ctx.db.write() as s:
            unit = s.get(Unit, unit_id)
            if unit is None:
                raise NotFound("没有这个单位")
            unit.active = active

    def list_users(self, actor: Actor) -> list[User]:
        require_role(actor, {Role.ADMIN}, "管理用户")
        with self.ctx.db.read() as s:
            return list(s.scalars(select(User).order_by(User.id)))

    def create_user(
        self, actor: Actor, username: str, password: str, role: Role | str, *, unit_id: int | None = None, display_name: str = ""
    ) -> User:
        require_role(actor, {Role.ADMIN}, "管理用户")
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
            with self.ctx.db.write() as s:
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
            require_role(actor, {Role.ADMIN}, "管理用户")
        with self.ctx.db.read() as s:
            found = s.get(User, user_id)
            if found is None:
                raise NotFound("没有这个用户")
            names = [found.username, found.display_name]
        pw_hash = hash_password(password, names)
        with self.ctx.db.write() as s:
            user = s.get(User, user_id)
            if user is None:
                raise NotFound("没有这个用户")
            user.password_hash = pw_hash
            s.execute(delete(SessionRow).where(SessionRow.user_id == user_id))
        self._changed()

    def set_user_active(self, actor: Actor, user_id: int, active: bool) -> None:
        require_role(actor, {Role.ADMIN}, "管理用户")
        with self.ctx.db.write() as s:
            user = s.get(User, user_id)
            if user is None:
                raise NotFound("没有这个用户")
            user.active = active
            if not active:
                s.execute(delete(SessionRow).where(SessionRow.user_id == user_id))
        self._changed()

    def authenticate(self, username: str, password: str) -> Actor | None:
        with self.ctx.db.read() as s:
            user = s.scalar(select(User).where(User.username == username.strip()))
        if user is None or not user.active:
            burn_time(password)
            return None
        if not verify_password(user.password_hash, password):
            return None
        with self.ctx.db.write() as s:
            s.execute(update(User).where(User.id == user.id).values(last_login_at=self.ctx.clock()))
        return actor_of(user)

    def actor(self, user_id: int) -> Actor | None:
        with self.ctx.db.read() as s:
            user = s.get(User, user_id)
            return actor_of(user) if user is not None and user.active else None

    # -- browser sessions (server-side, so they can be ended) ----------------------------------
    def start_session(self, user_id: int, address: str = "") -> str:
        """A new session for ``user_id``; returns the token the cookie carries (stored only as its hash).
        Sessions run on the wall clock, not the ledger's clock (which tests and the demo move)."""
        token, digest = new_session_token()
        at = _now()
        with self.ctx.db.write() as s:
            s.execute(delete(SessionRow).where(SessionRow.expires_at <= at))  # housekeeping: expired rows
            s.add(
                SessionRow(
                    id=digest,
                    user_id=user_id,
                    created_at=at,
                    expires_at=at + timedelta(hours=self.ctx.config.session_hours),
                    address=address[:64],
                )
            )
        return token

    def kept_actor(self, *, session: str | None = None, token: str | None = None) -> Actor | None:
        """``actor_for_session`` / ``actor_for_token`` when the answer is kept in this process (no
        query: an async caller need not go to a thread for it); None when it is not."""
        if token is not None:
            return self.actor_cache.get("t:" + token_hash(token), _now)
        return self.actor_cache.get("s:" + token_hash(session), _now) if session is not None else None

    def actor_for_session(self, token: str, *, kept: bool = False) -> Actor | None:
        """The signed-in user of a live session; None when it ended, expired or the user was deactivated.
        ``kept``: an answer this process keeps (``ActorCache``: the web app's requests) will do."""
        key = "s:" + token_hash(token)
        cached = self.actor_cache.get(key, _now) if kept else None
        if cached is not None:
            return cached
        generation = self.actor_cache.generation
        # One query of the columns an Actor needs (it runs on every page view), not two ORM loads.
        with self.ctx.db.read() as s:
            row = s.execute(_SESSION_QUERY.where(SessionRow.id == key[2:])).first()
        if row is None or row.expires_at <= _now() or not row.active:
            return None
        actor = actor_of_row(row)
        self.actor_cache.put(key, actor, row.expires_at, generation)
        return actor

    def end_session(self, token: str) -> None:
        with self.ctx.db.write() as s:
            s.execute(delete(SessionRow).where(SessionRow.id == token_hash(token)))
        self._changed()

    def end_sessions(self, actor: Actor, user_id: int) -> int:
        """Signs ``user_id`` out everywhere (an administrator, or the user); returns how many sessions ended."""
        if actor.user_id != user_id:
            require_role(actor, {Role.ADMIN}, "管理用户")
        with self.ctx.db.write() as s:
            ended = int(s.execute(delete(SessionRow).where(SessionRow.user_id == user_id)).rowcount or 0)  # type: ignore[attr-defined]
        self._changed()
        return ended

    def issue_token(self, actor: Actor, user_id: int, name: str = "") -> str:
        """A new API token acting as ``user_id``; returns the token, which is stored only as its hash."""
        require_role(actor, {Role.ADMIN}, "签发接口令牌")
        name = clean_text(name).strip()
        if len(name) > 100:
            raise InvalidInput("令牌名称最多 100 个字符", field="name")
        token, digest, prefix = new_token()
        with self.ctx.db.write() as s:
            if s.get(User, user_id) is None:
                raise NotFound("没有这个用户")
            s.add(ApiToken(user_id=user_id, name=name, token_hash=digest, prefix=prefix))
        return token

    def list_tokens(self, actor: Actor) -> list[ApiToken]:
        require_role(actor, {Role.ADMIN}, "管理接口令牌")
        with self.ctx.db.read() as s:
            return list(s.scalars(select(ApiToken).order_by(ApiToken.id)))

    def revoke_token(self, actor: Actor, token_id: int) -> None:
        require_role(actor, {Role.ADMIN}, "管理接口令牌")
        with self.ctx.db.write() as s:
            tok = s.get(ApiToken, token_id)
            if tok is None:
                raise NotFound("没有这个令牌")
            tok.revoked_at = self.ctx.clock()
        self._changed()

    def actor_for_token(self, token: str, *, kept: bool = False) -> Actor | None:
        """The user an API token acts as; None when unknown, revoked or the user was deactivated.
        ``kept``: as for ``actor_for_session``."""
        key = "t:" + token_hash(token)
        cached = self.actor_cache.get(key, _now) if kept else None
        if cached is not None:
            return cached
        generation = self.actor_cache.generation
        # One query of the columns an Actor needs (it runs on every API call), not ORM objects.
        with self.ctx.db.read() as s:
            row = s.execute(_TOKEN_QUERY.where(ApiToken.token_hash == key[2:])).first()
        if row is None or row.revoked_at is not None or not row.active:
            return None
        actor = actor_of_row(row)
        self.actor_cache.put(key, actor, None, generation)
        return actor


def require_role(actor: Actor, roles: Collection[Role], what: str) -> None:
    """Refuses ``actor`` unless its role is one of ``roles``, naming the role and ``what`` it may not do."""
    if actor.role not in roles:
        raise PermissionDenied(f"{ROLE_LABELS[actor.role]}无权{what}")


def actor_of(user: User) -> Actor:
    return Actor(user_id=user.id, username=user.username, role=Role(user.role), unit_id=user.unit_id, display_name=user.display_name)


# The columns an Actor needs: sign-in checks on every request read these, not ORM objects.
ACTOR_COLUMNS = (User.id, User.username, User.role, User.unit_id, User.display_name, User.active)
_SESSION_QUERY = select(*ACTOR_COLUMNS, SessionRow.expires_at).join(User, User.id == SessionRow.user_id)
_TOKEN_QUERY = select(*ACTOR_COLUMNS, ApiToken.revoked_at).join(User, User.id == ApiToken.user_id)


def actor_of_row(row: Any) -> Actor:
    return Actor(user_id=row.id, username=row.username, role=Role(row.role), unit_id=row.unit_id, display_name=row.display_name)

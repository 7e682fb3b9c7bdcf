"""Passwords (argon2id, strength checked), API and session tokens (random, stored as SHA-256), CSRF
tokens and the sign-in limiter."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select

from ledger.errors import InvalidInput
from ledger.tables import LoginFailure
from ledger.text import has_unwanted
from yuqing.timeutil import now

if TYPE_CHECKING:
    from ledger.db import Database

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
TOKEN_PREFIX = "yql_"
MIN_PASSWORD = 8
MAX_PASSWORD = 256
# zxcvbn's score: 3 means an estimated 10^8 guesses or more ("safely unguessable" against an
# online attack, and argon2 slows an offline one).
MIN_SCORE = 3
# zxcvbn's lists are English; these are the Chinese habits it does not know (拼音 of 我爱你,
# 520/1314 "love you forever", the county's and the system's own names).
LOCAL_WORDS = ("woaini", "aini", "5201314", "1314520", "1314", "520", "qq", "pengze", "jiujiang", "jiangxi", "zhengfu", "admin")


def check_password(password: str, user_inputs: Iterable[str] = ()) -> None:
    """Refuses a weak password with the reason in Chinese (``InvalidInput`` on ``password``).

    At least 8 characters, not only blanks, at least two kinds of character (letters, digits,
    others), and not guessable: zxcvbn (its common-password, word and pattern lists, plus the user
    name and ``LOCAL_WORDS``) must estimate at least 10^8 guesses.
    """
    from zxcvbn import zxcvbn

    def refuse(why: str) -> InvalidInput:
        return InvalidInput(f"密码太弱：{why}", field="password")

    if len(password) < MIN_PASSWORD:
        raise refuse(f"至少 {MIN_PASSWORD} 位")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"密码最多 {MAX_PASSWORD} 位", field="password")
    if not password.strip() or has_unwanted(password):
        raise refuse("不能只由空格组成，也不能含控制字符")
    kinds = sum((any(c.isalpha() for c in password), any(c.isdigit() for c in password), any(not c.isalnum() for c in password)))
    if kinds < 2 or len(set(password)) < 5:
        raise refuse("须包含字母、数字、符号中的至少两类，且不能大量重复同一字符")
    result = zxcvbn(password[:100], user_inputs=[*LOCAL_WORDS, *(u for u in user_inputs if u)])
    if result["score"] < MIN_SCORE:
        raise refuse("属于常见密码或容易猜出的组合（如 12345678、password1、woaini1314、用户名加数字），请换一个")


def hash_password(password: str, user_inputs: Iterable[str] = ()) -> str:
    check_password(password, user_inputs)
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# Verifying against a real hash when the user does not exist keeps the time of a failed sign-in
# the same, so response times do not reveal which user names exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def burn_time(password: str) -> None:
    verify_password(_DUMMY_HASH, password)


def new_token() -> tuple[str, str, str]:
    """(token shown once to the user, its SHA-256 hex kept in the database, a short prefix for lists).

    Tokens carry 256 random bits, so a fast hash is enough: unlike passwords they cannot be guessed.
    """
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, token_hash(token), token[:10]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_session_token() -> tuple[str, str]:
    """(token for the cookie, its SHA-256 hex: the session row's key)."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


class LoginLimiter:
    """Failed sign-ins, kept in the database so that every web worker sees the same counts.

    Two keys are throttled: the account *from this client* (``login_max_failures`` in
    ``login_window_seconds``), and the client across all accounts (four times that, against trying
    one password on many accounts). There is deliberately no key for the account alone: whoever
    knows a unit's user name could then lock that unit out from anywhere. A correct password from a
    throttled client is refused too, until the window has passed.
    """

    def __init__(
        self, db: Database, max_failures: int, window_seconds: float, *, per_address_factor: int = 4, clock: Callable[[], datetime] = now
    ) -> None:
        self.db = db
        self.max_failures = max_failures
        self.window = timedelta(seconds=window_seconds)
        self.per_address = max_failures * per_address_factor
        self.clock = clock

    def _keys(self, username: str, address: str) -> list[tuple[str, int]]:
        return [(f"ua:{address}|{username.strip().lower()}"[:200], self.max_failures), (f"a:{address}"[:200], self.per_address)]

    def retry_after(self, username: str, address: str) -> float:
        """Seconds until another attempt is allowed from ``address`` for ``username``; 0 when allowed now."""
        at = self.clock()
        waits = []
        with self.db.read() as s:
            for key, limit in self._keys(username, address):
                recent = list(
                    s.scalars(
                        select(LoginFailure.at)
                        .where(LoginFailure.key == key, LoginFailure.at > at - self.window)
                        .order_by(LoginFailure.at.desc())
                        .limit(limit)
                    )
                )
                if len(recent) >= limit:
                    waits.append((recent[-1] + self.window - at).total_seconds())
        return max(waits, default=0.0)

    def failed(self, username: str, address: str) -> None:
        at = self.clock()
        with self.db.write() as s:
            s.execute(delete(LoginFailure).where(LoginFailure.at <= at - self.window))
            s.add_all(LoginFailure(key=key, at=at) for key, _ in self._keys(username, address))

    def succeeded(self, username: str, address: str) -> None:
        key = self._keys(username, address)[0][0]
        with self.db.write() as s:
            s.execute(delete(LoginFailure).where(LoginFailure.key == key))

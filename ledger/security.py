"""Passwords (argon2id), API tokens (random, stored as SHA-256), CSRF tokens and the sign-in limiter."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ledger.errors import InvalidInput

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
TOKEN_PREFIX = "yql_"
MIN_PASSWORD = 8


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"密码至少 {MIN_PASSWORD} 位", field="password")
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


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


class LoginLimiter:
    """Failed sign-ins per key in a sliding window; in memory, for the one process that serves the UI.

    Keys are the user name and the client address separately, so neither guessing many passwords
    for one user nor trying one password on many users from one address gets far.
    """

    def __init__(self, max_failures: int, window_seconds: float, *, per_address_factor: int = 4) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self.per_address = max_failures * per_address_factor
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, at: float) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        while q and q[0] <= at - self.window:
            q.popleft()
        return q

    def retry_after(self, username: str, address: str, at: float | None = None) -> float:
        """Seconds until another attempt is allowed; 0 when allowed now."""
        at = time.monotonic() if at is None else at
        with self._lock:
            waits = []
            for key, limit in ((f"u:{username.lower()}", self.max_failures), (f"a:{address}", self.per_address)):
                q = self._recent(key, at)
                if len(q) >= limit:
                    waits.append(q[len(q) - limit] + self.window - at)
            return max(waits, default=0.0)

    def failed(self, username: str, address: str, at: float | None = None) -> None:
        at = time.monotonic() if at is None else at
        with self._lock:
            for key in (f"u:{username.lower()}", f"a:{address}"):
                self._recent(key, at).append(at)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(f"u:{username.lower()}", None)

"""The ledger's errors, part of yuqing's one exception tree (``yuqing.errors``).

    YuqingError
    └── LedgerError             a ledger operation was refused; ``status`` is the HTTP status the web layer answers with
        ├── NotFound            404  no such case, commitment, unit, user or attachment (or not visible to this user)
        ├── PermissionDenied    403  this role, or this unit, may not do that
        ├── TransitionError     409  the state machine refuses this action in this state (names both)
        ├── StaleVersion        409  someone else changed the record since it was read (optimistic concurrency)
        └── InvalidInput        422  a field is missing or malformed (names the field)

Messages are in Chinese: the web UI shows them to staff as they are.
"""

from __future__ import annotations

from yuqing.errors import YuqingError


class LedgerError(YuqingError):
    status = 400


class NotFound(LedgerError):
    status = 404


class PermissionDenied(LedgerError):
    status = 403


class TransitionError(LedgerError):
    status = 409

    def __init__(self, message: str, *, action: str, state: str) -> None:
        self.action = action
        self.state = state
        super().__init__(message)


class StaleVersion(LedgerError):
    status = 409

    def __init__(self, what: str, expected: int | None = None, actual: int | None = None) -> None:
        self.expected = expected
        self.actual = actual
        seen = f"（您看到的是第 {expected} 版，当前为第 {actual} 版）" if expected is not None else ""
        super().__init__(f"{what}已被他人修改{seen}，请刷新后重试")


class InvalidInput(LedgerError):
    status = 422

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)

"""The one exception tree of yuqing.

YuqingError
├── ConfigError          bad settings file, environment override or rule file (names file and key)
├── BackendError         a backend (bus, store, database) failed or is unreachable
│   ├── BusError
│   └── StoreError
├── PoisonMessage        a message on the bus that can never be processed (goes to dead-letter)
└── SourceError          a collector source returned something unusable (names the source)
"""

from __future__ import annotations


class YuqingError(Exception):
    """Base class of every error yuqing raises on purpose."""


class ConfigError(YuqingError):
    """Invalid configuration. The message names the file and the key."""

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None) -> None:
        self.file = file
        self.key = key
        origin = file if file and file.startswith("environment ") else f"file {file}" if file else ""
        where = ", ".join(p for p in (origin, f"key {key}" if key else "") if p)
        super().__init__(f"{message} ({where})" if where else message)


class BackendError(YuqingError):
    """A backend failed. ``retryable`` says whether trying again may help: an unreachable broker
    will come back; a document the store rejects as invalid never will, and the worker moves
    the message that carried it to the dead-letter topic instead of retrying forever."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class BusError(BackendError):
    pass


class StoreError(BackendError):
    pass


class PoisonMessage(YuqingError):
    """A message that can never be processed; the worker moves it to the dead-letter topic."""


class SourceError(YuqingError):
    """A source misbehaved. The message names the source and the reason."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"source {source}: {reason}")

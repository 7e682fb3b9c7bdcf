"""Settings -> the shared backends (bus, store), opened once and closed together.

Stages receive a ``Runtime`` from the application (``app``); its ``settings`` are the
application's combined settings, a subclass of ``CoreSettings``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cached_property
from typing import Any, Generic, TypeVar

from yuqing.bus import Bus, open_bus
from yuqing.settings import CoreSettings
from yuqing.store import Store, open_store

S = TypeVar("S", bound=CoreSettings)
T = TypeVar("T")


class Runtime(Generic[S]):
    """Opens each backend once, on first use, and closes them all together."""

    def __init__(self, settings: S) -> None:
        self.settings = settings
        self._opened: list[object] = []
        self._resources: dict[str, Any] = {}

    @cached_property
    def bus(self) -> Bus:
        b = self.settings.bus
        bus = open_bus(b.url, partitions=b.partitions, **bus_options(self.settings))
        self._opened.append(bus)
        return bus

    @cached_property
    def store(self) -> Store:
        s = self.settings.store
        store = open_store(s.url, refresh=s.refresh, **store_options(self.settings))
        self._opened.append(store)
        return store

    def resource(self, name: str, open_: Callable[[], T]) -> T:
        """A stage's own backend (e.g. the collectors' state store), opened by ``open_`` on first
        use, kept under ``name`` and closed with the others."""
        if name not in self._resources:
            obj = open_()
            self._resources[name] = obj
            self._opened.append(obj)
        return self._resources[name]  # type: ignore[no-any-return]

    def close(self) -> None:
        for obj in reversed(self._opened):
            try:
                obj.close()  # type: ignore[attr-defined]
            except Exception:  # closing is best effort; the process is ending
                logging.getLogger("yuqing").debug("close failed", exc_info=True)
        self._opened.clear()
        self._resources.clear()
        for name in ("bus", "store"):
            self.__dict__.pop(name, None)


def bus_options(settings: CoreSettings) -> dict[str, object]:
    b = settings.bus
    if b.url.startswith("sqlite:"):
        return {"session_timeout": b.session_timeout_ms / 1000}
    return {"session_timeout_ms": b.session_timeout_ms, "heartbeat_ms": b.heartbeat_ms, "client_id": b.client_id}


def store_options(settings: CoreSettings) -> dict[str, object]:
    s = settings.store
    if s.url.startswith("sqlite:"):
        return {}
    return {
        "index": s.index,
        "username": s.username,
        "password": s.password.get_secret_value() if s.password else None,
        "api_key": s.api_key.get_secret_value() if s.api_key else None,
        "verify_certs": s.verify_certs,
        "ca_certs": s.ca_certs,
        "plain_json": s.plain_json,
        "number_of_shards": s.number_of_shards,
        "number_of_replicas": s.number_of_replicas,
    }

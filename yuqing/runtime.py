"""The composition root: settings -> backends and stages. Nothing else picks an implementation."""

from __future__ import annotations

import logging
from functools import cached_property

from yuqing.bus import Bus, open_bus
from yuqing.settings import Settings
from yuqing.store import Store, open_store


class Runtime:
    """Opens each backend once, on first use, and closes them all together."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._opened: list[object] = []

    @cached_property
    def bus(self) -> Bus:
        b = self.settings.bus
        bus = open_bus(b.url, partitions=b.partitions, **_bus_options(self.settings))
        self._opened.append(bus)
        return bus

    @cached_property
    def store(self) -> Store:
        s = self.settings.store
        store = open_store(s.url, refresh=s.refresh, **_store_options(self.settings))
        self._opened.append(store)
        return store

    @cached_property
    def state(self):  # type: ignore[no-untyped-def]
        from collectors.state import StateStore

        st = StateStore(self.settings.state_url)
        self._opened.append(st)
        return st

    def close(self) -> None:
        for obj in reversed(self._opened):
            try:
                obj.close()  # type: ignore[attr-defined]
            except Exception:  # closing is best effort; the process is ending
                logging.getLogger("yuqing").debug("close failed", exc_info=True)
        self._opened.clear()
        for name in ("bus", "store", "state"):
            self.__dict__.pop(name, None)


def _bus_options(settings: Settings) -> dict[str, object]:
    b = settings.bus
    if b.url.startswith("sqlite:"):
        return {"session_timeout": b.session_timeout_ms / 1000}
    return {"session_timeout_ms": b.session_timeout_ms, "heartbeat_ms": b.heartbeat_ms, "client_id": b.client_id}


def _store_options(settings: Settings) -> dict[str, object]:
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

"""The bus: a small interface over a durable, partitioned log with consumer groups.

Backends are picked by URL (``open_bus``):

- ``sqlite:///path/bus.db`` — embedded default (``yuqing.bus.sqlite``)
- ``kafka://host:port[,host:port]`` — Apache Kafka through kafka-python (``yuqing.bus.kafka``)

Delivery is at-least-once: a consumer commits offsets only after the downstream write
succeeded, and a message polled but not committed is delivered again after a restart or
``rewind()``. Consumers must therefore be idempotent (the store upserts by post id).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from yuqing.errors import ConfigError


@dataclass(frozen=True)
class Message:
    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes
    headers: dict[str, str] = field(default_factory=dict)
    timestamp: float = 0.0


@dataclass(frozen=True)
class OutMessage:
    key: str | None
    value: bytes
    headers: dict[str, str] = field(default_factory=dict)


class Consumer(Protocol):
    topic: str
    group: str

    def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[Message]:
        """Up to ``max_records`` messages not yet handed out since the last commit/rewind."""

    def commit(self, messages: Sequence[Message]) -> None:
        """Mark these messages (and everything before them in their partitions) as done."""

    def rewind(self) -> None:
        """Forget what was polled but not committed: it will be polled again."""

    def lag(self) -> int:
        """Messages in assigned partitions not yet committed by this group (approximate on Kafka)."""

    def close(self) -> None: ...


class Bus(Protocol):
    url: str

    def publish(self, topic: str, messages: Sequence[OutMessage]) -> None:
        """Append messages durably; on return they are stored (acks=all on Kafka)."""

    def consumer(self, topic: str, group: str) -> Consumer: ...

    def ensure_topic(self, topic: str) -> None: ...

    def check(self) -> str:
        """Round-trip to the backend; returns a one-line description or raises BusError."""

    def close(self) -> None: ...


def open_bus(url: str, *, partitions: int = 4, **options: object) -> Bus:
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        from yuqing.bus.sqlite import SqliteBus

        return SqliteBus(url, partitions=partitions, **options)  # type: ignore[arg-type]
    if scheme == "kafka":
        from yuqing.bus.kafka import KafkaBus

        return KafkaBus(url, partitions=partitions, **options)  # type: ignore[arg-type]
    raise ConfigError(f"unknown bus URL scheme {scheme!r} in {url!r}; use sqlite:///PATH or kafka://HOST:PORT", key="bus.url")

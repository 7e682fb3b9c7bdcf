"""Kafka bus: the ``Bus`` interface over Apache Kafka (or a Kafka-compatible broker) with kafka-python.

The only module that imports a Kafka client. Settings and why (see docs/bus.md):

- Topics are created with ``partitions`` partitions when missing (a topic and its ``.dlq``), never
  auto-created by a client with the broker's defaults.
- Messages are keyed by post id, so every message of one post lands in one partition, in order.
- The producer uses ``acks=all`` and ``publish`` flushes and checks every send: on return the
  messages are stored. The idempotent producer stays off: kafka-python 3's never recovers its
  producer id after a broker restart on some brokers (tansu), and a duplicate after a retry is
  harmless because every consumer is idempotent anyway.
- Consumers never auto-commit and commit explicit offsets only (``commit(messages)``), so an offset
  is committed only after the caller's downstream write succeeded.

Every client failure surfaces as ``BusError`` naming the URL; retrying is the caller's business
(``yuqing.worker.Stage`` does it with backoff). Construction against an unreachable broker fails
within ``connect_timeout`` seconds instead of hanging.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import kafka
import kafka.errors
from kafka.admin import NewTopic
from kafka.structs import OffsetAndMetadata, TopicPartition

from yuqing.bus import Message, OutMessage
from yuqing.errors import BusError, ConfigError
from yuqing.events import dead_letter_topic

log = logging.getLogger("yuqing.bus.kafka")

DEFAULT_PORT = 9092


def bootstrap_servers(url: str) -> list[str]:
    """``kafka://a:9092,b:9092`` -> ``["a:9092", "b:9092"]`` (port 9092 when left out)."""
    parts = urlsplit(url)
    if parts.scheme != "kafka" or not parts.netloc or parts.path not in ("", "/"):
        raise ConfigError(f"not a Kafka URL: {url!r} (expected kafka://HOST:PORT[,HOST:PORT])", key="bus.url")
    servers = []
    for item in parts.netloc.split(","):
        host, sep, port = item.strip().rpartition(":")
        if not sep:
            host, port = item.strip(), str(DEFAULT_PORT)
        if not host or not port.isdigit():
            raise ConfigError(f"bad broker address {item!r} in {url!r} (expected HOST:PORT)", key="bus.url")
        servers.append(f"{host}:{port}")
    return servers


class KafkaBus:
    def __init__(
        self,
        url: str,
        *,
        partitions: int = 4,
        session_timeout_ms: int = 10000,
        heartbeat_ms: int = 3000,
        client_id: str = "yuqing",
        connect_timeout: float = 10.0,
        request_timeout_ms: int = 10000,
    ) -> None:
        self.url = url
        self.servers = bootstrap_servers(url)
        self.partitions = partitions
        self.session_timeout_ms = session_timeout_ms
        self.heartbeat_ms = heartbeat_ms
        self.client_id = client_id
        self.connect_timeout = connect_timeout
        self.request_timeout_ms = request_timeout_ms
        # kafka-python's admin client is not thread-safe; stages share one bus in ``yuqing run``.
        self._lock = threading.Lock()
        self._known_topics: set[str] = set()
        self._producer: kafka.KafkaProducer | None = None
        self._admin = self._call("connect", lambda: kafka.KafkaAdminClient(**self._common(), client_id=f"{client_id}-admin"))

    # -- helpers ----------------------------------------------------------------------------
    def _common(self) -> dict[str, Any]:
        return {
            "bootstrap_servers": self.servers,
            "bootstrap_timeout_ms": int(self.connect_timeout * 1000),
            "request_timeout_ms": self.request_timeout_ms,
            # Reconnect attempts back off up to 2 s, not kafka-python's 30 s, so a restarted broker
            # is found again quickly.
            "reconnect_backoff_max_ms": 2000,
        }

    def _call(self, what: str, fn: Any) -> Any:
        try:
            return fn()
        except kafka.errors.KafkaError as exc:
            raise BusError(f"Kafka bus {self.url}: {what} failed: {exc}") from exc
        except OSError as exc:  # socket-level failures kafka-python does not wrap
            raise BusError(f"Kafka bus {self.url}: {what} failed: {exc}") from exc

    def _producer_client(self) -> kafka.KafkaProducer:
        with self._lock:
            if self._producer is None:
                self._producer = self._call(
                    "connect producer",
                    lambda: kafka.KafkaProducer(
                        **self._common(),
                        client_id=f"{self.client_id}-producer",
                        acks="all",
                        enable_idempotence=False,
                        allow_auto_create_topics=False,
                        linger_ms=5,
                        max_block_ms=int(self.connect_timeout * 1000),
                        # Bounds a publish while the broker is away; the caller then retries.
                        delivery_timeout_ms=self.request_timeout_ms + 5000,
                    ),
                )
            return self._producer

    # -- topics -----------------------------------------------------------------------------
    def ensure_topic(self, topic: str) -> None:
        """Create ``topic`` (and its dead-letter topic) with ``partitions`` partitions if missing."""
        if topic in self._known_topics:
            return
        wanted = [topic] if topic.endswith(".dlq") else [topic, dead_letter_topic(topic)]
        with self._lock:
            existing = set(self._call("list topics", self._admin.list_topics))
            missing = [t for t in wanted if t not in existing]
            if missing:
                new = [NewTopic(t, self.partitions, 1) for t in missing]
                result = self._call(
                    f"create topics {missing}",
                    lambda: self._admin.create_topics(new, timeout_ms=self.request_timeout_ms, raise_errors=False),
                )
                for item in result.get("topics", []):
                    # 36 TOPIC_ALREADY_EXISTS: another process created it first, which is fine.
                    if item["error_code"] not in (0, kafka.errors.TopicAlreadyExistsError.errno):
                        raise BusError(f"Kafka bus {self.url}: create topic {item['name']} failed: {item['error_message']}")
                log.info("created topics %s with %d partitions", missing, self.partitions)
            self._known_topics.update(wanted)

    # -- producing --------------------------------------------------------------------------
    def publish(self, topic: str, messages: Sequence[OutMessage]) -> None:
        if not messages:
            return
        self.ensure_topic(topic)
        producer = self._producer_client()

        def send_all() -> None:
            futures = [
                producer.send(
                    topic,
                    key=m.key.encode("utf-8") if m.key is not None else None,
                    value=m.value,
                    headers=[(k, v.encode("utf-8")) for k, v in m.headers.items()],
                )
                for m in messages
            ]
            producer.flush(timeout=(self.request_timeout_ms + 6000) / 1000)
            for f in futures:
                # flush() returned, so each future is done; get() raises the send's own error.
                f.get(timeout=0)

        try:
            self._call(f"publish {len(messages)} messages to {topic}", send_all)
        except BusError:
            # A broker that came back without its topics (memory storage, a rebuilt cluster) must
            # get them again: forget that they existed, so the retry creates them.
            self._known_topics.difference_update({topic, dead_letter_topic(topic)})
            raise

    # -- consuming --------------------------------------------------------------------------
    def consumer(self, topic: str, group: str) -> KafkaConsumer:
        self.ensure_topic(topic)
        return KafkaConsumer(self, topic, group)

    def check(self) -> str:
        with self._lock:
            cluster = self._call("describe cluster", self._admin.describe_cluster)
            topics = self._call("list topics", self._admin.list_topics)
        return f"Kafka {','.join(self.servers)} (cluster {cluster.get('cluster_id')}, {len(cluster.get('brokers', []))} brokers, {len(topics)} topics)"

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                try:
                    self._producer.close(timeout=5)
                except kafka.errors.KafkaError:
                    log.debug("producer close failed", exc_info=True)  # closing: nothing left to lose
                self._producer = None
            self._admin.close()


class KafkaConsumer:
    """One member of a consumer group on one topic, backed by kafka-python's ``KafkaConsumer``."""

    def __init__(self, bus: KafkaBus, topic: str, group: str) -> None:
        self.bus = bus
        self.topic = topic
        self.group = group
        self._client: kafka.KafkaConsumer = bus._call(
            f"connect consumer of {topic} for group {group}",
            lambda: kafka.KafkaConsumer(
                **bus._common(),
                client_id=f"{bus.client_id}-{group}",
                group_id=group,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                allow_auto_create_topics=False,
                session_timeout_ms=bus.session_timeout_ms,
                heartbeat_interval_ms=bus.heartbeat_ms,
            ),
        )
        joined = self._joined = threading.Event()

        class _Listener(kafka.ConsumerRebalanceListener):  # type: ignore[misc]
            def on_partitions_revoked(self, revoked: Any) -> None:
                pass

            def on_partitions_assigned(self, assigned: Any) -> None:
                joined.set()  # also with no partitions: then this member is idle, not joining

        self._client.subscribe([topic], listener=_Listener())
        # A member learns its partitions only once the group join completes, which takes a few
        # seconds (Kafka's initial rebalance delay; half the session timeout on tansu). The first
        # poll waits up to this long for it, so that an empty first poll means "nothing to do",
        # as it does on the embedded bus, rather than "not joined yet".
        self._join_timeout = bus.session_timeout_ms / 1000 + bus.request_timeout_ms / 1000

    def _call(self, what: str, fn: Any) -> Any:
        return self.bus._call(f"{what} {self.topic} (group {self.group})", fn)

    def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[Message]:
        batches = self._call("poll", lambda: self._client.poll(timeout_ms=int(timeout * 1000), max_records=max_records))
        if not batches and not self._joined.is_set():
            deadline = time.monotonic() + self._join_timeout
            while not batches and not self._joined.is_set() and time.monotonic() < deadline:
                batches = self._call("poll", lambda: self._client.poll(timeout_ms=200, max_records=max_records))
            if not batches and self._joined.is_set():  # joined just now: fetch what is there
                batches = self._call("poll", lambda: self._client.poll(timeout_ms=int(timeout * 1000), max_records=max_records))
        out: list[Message] = []
        for records in batches.values():
            for r in records:
                out.append(
                    Message(
                        topic=r.topic,
                        partition=r.partition,
                        offset=r.offset,
                        key=r.key.decode("utf-8", errors="replace") if r.key is not None else None,
                        value=r.value,
                        headers={k: (v or b"").decode("utf-8", errors="replace") for k, v in r.headers},
                        timestamp=r.timestamp / 1000 if r.timestamp and r.timestamp > 0 else 0.0,
                    )
                )
        return out

    def commit(self, messages: Sequence[Message]) -> None:
        upto: dict[int, int] = {}
        for m in messages:
            upto[m.partition] = max(upto.get(m.partition, -1), m.offset + 1)
        # A partition taken away by a rebalance is skipped: its new owner resumes from the last
        # commit and delivers those messages again, and committing here could move its offset back.
        assigned = self._client.assignment()
        offsets = {tp: OffsetAndMetadata(nxt, "", -1) for part, nxt in upto.items() if (tp := TopicPartition(self.topic, part)) in assigned}
        if offsets:
            self._call("commit", lambda: self._client.commit(offsets))

    def rewind(self) -> None:
        def seek_back() -> None:
            for tp in self._client.assignment():
                committed = self._client.committed(tp)
                if committed is None:
                    self._client.seek_to_beginning(tp)
                else:
                    self._client.seek(tp, committed)

        self._call("rewind", seek_back)

    def lag(self) -> int:
        """Assigned partitions only (none before the first poll joined the group). Some brokers
        (tansu) report end offsets short of the last batch, so the high-water mark seen by the
        latest fetch is preferred when it is larger."""

        def compute() -> int:
            parts = list(self._client.assignment())
            if not parts:
                return 0
            ends = self._client.end_offsets(parts)
            total = 0
            for tp in parts:
                end = max(ends.get(tp) or 0, self._client.highwater(tp) or 0)
                total += max(0, end - (self._client.committed(tp) or 0))
            return total

        return int(self._call("lag", compute))

    def close(self) -> None:
        try:
            self._client.close(autocommit=False, timeout_ms=5000)
        except kafka.errors.KafkaError:
            log.debug("consumer close failed", exc_info=True)  # closing: the session expires on its own

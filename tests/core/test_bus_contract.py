"""The bus contract: the same assertions against the embedded SQLite bus and Kafka (tansu).

Each test uses its own topic and group names, so the Kafka tests can share one broker.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fixtures.tansu import bus_options
from yuqing.bus import Bus, Consumer, Message, OutMessage, open_bus
from yuqing.errors import BusError
from yuqing.events import dead_letter_topic

BACKENDS = ["sqlite", pytest.param("kafka", marks=pytest.mark.kafka)]

OpenBus = Callable[[], Bus]


@pytest.fixture(params=BACKENDS)
def bus_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/bus.db"
    return str(request.getfixturevalue("tansu_url"))


@pytest.fixture
def open_test_bus(bus_url: str) -> Iterator[OpenBus]:
    """Opens as many bus clients as a test wants (one per simulated process); closes them all."""
    opened: list[Bus] = []

    def make() -> Bus:
        bus = open_bus(bus_url, partitions=4, **bus_options(bus_url))
        opened.append(bus)
        return bus

    yield make
    for bus in opened:
        bus.close()


@pytest.fixture
def bus(open_test_bus: OpenBus) -> Bus:
    return open_test_bus()


@pytest.fixture
def topic() -> str:
    return f"contract.{uuid.uuid4().hex[:10]}"


def group() -> str:
    return f"g-{uuid.uuid4().hex[:10]}"


def poll_until(consumer: Consumer, n: int, timeout: float = 30.0) -> list[Message]:
    """Poll until ``n`` messages arrived (the first poll on Kafka includes the group join)."""
    got: list[Message] = []
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        got += consumer.poll(max_records=500, timeout=0.5)
    assert len(got) >= n, f"only {len(got)} of {n} messages arrived within {timeout:.0f}s"
    return got


def poll_quiet(consumer: Consumer, seconds: float = 1.0) -> list[Message]:
    """Everything that arrives within ``seconds`` (used to show nothing more is delivered)."""
    got: list[Message] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got += consumer.poll(max_records=500, timeout=0.3)
    return got


def out(i: int, key: str | None = None) -> OutMessage:
    return OutMessage(key if key is not None else f"post:{i}", f'{{"n": {i}}}'.encode(), {"n": str(i)})


def values(messages: list[Message]) -> list[bytes]:
    return sorted(m.value for m in messages)


def test_round_trip_keeps_key_value_and_headers(bus: Bus, topic: str) -> None:
    sent = [
        OutMessage("wenzheng:1", "工资拖欠 三个月".encode(), {"trace": "甲", "source": "wenzheng"}),
        OutMessage("wenzheng:2", b"\xff\x00 not utf-8 \x80", {}),
        OutMessage(None, b"keyless", {"empty": ""}),
    ]
    bus.publish(topic, sent)
    c = bus.consumer(topic, group())
    got = poll_until(c, 3)
    assert sorted((m.key or "", m.value, m.headers) for m in got) == sorted((m.key or "", m.value, m.headers) for m in sent)
    assert {m.topic for m in got} == {topic}
    assert all(0 <= m.partition < 4 for m in got)
    assert len({(m.partition, m.offset) for m in got}) == 3
    assert all(m.timestamp > 1.6e9 for m in got)  # seconds since the epoch, set when stored
    assert poll_quiet(c, 1.0) == []
    c.close()


def test_messages_of_one_key_stay_in_order_in_one_partition(bus: Bus, topic: str) -> None:
    keys = [f"post:{k}" for k in range(6)]
    for round_ in range(5):  # several publishes, interleaving keys
        bus.publish(topic, [OutMessage(k, f"{k}#{round_}".encode()) for k in keys])
    c = bus.consumer(topic, group())
    got = poll_until(c, 30)
    assert len(got) == 30
    for k in keys:
        mine = [m for m in got if m.key == k]
        assert [m.value.decode() for m in mine] == [f"{k}#{r}" for r in range(5)]
        assert len({m.partition for m in mine}) == 1
        assert [m.offset for m in mine] == sorted(m.offset for m in mine)
    assert len({m.partition for m in got}) > 1  # six keys over four partitions use more than one
    c.close()


def test_new_member_resumes_after_the_last_commit(open_test_bus: OpenBus, topic: str) -> None:
    producer = open_test_bus()
    producer.publish(topic, [out(i) for i in range(40)])
    g = group()
    first = open_test_bus().consumer(topic, g)
    got = poll_until(first, 40)
    done = [m for m in got if m.offset < 3]  # commits offset 3 in every partition
    first.commit(done)
    first.close()

    second = open_test_bus().consumer(topic, g)
    rest = [m for m in got if m.offset >= 3]
    again = poll_until(second, len(rest))
    assert values(again) == values(rest)
    assert poll_quiet(second) == []
    assert second.lag() == len(rest)
    second.commit(again)
    assert second.lag() == 0
    second.close()


def test_uncommitted_messages_are_delivered_again_after_reopen(open_test_bus: OpenBus, topic: str) -> None:
    open_test_bus().publish(topic, [out(i) for i in range(12)])
    g = group()
    first = open_test_bus().consumer(topic, g)
    got = poll_until(first, 12)
    first.close()  # crashed before committing

    second = open_test_bus().consumer(topic, g)
    again = poll_until(second, 12)
    assert values(again) == values(got)
    assert poll_quiet(second) == []
    second.close()


def test_rewind_delivers_uncommitted_messages_again(bus: Bus, topic: str) -> None:
    bus.publish(topic, [out(i) for i in range(20)])
    c = bus.consumer(topic, group())
    got = poll_until(c, 20)
    assert c.lag() == 20
    c.commit([m for m in got if m.offset < 2])
    assert poll_quiet(c, 1.0) == []  # handed out already: not polled twice without a rewind
    c.rewind()
    again = poll_until(c, len([m for m in got if m.offset >= 2]))
    assert values(again) == values([m for m in got if m.offset >= 2])
    assert c.lag() == len(again)
    c.commit(again)
    assert c.lag() == 0
    c.rewind()
    assert poll_quiet(c, 1.0) == []
    c.close()


def test_each_group_sees_every_message(open_test_bus: OpenBus, topic: str) -> None:
    open_test_bus().publish(topic, [out(i) for i in range(15)])
    a = open_test_bus().consumer(topic, group())
    b = open_test_bus().consumer(topic, group())
    got_a = poll_until(a, 15)
    a.commit(got_a)
    got_b = poll_until(b, 15)
    assert values(got_a) == values(got_b) == sorted(out(i).value for i in range(15))
    a.close()
    b.close()


def test_two_members_of_one_group_split_the_partitions_and_lose_nothing(open_test_bus: OpenBus, topic: str) -> None:
    producer = open_test_bus()
    producer.ensure_topic(topic)
    g = group()
    members = [open_test_bus().consumer(topic, g) for _ in range(2)]
    received: list[list[Message]] = [[], []]
    stop = threading.Event()
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            while not stop.is_set():
                batch = members[i].poll(max_records=50, timeout=0.3)
                received[i] += batch
                members[i].commit(batch)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(2)]
    for t in threads:
        t.start()
    sent: list[bytes] = []
    deadline = time.monotonic() + 60
    # Keep publishing until both members receive messages: that needs the group to have split
    # the partitions between them (on Kafka, after a rebalance).
    while not (received[0] and received[1]) and time.monotonic() < deadline and not errors:
        batch = [out(len(sent) + i) for i in range(8)]
        producer.publish(topic, batch)
        sent += [m.value for m in batch]
        time.sleep(0.2)
    while {m.value for r in received for m in r} != set(sent) and time.monotonic() < deadline and not errors:
        time.sleep(0.1)
    stop.set()
    for t in threads:
        t.join(timeout=10)
    assert not errors, errors
    assert received[0] and received[1], "the second member never got a partition"
    assert {m.value for r in received for m in r} == set(sent)  # duplicates are allowed, loss is not
    for m in members:
        m.close()


def test_dead_letter_topic_carries_bytes_and_headers(bus: Bus, topic: str) -> None:
    dlq = dead_letter_topic(topic)
    assert dlq == f"{topic}.dlq"
    bus.ensure_topic(topic)
    headers = {"error": "not JSON: Expecting value", "original_topic": topic, "original_partition": "2", "original_offset": "7"}
    bus.publish(dlq, [OutMessage("post:bad", b"\x00garbage{", headers)])
    c = bus.consumer(dlq, group())
    [got] = poll_until(c, 1)
    assert (got.topic, got.key, got.value, got.headers) == (dlq, "post:bad", b"\x00garbage{", headers)
    c.close()


def test_check_round_trips_to_the_backend(bus: Bus, bus_url: str, topic: str) -> None:
    bus.ensure_topic(topic)
    line = bus.check()
    where = bus_url.split("///", 1)[1] if bus_url.startswith("sqlite") else bus_url.removeprefix("kafka://")
    assert where in line
    assert "\n" not in line


@pytest.mark.parametrize(
    "url",
    ["sqlite:////proc/yuqing-no-such-dir/bus.db", pytest.param("kafka://127.0.0.1:{port}", marks=pytest.mark.kafka)],
    ids=["sqlite", "kafka"],
)
def test_unreachable_backend_raises_bus_error_naming_it(url: str) -> None:
    if "{port}" in url:
        import socket

        with socket.socket() as s:  # a port nothing listens on: bound, never listening, then freed
            s.bind(("127.0.0.1", 0))
            url = url.format(port=s.getsockname()[1])
    with pytest.raises(BusError) as err:
        # A short connect timeout keeps the test quick; the default gives up after 10 s.
        open_bus(url, connect_timeout=2.0) if url.startswith("kafka:") else open_bus(url)
    assert url.split("///")[-1].removeprefix("kafka://") in str(err.value)

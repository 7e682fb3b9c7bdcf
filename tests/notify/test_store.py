"""The delivery store's time boundary: aware datetimes in and out (in Asia/Shanghai), epoch seconds
in the tables, naive datetimes and numbers refused; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from notify import db
from notify.store import Attempt, Delivery, DeliveryStore
from yuqing.timeutil import TZ

# Microseconds on purpose: they must survive the trip through the Float columns. Said in UTC, read
# back in Shanghai time: the same instant.
T0 = datetime(2026, 11, 27, 1, 2, 3, 456789, tzinfo=UTC)
NOTE = {"title": "测试", "text": "测试"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DeliveryStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/alerts.db"
    else:
        from tests.fixtures.postgres import create_database

        url = create_database(prefix="yuqing_notify")
    yield DeliveryStore(url)
    db.dispose(url)
    if request.param == "postgres":
        from tests.fixtures.postgres import drop_database

        drop_database(url)


def _assert_shanghai(*values: datetime | None) -> None:
    for v in values:
        assert isinstance(v, datetime) and v.tzinfo is TZ, v


def _one(store: DeliveryStore, now: datetime = T0) -> Delivery:
    with store.begin() as conn:
        store.add_delivery_in(conn, "al-1", "al-1:1", "first", "hook", NOTE, now)
    [d] = store.deliveries()
    return d


def test_a_delivery_and_its_attempts_are_aware_datetimes_equal_to_what_was_stored(store: DeliveryStore) -> None:
    d = _one(store)
    assert (d.status, d.attempts, d.sent_at) == ("pending", 0, None)
    assert d.created_at == d.next_attempt_at == T0
    assert d.created_at.isoformat() == "2026-11-27T09:02:03.456789+08:00"
    _assert_shanghai(d.created_at, d.next_attempt_at)
    # the tables keep epoch seconds, as before
    with store.engine.connect() as conn:
        raw = conn.execute(select(db.deliveries.c.created_at, db.deliveries.c.next_attempt_at)).one()
    assert tuple(raw) == (T0.timestamp(), T0.timestamp())

    assert store.due_deliveries(T0 - timedelta(microseconds=1)) == []
    assert store.due_deliveries(T0) == [d] and store.due_deliveries(T0, "hook") == [d] and store.due_deliveries(T0, "mail") == []
    nxt = store.next_delivery_at("hook")
    assert nxt == T0 and store.next_delivery_at("mail") is None
    _assert_shanghai(nxt)

    at1, retry_at = T0 + timedelta(seconds=1, microseconds=7), T0 + timedelta(seconds=61, microseconds=7)
    assert store.record_attempt(d, False, True, "HTTP 502", 12.5, at1, retry_at) == "pending"
    [d] = store.deliveries()
    assert (d.status, d.attempts, d.next_attempt_at, d.created_at, d.sent_at) == ("pending", 1, retry_at, T0, None)
    assert store.due_deliveries(retry_at - timedelta(microseconds=1)) == [] and store.due_deliveries(retry_at) == [d]
    assert store.next_delivery_at("hook") == retry_at

    at2 = retry_at + timedelta(milliseconds=3)
    assert store.record_attempt(d, True, True, "HTTP 200", 8.0, at2, None) == "sent"
    [d] = store.deliveries("al-1")
    assert (d.status, d.attempts, d.sent_at, d.next_attempt_at, d.last_status) == ("sent", 2, at2, retry_at, "HTTP 200")
    _assert_shanghai(d.created_at, d.next_attempt_at, d.sent_at)
    assert store.due_deliveries(at2 + timedelta(days=1)) == [] and store.next_delivery_at("hook") is None

    tries = store.attempts(d.id)
    assert tries == [
        Attempt(d.id, "hook", 1, at1, False, True, "HTTP 502", 12.5),
        Attempt(d.id, "hook", 2, at2, True, True, "HTTP 200", 8.0),
    ]
    _assert_shanghai(*(a.at for a in tries))
    assert store.attempts() == tries


@pytest.mark.parametrize(
    ("bad", "error", "match"),
    [
        (datetime(2026, 11, 27, 9, 0), ValueError, "naive datetime"),
        (T0.timestamp(), TypeError, "aware datetimes, not float"),
    ],
)
def test_naive_datetimes_and_numbers_are_refused(store: DeliveryStore, bad: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=f"now: .*{match}"), store.begin() as conn:
        store.add_delivery_in(conn, None, "k", "test", "hook", NOTE, bad)  # type: ignore[arg-type]
    assert store.deliveries() == []
    with pytest.raises(error, match=match):
        store.due_deliveries(bad)  # type: ignore[arg-type]

    d = _one(store)
    with pytest.raises(error, match=f"at: .*{match}"):
        store.record_attempt(d, True, True, "HTTP 200", 1.0, bad, None)  # type: ignore[arg-type]
    with pytest.raises(error, match=f"next_attempt_at: .*{match}"):
        store.record_attempt(d, False, True, "HTTP 502", 1.0, T0, bad)  # type: ignore[arg-type]
    with pytest.raises(error, match=f"next_attempt_at: .*{match}"):  # refused even where a success would not use it
        store.record_attempt(d, True, True, "HTTP 200", 1.0, T0, bad)  # type: ignore[arg-type]
    with pytest.raises(error, match=f"until: .*{match}"):
        store.claim(d, bad)  # type: ignore[arg-type]
    assert store.attempts() == [] and store.deliveries() == [d]  # nothing written


def test_a_claim_takes_a_row_once_also_one_written_to_a_finer_fraction(store: DeliveryStore) -> None:
    # Rows written before the store took datetimes may hold next_attempt_at below the microsecond
    # (epoch float + backoff float); the datetime the store hands out is rounded to the microsecond.
    legacy = T0.timestamp() + 120.0000003
    with store.begin() as conn:
        conn.execute(
            insert(db.deliveries),
            {
                "alert_id": None, "key": "remind:1", "kind": "remind", "notifier": "ledger:office:hook", "notification": NOTE,
                "status": "pending", "attempts": 1, "next_attempt_at": legacy, "created_at": T0.timestamp(), "sent_at": None,
                "last_status": "HTTP 502",
            },
        )  # fmt: skip
    [d] = store.due_deliveries(T0 + timedelta(minutes=3))
    assert d.next_attempt_at.timestamp() != legacy and abs(d.next_attempt_at.timestamp() - legacy) < 1e-6
    until = T0 + timedelta(minutes=4, microseconds=1)
    assert store.claim(d, until)
    assert not store.claim(d, until + timedelta(minutes=1))  # another process, with the row as it read it before
    [claimed] = store.deliveries()
    assert claimed.next_attempt_at == until and claimed.attempts == 1
    assert store.due_deliveries(until - timedelta(microseconds=1)) == []

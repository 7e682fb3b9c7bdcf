from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from yuqing.errors import PoisonMessage
from yuqing.events import PostClassified, PostCollected, Risk, Source, decode
from yuqing.timeutil import TZ

SRC = Source(id="hotline-12345", kind="hotline", name="12345 热线")


def collected(**kw: object) -> PostCollected:
    base: dict[str, object] = dict(
        id="hotline-12345:GD1",
        title="拖欠工资",
        content="某工地拖欠农民工工资三个月",
        published_at=datetime(2026, 11, 27, 1, 0, tzinfo=UTC),
        source=SRC,
    )
    base.update(kw)
    return PostCollected(**base)  # type: ignore[arg-type]


def test_collected_round_trip_is_exact_and_in_shanghai_time() -> None:
    post = collected(collected_at=datetime(2026, 11, 27, 2, 0, tzinfo=UTC))
    data = json.loads(post.to_bytes())
    assert data == {
        "schema_version": 2,
        "type": "post.collected",
        "id": "hotline-12345:GD1",
        "title": "拖欠工资",
        "content": "某工地拖欠农民工工资三个月",
        "url": None,
        "author": None,
        "published_at": "2026-11-27T09:00:00+08:00",
        "collected_at": "2026-11-27T10:00:00+08:00",
        "source": {"id": "hotline-12345", "kind": "hotline", "name": "12345 热线"},
        "reply": None,
        "raw": {},
    }
    assert decode(post.to_bytes()) == post


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone"):
        collected(published_at=datetime(2026, 11, 27, 9, 0))


def test_classified_extends_collected() -> None:
    post = collected()
    c = PostClassified.from_collected(
        post,
        tokens=["拖欠", "工资"],
        topic="工资拖欠",
        sentiment="negative",
        risk=Risk(score=40, level="中", reasons=["x +40"]),
        event_id="ev-1",
    )
    assert c.type == "post.classified" and c.id == post.id and c.published_at.tzinfo is not None
    assert decode(c.to_bytes(), PostClassified) == c
    assert c.published_at.utcoffset() == datetime(2026, 1, 1, tzinfo=TZ).utcoffset()


def test_classified_analysis_is_still_validated() -> None:
    # from_collected takes the post's fields as they are but checks what the analysers produced
    risk = Risk(score=40, level="中", reasons=[])
    with pytest.raises(ValueError, match="topic"):
        PostClassified.from_collected(collected(), topic="不存在", sentiment="negative", risk=risk, event_id="ev-1")
    with pytest.raises(ValueError, match="sentiment_score"):
        PostClassified.from_collected(collected(), topic="工资拖欠", sentiment="negative", sentiment_score=1.5, risk=risk, event_id="ev-1")
    with pytest.raises(ValueError, match="unknown_field"):
        PostClassified.from_collected(collected(), topic="工资拖欠", sentiment="negative", risk=risk, event_id="ev-1", unknown_field=1)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xff\xfe not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"type": "post.deleted"}', "unknown event type 'post.deleted'"),
        (b'{"type": "post.collected", "schema_version": 3}', "unsupported schema_version 3"),
        (b'{"type": "post.collected", "id": "a:1", "source": {"id": "a", "kind": "rss", "name": "A"}}', "published_at: Field required"),
    ],
)
def test_undecodable_messages_are_poison_with_reason(data: bytes, reason: str) -> None:
    with pytest.raises(PoisonMessage, match=re.escape(reason)):
        decode(data)


def test_decode_checks_the_expected_type() -> None:
    with pytest.raises(PoisonMessage, match=re.escape("expected post.classified, got post.collected")):
        decode(collected().to_bytes(), PostClassified)


def test_risk_score_bounds() -> None:
    with pytest.raises(ValueError):
        Risk(score=101, level="重大")

"""The verdict rules of ``ledger.effect.judge`` on constructed before/after series (exact figures)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ledger.effect import EffectConfig, EffectPost, case_effect, judge, response_time, town_of
from yuqing.timeutil import TZ

R = datetime(2026, 11, 10, 12, 0, tzinfo=TZ)  # the response
DONE = R + timedelta(hours=80)  # after the 72-hour after-window
CFG = EffectConfig()


def series(before: list[bool], after: list[bool], *, source: str = "s", region: str | None = "彭泽县/龙城镇") -> list[EffectPost]:
    """Posts spread over the before and after windows; True = negative."""
    out = []
    for i, neg in enumerate(before):
        out.append(EffectPost(f"b{i}", R - timedelta(hours=1 + i), neg, source, region))
    for i, neg in enumerate(after):
        out.append(EffectPost(f"a{i}", R + timedelta(hours=i), neg, source, region))
    return out


def test_calmed_when_posts_halve_and_negative_share_does_not_rise() -> None:
    e = judge(R, series([True] * 6 + [False] * 2, [True, False, False, False]), DONE)
    assert e.verdict == "平息"
    assert (e.before.posts, e.before.negative, e.after.posts, e.after.negative) == (8, 6, 4, 1)
    assert "不超过回应前 8 条的 50%" in e.reason


def test_no_posts_after_is_calmed() -> None:
    e = judge(R, series([True, True], []), DONE)
    assert e.verdict == "平息" and e.reason == "回应后无新帖"


def test_rising_by_volume() -> None:
    e = judge(R, series([True, False], [True, True, False]), DONE)  # 3 >= 1.5 x 2 and >= min_posts 3
    assert e.verdict == "升温"
    assert (e.before.posts, e.after.posts) == (2, 3)


def test_rising_by_negative_share() -> None:
    # 5 -> 4 posts (fewer), but negative 1/5 = 20% -> 3/4 = 75%: +55 points >= 20
    e = judge(R, series([True, False, False, False, False], [True, True, True, False]), DONE)
    assert e.verdict == "升温"
    assert "上升 55%" in e.reason


def test_ongoing_between_the_thresholds() -> None:
    e = judge(R, series([True] * 4, [True] * 3), DONE)  # 3 < 1.5 x 4 = 6, 3 > 0.5 x 4 = 2, share equal
    assert e.verdict == "持续"


def test_few_posts_after_never_rise() -> None:
    # 2 posts after an empty before-window: above any ratio, below min_posts 3
    e = judge(R, [*series([], [True, True]), EffectPost("old", R - timedelta(days=10), True)], DONE)
    assert e.verdict == "持续"
    assert (e.before.posts, e.after.posts) == (0, 2)


def test_thresholds_come_from_the_settings() -> None:
    posts = series([True] * 4, [True] * 3)
    assert judge(R, posts, DONE, EffectConfig(calm_ratio=0.75)).verdict == "平息"
    assert judge(R, posts, DONE, EffectConfig(window_hours=1)).after.posts == 1


def test_windows_are_equal_and_half_open() -> None:
    posts = [
        EffectPost("edge-before", R - timedelta(hours=72), False),  # in (start is inclusive)
        EffectPost("too-early", R - timedelta(hours=72, seconds=1), False),
        EffectPost("at-response", R, False),  # counts after
        EffectPost("edge-after", R + timedelta(hours=72), False),  # past the after-window
    ]
    e = judge(R, posts, DONE)
    assert (e.before.posts, e.after.posts, e.later) == (1, 1, 1)


def test_too_early_until_the_after_window_has_elapsed() -> None:
    posts = series([True] * 3, [True])
    e = judge(R, posts, R + timedelta(hours=71, minutes=59))
    assert e.verdict == "尚早" and not e.settled
    assert "2026-11-13 12:00" in e.reason
    assert judge(R, posts, R + timedelta(hours=72)).verdict == "平息"


def test_no_data_without_posts_or_dates() -> None:
    assert judge(R, [], DONE).verdict == "无数据"
    e = judge(R, [EffectPost("x", None, True)], DONE)
    assert (e.verdict, e.undated, e.total) == ("无数据", 1, 1)
    assert "均无发布时间" in e.reason


def test_undated_posts_are_counted_and_left_out() -> None:
    e = judge(R, [*series([True] * 4, []), EffectPost("u", None, True)], DONE)
    assert (e.verdict, e.undated, e.before.posts) == ("平息", 1, 4)
    assert e.notes == ["1 条帖子无发布时间，未计入"]


def test_response_before_the_first_post() -> None:
    posts = [EffectPost(f"p{i}", R + timedelta(hours=i), True) for i in range(3)]
    e = judge(R - timedelta(hours=5), posts, DONE)
    assert e.verdict == "升温" and e.before.posts == 0 and e.after.posts == 3
    assert "回应时间早于事件首条帖子" in e.notes[0]


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        judge(R.replace(tzinfo=None), [], DONE)


def test_mentions_new_sources_and_towns() -> None:
    reply = "经核查，涉事企业已于11月9日足额发放拖欠工资共计十二万元。"
    posts = [
        EffectPost("b", R - timedelta(hours=2), True, "board", "彭泽县/龙城镇/东街"),
        EffectPost("a1", R + timedelta(hours=1), False, "board", "彭泽县/龙城镇", "县里答复说会处理"),
        EffectPost("a2", R + timedelta(hours=2), True, "weibo", "彭泽县/马当镇", "号称已于11月9日足额发放拖欠工资，根本没有"),
        EffectPost("a3", R + timedelta(hours=3), True, "weibo", None, "还是没拿到钱"),
    ]
    e = judge(R, posts, DONE, reply_text=reply)
    assert e.mentions == ["a1", "a2"]  # a word; a 12-character quote of the reply
    assert e.new_sources == ["weibo"]
    assert e.new_towns == ["彭泽县/马当镇"]
    assert "提及回应 2 条；新来源 1 个，新乡镇 1 个" in e.figures_text()


def test_town_of() -> None:
    assert town_of("彭泽县/龙城镇/东街社区") == "彭泽县/龙城镇"
    assert town_of("彭泽县") == "彭泽县"
    assert town_of(None) is None and town_of("") is None


class _C:
    def __init__(self, responded: datetime | None, disclosed: list[datetime | None]) -> None:
        self.responded_at = responded
        self.commitments = [type("M", (), {"disclosed_at": d})() for d in disclosed]


def test_response_time_is_the_earliest_reply_or_disclosure() -> None:
    assert response_time(_C(None, [])) is None
    assert response_time(_C(R, [R - timedelta(days=1), None])) == R - timedelta(days=1)
    assert response_time(_C(None, [None, R])) == R


@pytest.mark.parametrize("backend", ["sqlite", "elasticsearch"])
def test_a_cases_effect_from_either_store(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """``case_effect`` reads every post of the event (paging past one page of 500) from both backends."""
    from tests.alerts.conftest import make_post
    from tests.fixtures.osmem import ES_OPTIONS
    from yuqing.store import open_store

    url = f"sqlite:///{tmp_path}/store.db" if backend == "sqlite" else str(request.getfixturevalue("es_url"))
    store = open_store(url, refresh="true", **(ES_OPTIONS if backend == "elasticsearch" else {}))  # type: ignore[arg-type]
    try:
        posts = [make_post(at=R - timedelta(minutes=1 + i), event_id="ev-many", post_id=f"wz:b{i}") for i in range(520)]
        posts += [make_post(at=R + timedelta(hours=1), event_id="ev-many", post_id="wz:a0", sentiment="neutral")]
        posts += [make_post(at=R + timedelta(hours=1), event_id="ev-other", post_id="wz:x0")]
        store.write(posts)
        store.refresh()
        case = type("C", (), {"event_id": "ev-many", "responded_at": R, "commitments": [], "response": "", "id": 1})()
        e = case_effect(case, store, DONE)
        assert e is not None and (e.verdict, e.before.posts, e.after.posts, e.after.negative) == ("平息", 520, 1, 0)
        assert case_effect(case, store, DONE, EffectConfig(max_posts=100)).before.posts == 99  # type: ignore[union-attr]
        case.event_id = None
        assert case_effect(case, store, DONE) is None
    finally:
        store.close()

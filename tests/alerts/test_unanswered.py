"""The ``unanswered`` rule: a unit's posts waiting for a reply past a working-day limit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from alerts.model import Clear, Hit, PostRef
from alerts.rules.registry import build_rules
from tests.alerts.conftest import make_post
from yuqing import workdays
from yuqing.errors import ConfigError
from yuqing.events import PostClassified, Reply
from yuqing.timeutil import TZ
from yuqing.workdays import CalendarConfig, YearSchedule


@pytest.fixture(autouse=True)
def calendar_2027() -> Iterator[None]:
    # Mon 2027-02-08 .. Fri 02-12 off, Sat 02-06 worked (调休)
    workdays.configure(
        CalendarConfig(years={2027: YearSchedule.model_validate({"holidays": ["2027-02-08..2027-02-12"], "workdays": ["2027-02-06"]})})
    )
    yield
    workdays.configure(CalendarConfig())


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2027, 2, day, hour, tzinfo=TZ)


def hotline(pid: str, day: int, unit: str | None = "县生态环境局", reply: str | None = None) -> PostClassified:
    p = make_post(at=at(day), source="hotline", post_id=pid)
    raw = {"unit": unit} if unit else {}
    return p.model_copy(update={"raw": raw, "reply": Reply(content=reply, replied_at=at(day + 1)) if reply else None})


def rule(**kw: object):  # type: ignore[no-untyped-def]
    return build_rules([{"name": "积压", "type": "unanswered", "threshold": 2, "older_than_workdays": 3, **kw}], "<test>")[0]


def feed(r, post: PostClassified) -> None:  # type: ignore[no-untyped-def]
    assert r.observe(post, PostRef.of(post)) == []  # judged on tick only


def test_fires_when_a_units_overdue_posts_reach_the_threshold_and_clears_on_reply() -> None:
    r = rule()
    feed(r, hotline("h:1", 1))  # Mon
    feed(r, hotline("h:2", 4))  # Thu
    feed(r, hotline("h:3", 2, unit="县人力资源和社会保障局"))
    feed(r, hotline("h:4", 2, unit=None))  # no unit named: not tracked
    # Fri 02-05: h:1 has waited 4 working days (2, 3, 4, 5), h:2 one: below the threshold
    assert r.tick(at(5, 18)) == []
    # Mon 02-15 (after the holiday): h:2 waited Fri 5, Sat 6 (调休), Mon 15 = 3, not more than 3 yet
    assert r.tick(at(15, 18)) == []
    [hit] = r.tick(at(16, 9))  # Tue: h:2 at 4 working days
    assert isinstance(hit, Hit) and hit.group == (("unit", "县生态环境局"),) and hit.count == 2
    assert [p.id for p in hit.posts] == ["h:1", "h:2"] and "超过 3 个工作日未回复" in hit.metric
    assert r.tick(at(16, 12)) == []  # already alerting
    feed(r, hotline("h:1", 1, reply="已处理。县生态环境局"))  # the reply arrives with the same id
    [clear] = r.tick(at(16, 13))
    assert isinstance(clear, Clear) and clear.group == (("unit", "县生态环境局"),)


def test_rule_unit_covers_a_board_without_unit_metadata_and_state_round_trips() -> None:
    r = rule(unit="县政府办", threshold=1)
    feed(r, hotline("b:1", 1, unit=None))
    state = {k: v for k, v in r.dump().items() if v is not None}
    again = rule(unit="县政府办", threshold=1)
    again.load(state)
    [hit] = again.tick(at(5, 18))
    assert hit.group == (("unit", "县政府办"),)


def test_group_by_is_refused() -> None:
    with pytest.raises(ConfigError, match="groups by unit"):
        build_rules([{"name": "x", "type": "unanswered", "threshold": 1, "group_by": ["source"]}], "<test>")


def test_through_the_engine_the_alert_carries_the_posts_unit(harness) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from tests.alerts.conftest import T0

    rules = "rules:\n  - {name: 留言积压, type: unanswered, threshold: 2, older_than_workdays: 5, unit: 县政府办, group_wait: 0s, severity: 中}\n"
    h = harness(rules)
    h.at(T0)  # Monday 2026-03-02
    for i in range(2):
        p = make_post(at=T0, source="hotline", post_id=f"hotline:{i}")
        h.feed(p.model_copy(update={"raw": {"unit": "县生态环境局"}}))
    h.at(T0 + timedelta(days=7))  # Monday 03-09: 5 working days, not more
    assert h.alerts() == []
    h.at(T0 + timedelta(days=8))  # Tuesday: 6
    [a] = h.alerts()
    assert a.status == "firing" and a.labels["unit"] == "县生态环境局"  # the post's 承办单位, not the rule's default
    assert a.metric.startswith("2 条留言超过 5 个工作日未回复")
    assert len(h.deliveries()) == 1

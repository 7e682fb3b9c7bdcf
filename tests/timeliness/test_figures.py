"""Exact figures on a hand-made dataset over a hand-entered 2027 schedule: 2027-02-08..12 (Mon-Fri)
off, Saturday 2027-02-06 worked (调休). Feb 2027: Mon 1, Fri 5, Sat 6, Mon 15."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from ledger.timeliness.figures import NO_UNIT, Item, compute, reply_workdays
from yuqing import workdays
from yuqing.timeutil import TZ
from yuqing.workdays import CalendarConfig, YearSchedule


@pytest.fixture(autouse=True)
def calendar_2027() -> Iterator[None]:
    workdays.configure(
        CalendarConfig(years={2027: YearSchedule.model_validate({"holidays": ["2027-02-08..2027-02-12"], "workdays": ["2027-02-06"]})})
    )
    yield
    workdays.configure(CalendarConfig())


def t(day: int, hour: int = 10, month: int = 2) -> datetime:
    return datetime(2027, month, day, hour, tzinfo=TZ)


HOT, BOARD = "12345 热线", "领导留言板"
RS, ST = "县人力资源和社会保障局", "县生态环境局"


def items() -> list[Item]:
    def it(
        ref: str,
        unit: str | None,
        received: datetime | None,
        replied: datetime | None = None,
        *,
        answered: bool | None = None,
        channel: str = HOT,
    ) -> Item:
        return Item(
            ref, channel, ref, received, 3, replied=answered if answered is not None else replied is not None, replied_at=replied, unit=unit
        )

    return [
        it("A", RS, t(4), t(15, 9)),  # Thu -> Mon after the holiday: Fri 5, Sat 6 (调休), Mon 15 = 3, on time
        it("B", RS, t(5), t(16)),  # Fri -> Tue: Sat 6, Mon 15, Tue 16 = 3
        it("C", RS, t(4), t(17)),  # Thu -> Wed: 5, 6, 15, 16, 17 = 5 > 3, late
        it("D", RS, t(1), t(1, 17)),  # same day = 0
        it("E", RS, t(1)),  # unanswered; at Feb 17: 2, 3, 4, 5, 6, 15, 16, 17 = 8 > 3, overdue
        it("F", RS, t(12, 9)),  # unanswered, received on a holiday; at Feb 17: 15, 16, 17 = 3, not overdue yet
        it("M", RS, t(1, month=3), t(2, month=3)),  # March: 1 working day
        it("G", ST, t(3), t(2), channel=BOARD),  # reply dated before the post
        it("H", ST, t(3), None, answered=True, channel=BOARD),  # replied, no time
        it("I", ST, t(1), t(5), channel=BOARD),  # Mon -> Fri = 4 > 3, late
        it("J", None, t(1), t(2)),  # no unit recognised
        it("K", RS, None),  # no date
        it("L", RS, datetime(2027, 1, 15, tzinfo=TZ), t(1)),  # before the period
    ]


def report(**kw: int):  # type: ignore[no-untyped-def]
    return compute(items(), t(1, 0), datetime(2027, 4, 1, tzinfo=TZ), t(17, 18), rank_min_received=3, **kw)


def test_working_days_count_tiaoxiu_and_skip_the_holiday() -> None:
    assert reply_workdays(Item("x", HOT, "", t(4), 3, True, t(15, 9))) == 3
    assert reply_workdays(Item("x", HOT, "", t(5), 3, True, t(16))) == 3
    assert reply_workdays(Item("x", HOT, "", t(3), 3, True, t(2))) is None  # before the post


def test_unit_figures_exact() -> None:
    r = report(top=1)
    rs = next(f for f in r.units if f.key == RS)
    assert (rs.received, rs.replied, rs.unanswered) == (7, 5, 2)
    assert sorted(rs.timed) == [0, 1, 3, 3, 5]
    assert rs.median == 3.0 and rs.p90 == 5  # nearest rank: ceil(0.9 * 5) = 5th
    assert (rs.late, rs.unanswered_overdue, rs.no_time) == (1, 1, 0)
    st = next(f for f in r.units if f.key == ST)
    assert (st.received, st.replied, st.timed, st.late, st.no_time) == (3, 3, [4], 1, 2)
    assert st.rate == 1.0 and st.median == 4.0 and st.p90 == 4
    none = next(f for f in r.units if f.key == NO_UNIT)
    assert (none.received, none.replied, none.timed) == (1, 1, [1])
    assert r.units[-1].key == NO_UNIT  # listed last
    assert (r.total.received, r.total.replied, r.total.late, r.total.unanswered_overdue) == (11, 9, 2, 1)


def test_channels_months_and_ranking() -> None:
    r = report(top=1)
    ch = {f.key: f for f in r.channels}
    assert (ch[HOT].received, ch[HOT].replied) == (8, 6)
    assert (ch[BOARD].received, ch[BOARD].replied, ch[BOARD].late) == (3, 3, 1)
    assert [(f.key, f.received, f.replied) for f in r.months] == [("2027-02", 10, 8), ("2027-03", 1, 1)]
    assert [(f.key, f.received) for f in r.unit_months[RS]] == [("2027-02", 6), ("2027-03", 1)]
    pairs = {(u, c): f.received for u, c, f in r.unit_channels}
    assert pairs == {(RS, HOT): 7, (ST, BOARD): 3, (NO_UNIT, HOT): 1}
    assert [f.key for f in r.best] == [ST]  # 100 % replied
    assert [f.key for f in r.worst] == [RS]


def test_bad_input_is_counted_and_listed() -> None:
    r = report()
    assert [i.ref for i in r.unattributed] == ["J"]
    problems = {p.item.ref: p.problem for p in r.problems}
    assert set(problems) == {"G", "H", "K"}
    assert "早于" in problems["G"] and "没有时间" in problems["H"] and "缺少" in problems["K"]
    assert r.outside == 1
    # nothing lost: every item is counted, listed as undatable, or outside the period
    assert r.total.received + sum(p.problem.startswith("缺少") for p in r.problems) + r.outside == len(items())


def test_ranking_needs_enough_posts() -> None:
    r = compute(items(), t(1, 0), datetime(2027, 4, 1, tzinfo=TZ), t(17, 18), rank_min_received=4)
    assert r.best == [] and r.worst == []  # only 县人社局 has 4 posts: no ranking of one
    r = report()  # top 3 but two units: one each
    assert [f.key for f in r.best] == [ST] and [f.key for f in r.worst] == [RS]


def test_empty_period() -> None:
    r = compute(items(), datetime(2030, 1, 1, tzinfo=TZ), datetime(2030, 2, 1, tzinfo=TZ), t(17))
    assert r.empty and r.units == [] and r.best == []

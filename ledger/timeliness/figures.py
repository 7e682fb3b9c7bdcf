"""Reply timeliness figures: a pure function from items (posts with their replies, ledger cases)
to figures per unit, per channel, per unit and channel, and per month. No I/O here.

Counting rules (docs/timeliness.md):
- an item is counted in the period its post was received (published / 交办) in;
- reply time is in working days (:mod:`yuqing.workdays`): the day received does not count, a
  reply on the same day or the next working day's eve is 0, the N-th working day after is N;
- a reply is late when its working days exceed the item's limit; an unanswered item is overdue
  when, at the reference time, more working days than its limit have passed;
- median and p90 are over replies with a usable time; p90 is the nearest-rank 90th percentile;
- replies with no time, or dated before their post, count as replied but not in the times, and
  are listed as problems; replies with no recognisable unit are listed as unattributed.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from yuqing.timeutil import TZ
from yuqing.workdays import workdays_between

NO_UNIT = "（未归属单位）"
LEDGER_CHANNEL = "台账交办"


@dataclass(frozen=True)
class Item:
    ref: str  # post id, or case number
    channel: str  # source display name, or 台账交办
    title: str
    received_at: datetime | None
    limit: int  # working days
    replied: bool = False
    replied_at: datetime | None = None
    unit: str | None = None
    how: str = ""  # how the unit was attributed, or why not
    url: str | None = None


@dataclass(frozen=True)
class Problem:
    item: Item
    problem: str


@dataclass
class Figures:
    key: str
    received: int = 0
    replied: int = 0
    timed: list[int] = field(default_factory=list)  # working days of each reply with a usable time
    late: int = 0
    no_time: int = 0  # replied, time unknown or before the post
    unanswered_overdue: int = 0

    @property
    def unanswered(self) -> int:
        return self.received - self.replied

    @property
    def rate(self) -> float | None:
        return self.replied / self.received if self.received else None

    @property
    def median(self) -> float | None:
        return float(statistics.median(self.timed)) if self.timed else None

    @property
    def p90(self) -> int | None:
        if not self.timed:
            return None
        ordered = sorted(self.timed)
        return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]

    @property
    def late_share(self) -> float | None:
        return self.late / len(self.timed) if self.timed else None


@dataclass
class Report:
    since: datetime
    until: datetime
    at: datetime
    total: Figures
    units: list[Figures]
    channels: list[Figures]
    unit_channels: list[tuple[str, str, Figures]]
    months: list[Figures]  # key YYYY-MM
    unit_months: dict[str, list[Figures]]
    best: list[Figures]
    worst: list[Figures]
    unattributed: list[Item]  # replied, no unit recognised
    problems: list[Problem]
    outside: int  # items received outside the period (not counted)

    @property
    def empty(self) -> bool:
        return self.total.received == 0


def reply_workdays(item: Item) -> int | None:
    """Working days from receipt to reply, or None when either time is missing or the reply is
    dated before the post."""
    if item.received_at is None or item.replied_at is None or item.replied_at < item.received_at:
        return None
    return workdays_between(item.received_at.astimezone(TZ).date(), item.replied_at.astimezone(TZ).date())


def _add(fig: Figures, item: Item, at: datetime) -> None:
    fig.received += 1
    if item.replied:
        fig.replied += 1
        days = reply_workdays(item)
        if days is None:
            fig.no_time += 1
        else:
            fig.timed.append(days)
            fig.late += days > item.limit
    elif item.received_at is not None:
        waited = workdays_between(item.received_at.astimezone(TZ).date(), at.astimezone(TZ).date())
        fig.unanswered_overdue += waited > item.limit


def rank(units: Iterable[Figures], min_received: int) -> list[Figures]:
    """Best first: higher reply rate, then fewer late replies (share), then shorter median, then name."""
    eligible = [f for f in units if f.key != NO_UNIT and f.received >= min_received]
    return sorted(
        eligible,
        key=lambda f: (
            -(f.rate or 0.0),
            f.late_share if f.late_share is not None else 1.0,
            f.median if f.median is not None else 1e9,
            f.key,
        ),
    )


def compute(items: Iterable[Item], since: datetime, until: datetime, at: datetime, *, rank_min_received: int = 3, top: int = 3) -> Report:
    """Figures for items received in [since, until); unanswered items are judged at ``at``."""
    total = Figures("合计")
    units: dict[str, Figures] = {}
    channels: dict[str, Figures] = {}
    pairs: dict[tuple[str, str], Figures] = {}
    months: dict[str, Figures] = {}
    unit_months: dict[str, dict[str, Figures]] = {}
    unattributed: list[Item] = []
    problems: list[Problem] = []
    outside = 0
    for item in items:
        if item.received_at is None:
            problems.append(Problem(item, "缺少留言（交办）时间，未计入统计"))
            continue
        if not since <= item.received_at < until:
            outside += 1
            continue
        unit = item.unit or NO_UNIT
        month = item.received_at.astimezone(TZ).strftime("%Y-%m")
        for fig in (
            total,
            units.setdefault(unit, Figures(unit)),
            channels.setdefault(item.channel, Figures(item.channel)),
            pairs.setdefault((unit, item.channel), Figures(f"{unit}|{item.channel}")),
            months.setdefault(month, Figures(month)),
            unit_months.setdefault(unit, {}).setdefault(month, Figures(month)),
        ):
            _add(fig, item, at)
        if item.replied and item.unit is None:
            unattributed.append(item)
        if item.replied:
            if item.replied_at is None:
                problems.append(Problem(item, "回复没有时间，计为已回复，不计入用时"))
            elif item.replied_at < item.received_at:
                problems.append(Problem(item, "回复时间早于留言时间，计为已回复，不计入用时"))
    ordered_units = sorted(units.values(), key=lambda f: (f.key == NO_UNIT, -f.received, f.key))
    ranked = rank(ordered_units, rank_min_received)
    # Best and worst are halves of the ranking: a unit is never both, and with one unit there is none.
    k = min(top, len(ranked) // 2)
    best = ranked[:k]
    worst = list(reversed(ranked))[:k]
    return Report(
        since=since,
        until=until,
        at=at,
        total=total,
        units=ordered_units,
        channels=sorted(channels.values(), key=lambda f: (-f.received, f.key)),
        unit_channels=sorted(((u, c, f) for (u, c), f in pairs.items()), key=lambda t: (t[0] == NO_UNIT, t[0], -t[2].received, t[1])),
        months=[months[k] for k in sorted(months)],
        unit_months={u: [m[k] for k in sorted(m)] for u, m in unit_months.items()},
        best=best,
        worst=worst,
        unattributed=unattributed,
        problems=problems,
        outside=outside,
    )

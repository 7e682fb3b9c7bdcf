"""The figures of one briefing, as typed frozen dataclasses, and how they are written in Chinese."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from yuqing.errors import YuqingError
from yuqing.events import RISK_LEVELS
from yuqing.timeutil import TZ

if TYPE_CHECKING:
    from briefings.effect import EffectFigures

SEVERITY_ORDER = tuple(reversed(RISK_LEVELS))  # 重大, 高, 中, 低


class BriefingError(YuqingError):
    """The briefing could not be made (a missing font or LibreOffice, a failed conversion)."""


@dataclass(frozen=True)
class Period:
    """``since`` <= published_at < ``until``, both aware."""

    since: datetime
    until: datetime

    def __post_init__(self) -> None:
        if self.since.tzinfo is None or self.until.tzinfo is None:
            raise ValueError("a briefing period needs aware datetimes")
        if self.until <= self.since:
            raise BriefingError(f"统计时段的结束时间（{self.until:%Y-%m-%d %H:%M}）须晚于开始时间（{self.since:%Y-%m-%d %H:%M}）")

    @property
    def previous(self) -> Period:
        """The period of the same length just before this one (环比)."""
        return Period(self.since - (self.until - self.since), self.since)

    @property
    def first_day(self) -> date:
        return self.since.astimezone(TZ).date()

    @property
    def last_day(self) -> date:
        return (self.until.astimezone(TZ) - timedelta(microseconds=1)).date()

    def days(self) -> list[date]:
        first, last = self.first_day, self.last_day
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    @property
    def whole_days(self) -> bool:
        s, u = self.since.astimezone(TZ), self.until.astimezone(TZ)
        return s.timetz().replace(tzinfo=None) == u.timetz().replace(tzinfo=None) == datetime.min.time()

    def label(self) -> str:
        """2026年11月23日至11月29日, or with times when the period does not start and end at midnight."""
        if self.whole_days:
            first, last = self.first_day, self.last_day
            if first == last:
                return zh_date(first)
            end = zh_date(last) if last.year != first.year else f"{last.month}月{last.day}日"
            return f"{zh_date(first)}至{end}"
        s, u = self.since.astimezone(TZ), self.until.astimezone(TZ)
        return f"{zh_date(s.date())} {s:%H:%M} 至 {zh_date(u.date())} {u:%H:%M}"


def zh_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


@dataclass(frozen=True)
class Change:
    """A count this period against the previous one."""

    current: int
    previous: int

    @property
    def ratio(self) -> float | None:
        """(current - previous) / previous; None when there was nothing before."""
        return None if self.previous == 0 else (self.current - self.previous) / self.previous

    def label(self) -> str:
        """环比 as a table cell: +25.0%, -10.0%, 持平, 新增 (nothing before), — (nothing at all)."""
        r = self.ratio
        if r is None:
            return "新增" if self.current else "—"
        if self.current == self.previous:
            return "持平"
        return f"{r * 100:+.1f}%"

    def phrase(self) -> str:
        """环比 in a sentence: 较上期（120条）增长25.0%."""
        r = self.ratio
        if r is None:
            return "上期无数据"
        if self.current == self.previous:
            return f"与上期（{self.previous}条）持平"
        return f"较上期（{self.previous}条）{'增长' if r > 0 else '下降'}{abs(r) * 100:.1f}%"


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


@dataclass(frozen=True)
class SourceCount:
    source_id: str
    name: str
    count: int


@dataclass(frozen=True)
class TopicFigure:
    topic: str
    posts: Change
    negative: Change


@dataclass(frozen=True)
class DayCount:
    day: date
    total: int
    negative: int


@dataclass(frozen=True)
class RiskEvent:
    """An event (posts SimHash-clustered by the processors), described by its riskiest post."""

    event_id: str
    title: str
    topic: str
    risk_level: str
    risk_score: int
    reasons: tuple[str, ...]
    posts: int  # posts of the event within the period
    region: str | None
    url: str | None = None


@dataclass(frozen=True)
class RegionCount:
    region: str  # display name (township), e.g. 龙城镇
    path: str  # gazetteer path prefix, e.g. 彭泽县/龙城镇
    negative: int


@dataclass(frozen=True)
class RuleCount:
    rule: str
    count: int
    highest: str  # highest severity among the rule's alerts


@dataclass(frozen=True)
class AlertFigures:
    available: bool  # the alert tables exist
    total: int = 0
    by_level: dict[str, int] = field(default_factory=dict)  # 重大, 高, 中, 低 (all four, in that order)
    by_rule: tuple[RuleCount, ...] = ()
    still_open: int = 0  # not resolved when the briefing was made


@dataclass(frozen=True)
class OverdueCommitment:
    case_number: str
    case_title: str
    content: str
    unit: str
    due_at: datetime


@dataclass(frozen=True)
class LedgerFigures:
    available: bool  # the ledger tables exist
    at: datetime | None = None  # overdue counts are as of this time
    opened: int = 0
    closed: int = 0
    overdue_cases: int = 0  # reply late: 已交办/办理中 past 规定回复时间
    overdue_commitments: int = 0  # open commitments past 承诺时限
    fulfilled: int = 0  # commitments fulfilled in the period
    disclosed: int = 0  # commitments disclosed in the period
    overdue_items: tuple[OverdueCommitment, ...] = ()


@dataclass(frozen=True)
class Recommendation:
    unit: str
    text: str


@dataclass(frozen=True)
class Briefing:
    title: str
    organization: str
    issue_year: int
    issue_no: int
    made_at: datetime
    period: Period
    total: Change
    negative: Change
    sources: tuple[SourceCount, ...]
    topics: tuple[TopicFigure, ...]
    days: tuple[DayCount, ...]
    events: tuple[RiskEvent, ...]
    event_levels: dict[str, int]  # events at 中 and above by their highest level: 重大, 高, 中
    regions: tuple[RegionCount, ...]
    alerts: AlertFigures
    ledger: LedgerFigures
    recommendations: tuple[Recommendation, ...] = ()
    effects: EffectFigures | None = None  # 回应效果 (briefings.effect); None: not computed
    timeliness: Any = None  # ledger.timeliness.figures.Report of the period (回复时效), when computed
    policies: Any = None  # briefings.policy_section.PolicyFigures of watched policies (政策舆情)

    @property
    def empty(self) -> bool:
        return self.total.current == 0

    @property
    def heading(self) -> str:
        return f"{self.title}（{self.issue_year}年第{self.issue_no}期）"

    @property
    def negative_share(self) -> float | None:
        return share(self.negative.current, self.total.current)

    @property
    def previous_negative_share(self) -> float | None:
        return share(self.negative.previous, self.total.previous)

    @property
    def file_stem(self) -> str:
        return f"舆情风险研判简报_{self.period.first_day:%Y%m%d}-{self.period.last_day:%Y%m%d}"


def issue_of(period: Period) -> tuple[int, int]:
    """The issue number: the ISO week of the period's last day (a weekly briefing made on Monday
    for the week before is 第N期 of that week)."""
    iso = period.last_day.isocalendar()
    return iso.year, iso.week

"""The figures of one period, read from the store (posts) and the database (alerts, ledger).

Reads only: nothing here writes, and a database whose tables are missing (the alert engine or
the ledger never ran) yields ``available=False`` instead of an error or an empty schema.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, create_engine, func, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from briefings.advice import recommend
from briefings.model import (
    SEVERITY_ORDER,
    AlertFigures,
    Briefing,
    Change,
    DayCount,
    LedgerFigures,
    OverdueCommitment,
    Period,
    RegionCount,
    RiskEvent,
    RuleCount,
    SourceCount,
    TopicFigure,
    issue_of,
)
from ledger.briefing_config import BriefingConfig
from yuqing.events import TOPICS, PostClassified
from yuqing.store import Query, Store
from yuqing.timeutil import TZ, now

RISKY_LEVELS = ("重大", "高", "中")  # events below 中 are not 研判 material
_PAGE = 500


def compute(
    store: Store,
    period: Period,
    config: BriefingConfig,
    topic_units: Mapping[str, str],
    *,
    alerts_db: Engine | None = None,
    ledger_db: Engine | None = None,
    made_at: datetime | None = None,
    issue: int | None = None,
) -> Briefing:
    made_at = made_at or now()
    year, week = issue_of(period)
    prev = period.previous
    total = Change(_count(store, period), _count(store, prev))
    negative = Change(_count(store, period, sentiment="negative"), _count(store, prev, sentiment="negative"))
    regions = negative_regions(store, period, config.top_regions)
    events, event_levels = risk_events(store, period, config.top_events)
    alerts = alert_figures(alerts_db, period) if alerts_db is not None else AlertFigures(available=False)
    ledger = ledger_figures(ledger_db, period, min(period.until, made_at)) if ledger_db is not None else LedgerFigures(available=False)
    topics = topic_figures(store, period)
    briefing = Briefing(
        title=config.title,
        organization=config.organization,
        issue_year=year,
        issue_no=issue if issue is not None else week,
        made_at=made_at,
        period=period,
        total=total,
        negative=negative,
        sources=source_counts(store, period),
        topics=topics,
        days=daily(store, period),
        events=events,
        event_levels=event_levels,
        regions=regions,
        alerts=alerts,
        ledger=ledger,
    )
    return _with_advice(briefing, config, topic_units)


def _with_advice(b: Briefing, config: BriefingConfig, topic_units: Mapping[str, str]) -> Briefing:
    return replace(b, recommendations=tuple(recommend(b, topic_units, growth=config.growth_threshold, min_negative=config.min_negative)))


# -- posts --------------------------------------------------------------------------------
def _query(period: Period, **filters: Any) -> Query:
    return Query(since=period.since, until=period.until, **filters)


def _count(store: Store, period: Period, **filters: Any) -> int:
    return sum(store.count_by("sentiment", _query(period, **filters)).values())


def source_counts(store: Store, period: Period) -> tuple[SourceCount, ...]:
    out = []
    for source_id, n in store.count_by("source", _query(period)).items():
        # The store counts source ids; the display name travels with each post.
        hits = store.search(_query(period, source=source_id, limit=1)).hits
        out.append(SourceCount(source_id, hits[0].source.name if hits else source_id, n))
    return tuple(sorted(out, key=lambda s: (-s.count, s.source_id)))


def topic_figures(store: Store, period: Period) -> tuple[TopicFigure, ...]:
    prev = period.previous
    posts, posts_prev = store.count_by("topic", _query(period)), store.count_by("topic", _query(prev))
    neg = store.count_by("topic", _query(period, sentiment="negative"))
    neg_prev = store.count_by("topic", _query(prev, sentiment="negative"))
    # The seven topics of the work plan (§八) first, in its order, then 其他.
    return tuple(TopicFigure(t, Change(posts.get(t, 0), posts_prev.get(t, 0)), Change(neg.get(t, 0), neg_prev.get(t, 0))) for t in TOPICS)


def daily(store: Store, period: Period) -> tuple[DayCount, ...]:
    total = store.count_per_day(_query(period))
    negative = store.count_per_day(_query(period, sentiment="negative"))
    return tuple(DayCount(d, total.get(d.isoformat(), 0), negative.get(d.isoformat(), 0)) for d in period.days())


def _all(store: Store, query: Query) -> Iterator[PostClassified]:
    offset = 0
    while True:
        page = store.search(replace(query, limit=_PAGE, offset=offset)).hits
        yield from page
        if len(page) < _PAGE:
            return
        offset += _PAGE


def risk_events(store: Store, period: Period, limit: int) -> tuple[tuple[RiskEvent, ...], dict[str, int]]:
    """The ``limit`` riskiest events with a post at 中 or above, ranked by their riskiest post
    (score), then by size; and how many such events there are per level (重大, 高, 中)."""
    best: dict[str, PostClassified] = {}
    for level in RISKY_LEVELS:
        for post in _all(store, _query(period, risk_level=level)):
            cur = best.get(post.event_id)
            if cur is None or (post.risk.score, cur.published_at) > (cur.risk.score, post.published_at):
                best[post.event_id] = post
    counts = store.count_by("event_id", _query(period)) if best else {}
    sizes = {eid: counts.get(eid, 1) for eid in best}
    ranked = sorted(best.values(), key=lambda p: (-p.risk.score, -sizes[p.event_id], p.published_at, p.event_id))[:limit]
    out = []
    for p in ranked:
        region = p.region
        if region is None:
            regions = store.count_by("region", _query(period, event_id=p.event_id))
            region = next(iter(regions), None)
        out.append(
            RiskEvent(
                event_id=p.event_id,
                title=headline(p),
                topic=p.topic,
                risk_level=p.risk.level,
                risk_score=p.risk.score,
                reasons=tuple(p.risk.reasons),
                posts=sizes[p.event_id],
                region=region,
                url=p.url,
            )
        )
    levels: Counter[str] = Counter(p.risk.level for p in best.values())
    return tuple(out), {lvl: levels.get(lvl, 0) for lvl in RISKY_LEVELS}


def headline(post: PostClassified, width: int = 40) -> str:
    """The post's title, or the start of its text when the title says nothing (some boards give ")")."""
    text = post.title.strip()
    if len(re.sub(r"\W", "", text)) < 2:
        text = " ".join(post.content.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def township(path: str) -> tuple[str, str]:
    """(display name, path prefix) at township level: 彭泽县/龙城镇/泉塘社区 -> (龙城镇, 彭泽县/龙城镇);
    a post placed only at county level keeps the county, marked as such."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2:
        return parts[1], "/".join(parts[:2])
    name = parts[0] if parts else path
    return f"{name}（未具体到乡镇）", name


def negative_regions(store: Store, period: Period, limit: int) -> tuple[RegionCount, ...]:
    counts: Counter[tuple[str, str]] = Counter()
    for path, n in store.count_by("region", _query(period, sentiment="negative")).items():
        counts[township(path)] += n
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][1]))[:limit]
    return tuple(RegionCount(name, path, n) for (name, path), n in ranked)


# -- database -------------------------------------------------------------------------------
def open_readonly(url: str) -> Engine | None:
    """An engine for reading, or None for an embedded database file that does not exist yet
    (opening it would create an empty one)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            return None
        from pathlib import Path

        if not Path(parsed.database).exists():
            return None
        return create_engine(url, connect_args={"timeout": 30})
    return create_engine(url, pool_pre_ping=True)


def alert_figures(engine: Engine, period: Period) -> AlertFigures:
    """Alerts opened in the period that fired, read through the alert store (``fired_between``)
    on the read-only ``engine`` of the alerts' database."""
    from alerts.store import AlertStore

    rows = AlertStore(str(engine.url), engine=engine).fired_between(period.since, period.until)
    if rows is None:
        return AlertFigures(available=False)
    by_level: dict[str, int] = {lvl: 0 for lvl in SEVERITY_ORDER}
    per_rule: dict[str, list[str]] = {}
    still_open = 0
    for rule, severity, status in rows:
        by_level[severity] = by_level.get(severity, 0) + 1
        per_rule.setdefault(rule, []).append(severity)
        still_open += status != "resolved"
    rank = {lvl: i for i, lvl in enumerate(SEVERITY_ORDER)}
    by_rule = sorted(
        (RuleCount(rule, len(sev), min(sev, key=lambda s: rank.get(s, 99))) for rule, sev in per_rule.items()),
        key=lambda r: (-r.count, rank.get(r.highest, 99), r.rule),
    )
    return AlertFigures(available=True, total=len(rows), by_level=by_level, by_rule=tuple(by_rule), still_open=still_open)


def ledger_figures(engine: Engine, period: Period, at: datetime, *, list_limit: int = 10) -> LedgerFigures:
    """Cases opened and closed and commitments fulfilled and disclosed within the period; cases
    and commitments overdue at ``at`` (the end of the period, or now if that is earlier), judged by
    their current state — the ledger keeps no history of states at past times but its audit."""
    from ledger.states import REPLY_CLOCK, CaseStatus, CommitmentStatus
    from ledger.tables import Case, Commitment, Unit

    if not inspect(engine).has_table(Case.__tablename__):
        return LedgerFigures(available=False)

    def within(col: Any) -> Any:
        return and_(col >= period.since, col < period.until)

    open_commitment = and_(
        Commitment.status == CommitmentStatus.OPEN.value,
        Commitment.due_at < at,
        Case.status != CaseStatus.CLOSED.value,
    )
    with Session(engine) as s:
        opened = s.scalar(select(func.count()).select_from(Case).where(within(Case.created_at))) or 0
        closed = s.scalar(select(func.count()).select_from(Case).where(within(Case.closed_at))) or 0
        overdue_cases = (
            s.scalar(select(func.count()).select_from(Case).where(Case.status.in_([c.value for c in REPLY_CLOCK]), Case.due_at < at)) or 0
        )
        overdue_commitments = s.scalar(select(func.count()).select_from(Commitment).join(Case).where(open_commitment)) or 0
        fulfilled = s.scalar(select(func.count()).select_from(Commitment).where(within(Commitment.fulfilled_at))) or 0
        disclosed = s.scalar(select(func.count()).select_from(Commitment).where(within(Commitment.disclosed_at))) or 0
        rows = s.execute(
            select(Case.number, Case.title, Commitment.content, Unit.name, Commitment.due_at)
            .select_from(Commitment)
            .join(Case, Case.id == Commitment.case_id)
            .join(Unit, Unit.id == Commitment.unit_id)
            .where(open_commitment)
            .order_by(Commitment.due_at, Commitment.id)
            .limit(list_limit)
        ).all()
    items = tuple(OverdueCommitment(number or "", title, content, unit, due.astimezone(TZ)) for number, title, content, unit, due in rows)
    return LedgerFigures(
        available=True,
        at=at,
        opened=opened,
        closed=closed,
        overdue_cases=overdue_cases,
        overdue_commitments=overdue_commitments,
        fulfilled=fulfilled,
        disclosed=disclosed,
        overdue_items=items,
    )

"""What the 监测工作台 pages show, read from the store (``yuqing.store``) only through its protocol
(``search``, ``count_by``, ``count_per_day``, ``count_per_hour``), so the embedded SQLite store and
Elasticsearch give the same answers (``tests/core/test_workbench_contract.py``).

The search form takes the same parameters as ``yuqing search`` (text, topic, sentiment, risk,
source, region, scheme, since, until) and builds the same ``Query``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from markupsafe import Markup, escape

from yuqing.store import CountField, Query, Store
from yuqing.text import query_terms
from yuqing.timeutil import TZ, parse_since

SENTIMENTS = {"negative": "负面", "neutral": "中性", "positive": "正面"}
RISK_LEVELS = ("重大", "高", "中", "低")
FACETS: tuple[CountField, ...] = ("topic", "sentiment", "risk_level", "source", "region")
FACET_LABELS = {"topic": "主题", "sentiment": "情感", "risk_level": "风险", "source": "来源", "region": "地区", "day": "时间"}
GAZETTEER = Path(__file__).resolve().parents[1] / "processors" / "gazetteer_pengze.yaml"
COUNTY = "彭泽县"


class SearchInputError(ValueError):
    """A search parameter that cannot be read; ``field`` names it."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class SearchForm:
    """The search parameters, as typed (kept to refill the form and build links)."""

    q: str = ""
    topic: str = ""
    sentiment: str = ""
    risk: str = ""
    source: str = ""
    region: str = ""
    scheme: str = ""
    since: str = ""
    until: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> SearchForm:
        return cls(**{k: str(params.get(k) or "").strip()[:200] for k in cls.__dataclass_fields__})

    def params(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v}

    def query(self, *, limit: int = 20, offset: int = 0, reference: datetime | None = None) -> Query:
        """The ``Query`` ``yuqing search`` builds from the same options."""
        if self.sentiment and self.sentiment not in SENTIMENTS:
            raise SearchInputError(f"情感须为 {'、'.join(SENTIMENTS)} 之一，收到「{self.sentiment}」", "sentiment")
        if self.risk and self.risk not in RISK_LEVELS:
            raise SearchInputError(f"风险等级须为 {'、'.join(RISK_LEVELS)} 之一，收到「{self.risk}」", "risk")
        return Query(
            text=self.q or None,
            topic=self.topic or None,
            sentiment=self.sentiment or None,
            risk_level=self.risk or None,
            source=self.source or None,
            region=self.region or None,
            scheme=self.scheme or None,
            since=_when(self.since, "since", reference),
            until=_when(self.until, "until", reference),
            limit=limit,
            offset=offset,
        )


def _when(value: str, name: str, reference: datetime | None) -> datetime | None:
    if not value:
        return None
    dt = parse_since(value, reference)
    if dt is None:
        what = "起始时间" if name == "since" else "截止时间"
        raise SearchInputError(f"{what}「{value}」无法识别：请填 24h、7d、2026-11-01 或完整时间", name)
    return dt


@dataclass
class Facets:
    total: int
    fields: dict[str, dict[str, int]] = field(default_factory=dict)  # facet -> value -> count
    days: dict[str, int] = field(default_factory=dict)


def facets(store: Store, query: Query, total: int | None = None) -> Facets:
    """Counts of the posts ``query`` finds, by topic, sentiment, risk, source, region and day.
    ``total``: how many it finds, when the caller has searched already (one search fewer)."""
    q = replace(query, limit=0, offset=0)
    if total is None:
        total = store.search(replace(q, limit=1)).total
    return Facets(total, {f: store.count_by(f, q) for f in FACETS}, store.count_per_day(q))


def highlight(text: str, query_text: str | None, limit: int | None = None) -> Markup:
    """``text`` escaped, with the query's terms in ``<mark>``; cut to ``limit`` characters around the
    first match (with … where cut)."""
    pattern = _terms_pattern(query_text or "")
    if limit is not None and len(text) > limit:
        first = pattern.search(text) if pattern else None
        start = max(0, (first.start() if first else 0) - limit // 4)
        text = ("…" if start else "") + text[start : start + limit] + ("…" if start + limit < len(text) else "")
    if pattern is None:
        return escape(text)
    # One Markup at the end, not one per piece (the 检索 page highlights 40 texts: issue 9).
    out: list[str] = []
    at = 0
    for m in pattern.finditer(text):
        out += (escape(text[at : m.start()]), "<mark>", escape(m.group(0)), "</mark>")
        at = m.end()
    out.append(escape(text[at:]))
    return Markup("".join(out))


@lru_cache(maxsize=256)
def _terms_pattern(query_text: str) -> re.Pattern[str] | None:
    """The query's terms as one pattern, longest first; tokenised once per query text, not per highlighted text."""
    terms = sorted({t for t in query_terms(query_text) if t.strip()}, key=len, reverse=True)
    return re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE) if terms else None


# -- 总览 -------------------------------------------------------------------------------------------


@dataclass
class Window:
    label: str
    total: int
    negative: int
    by_topic: dict[str, int]
    by_sentiment: dict[str, int]
    by_risk: dict[str, int]
    span: str = ""  # the same window for the search page's ``since`` (24h, 7d)

    @property
    def negative_share(self) -> float:
        return self.negative / self.total if self.total else 0.0


def window(store: Store, label: str, span: str, until: datetime, scheme: str | None) -> Window:
    since = parse_since(span, until)
    assert since is not None, span
    q = Query(since=since, until=until, scheme=scheme, limit=1)
    by_sentiment = store.count_by("sentiment", q)
    return Window(
        label,
        store.search(q).total,
        by_sentiment.get("negative", 0),
        store.count_by("topic", q),
        by_sentiment,
        store.count_by("risk_level", q),
        span,
    )


def series(store: Store, *, hourly: bool, since: datetime, until: datetime, scheme: str | None) -> dict[str, Any]:
    """Posts and negative posts per hour (``hourly``) or day, every bucket present (zeros too), and
    the negative share in per cent (None where there were no posts)."""
    q = Query(since=since, until=until, scheme=scheme)
    neg = replace(q, sentiment="negative")
    count = store.count_per_hour if hourly else store.count_per_day
    all_, negative = count(q), count(neg)
    keys: list[str] = []
    step = timedelta(hours=1) if hourly else timedelta(days=1)
    t = since.astimezone(TZ).replace(minute=0, second=0, microsecond=0)
    if not hourly:
        t = t.replace(hour=0)
    while t < until:
        keys.append(t.strftime("%Y-%m-%d %H" if hourly else "%Y-%m-%d"))
        t += step
    labels = [k[5:] + ":00" if hourly else k[5:] for k in keys]
    return {
        "labels": labels,
        "posts": [all_.get(k, 0) for k in keys],
        "negative": [negative.get(k, 0) for k in keys],
        # no posts, no share (a gap in the line, not a 0 %)
        "share": [round(100 * negative.get(k, 0) / all_[k], 1) if all_.get(k) else None for k in keys],
    }


@dataclass
class Rising:
    event_id: str
    title: str
    topic: str
    recent: int
    before: int


def rising_events(store: Store, at: datetime, scheme: str | None, hours: int = 24, top: int = 10) -> list[Rising]:
    """Events with more posts in the last ``hours`` than in the ``hours`` before, most growth first."""
    span = timedelta(hours=hours)
    recent = store.count_by("event_id", Query(since=at - span, until=at, scheme=scheme))
    before = store.count_by("event_id", Query(since=at - 2 * span, until=at - span, scheme=scheme))
    grown = sorted(((n - before.get(e, 0), n, e) for e, n in recent.items() if n > before.get(e, 0)), key=lambda t: (-t[0], -t[1], t[2]))
    out = []
    for _, n, e in grown[:top]:
        hits = store.search(Query(event_id=e, limit=1)).hits
        first = hits[0] if hits else None
        out.append(Rising(e, first.title if first else e, first.topic if first else "", n, before.get(e, 0)))
    return out


@dataclass
class Flat:
    source: str
    before: int  # posts in the 7 days before the last 24 hours


def flatlined_sources(store: Store, at: datetime) -> list[Flat]:
    """Sources with posts in the week before but none in the last 24 hours."""
    day = timedelta(hours=24)
    recent = store.count_by("source", Query(since=at - day, until=at))
    week = store.count_by("source", Query(since=at - 8 * day, until=at - day))
    return [Flat(s, n) for s, n in week.items() if not recent.get(s)]


# -- 地区 -------------------------------------------------------------------------------------------


def towns() -> list[str]:
    """The towns (乡镇, and the county-level farms and zones) of 彭泽县, in the gazetteer's order."""
    data = yaml.safe_load(GAZETTEER.read_text(encoding="utf-8"))
    return [str(name) for name in (data[COUNTY].get("places") or {})]


@dataclass
class TownRow:
    town: str
    posts: int
    negative: int

    @property
    def share(self) -> float:
        return self.negative / self.posts if self.posts else 0.0


def by_town(store: Store, query: Query) -> tuple[list[TownRow], int]:
    """Posts and negative posts per town (regions ``彭泽县/<镇>`` and below), and the county-level
    posts that name no town."""
    q = replace(query, limit=0, offset=0)
    posts = store.count_by("region", q)
    negative = store.count_by("region", replace(q, sentiment="negative"))
    rows = {t: TownRow(t, 0, 0) for t in towns()}
    county_only = 0
    for region, n in posts.items():
        parts = region.split("/")
        if parts[0] != COUNTY:
            continue
        if len(parts) == 1:
            county_only += n
            continue
        row = rows.setdefault(parts[1], TownRow(parts[1], 0, 0))
        row.posts += n
        row.negative += negative.get(region, 0)
    return list(rows.values()), county_only

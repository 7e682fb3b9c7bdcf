"""Preview: what would this scheme have matched in the last N days — counts per day and sample
posts, from the store (either backend) through ``Query.expr``.

The scheme's exclude words are folded into the expression (``!word`` beside the include); its
sources and topics become the store's exact filters (one query per combination: the answers are
disjoint, so they add up); its regions are prefixes, resolved to the region values the store
holds (``count_by("region")``). Counts are by index terms (``yuqing.store``), so they can differ
slightly from tagging, which tests substrings; a regex only narrows the samples, not the counts
(``regex_upper_bound``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from schemes.model import Scheme
from yuqing.events import PostClassified
from yuqing.query import Expr, Group, Item, Word, normalise
from yuqing.store import Query, Store
from yuqing.timeutil import now as _now

BROAD_SHARE = 0.5  # a scheme matching more than this share of the window's posts is too broad
BROAD_MIN = 20


@dataclass
class Preview:
    days: int
    total: int
    window_total: int
    per_day: dict[str, int]
    samples: list[PostClassified] = field(default_factory=list)
    regex_upper_bound: bool = False

    @property
    def share(self) -> float:
        return self.total / self.window_total if self.window_total else 0.0

    @property
    def warning(self) -> str | None:
        if self.total >= BROAD_MIN and self.share > BROAD_SHARE:
            return (
                f"该方案匹配了近{self.days}天全部信息的{self.share:.0%}（{self.total}/{self.window_total}条），范围可能过宽，请收紧关键词"
            )
        return None


def scheme_expr(s: Scheme) -> Expr:
    """Include and not any exclude word, as one expression."""
    include = s.expr
    if not s.exclude:
        return include
    items = [Item("must", include)] + [Item("not", Word(normalise(w))) for w in s.exclude]
    return Expr((Group(tuple(items)),))


def preview(store: Store, scheme: Scheme, *, days: int = 30, samples: int = 10, now: datetime | None = None) -> Preview:
    end = now or _now()
    since = end - timedelta(days=days)
    expr = scheme_expr(scheme)
    base = Query(expr=expr, since=since, until=end)
    regions: list[str | None] = [None]
    if scheme.regions:
        present = store.count_by("region", base)
        regions = [r for r in present if any(r == p or r.startswith(p.rstrip("/") + "/") for p in scheme.regions)]
    per_day: dict[str, int] = {}
    hits: list[PostClassified] = []
    total = 0
    sources: list[str | None] = [*scheme.sources] or [None]
    topics: list[str | None] = [*scheme.topics] or [None]
    for region, source, topic in itertools.product(regions, sources, topics):
        q = Query(expr=expr, since=since, until=end, region=region, source=source, topic=topic, limit=max(samples * 5, 50))
        for day, n in store.count_per_day(q).items():
            per_day[day] = per_day.get(day, 0) + n
            total += n
        hits += store.search(q).hits
    hits.sort(key=lambda p: p.id)
    hits.sort(key=lambda p: p.published_at, reverse=True)  # the store's order: newest, then id
    regexes = bool(expr.regexes())
    if regexes:  # the store could only say "may match": keep the samples that really do
        hits = [p for p in hits if expr.matches(p.title, p.content)]
    window = store.search(Query(since=since, until=end, limit=0)).total
    return Preview(days, total, window, dict(sorted(per_day.items())), hits[:samples], regexes)

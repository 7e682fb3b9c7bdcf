"""What was said about a policy before and after its publication, from the store (either backend).

Posts about a policy are the store's answer to ``Query(scheme=...)`` (posts tagged with its
监测方案) or ``Query(expr=...)`` (its keywords, searched by index terms). The window is
``before_days`` before local midnight of the publication day and ``after_days`` from it, ending
now at the latest (an upcoming policy has only "before").

Questions: a post is a question when its title or text has a question mark (？ or ?), a
sentence-final 吗/呢, or a question word — 怎么, 如何, 能否, 能不能, 可否, 可不可以, 是否, 何时,
什么时候, 为什么, 为何, 哪里, 哪些, 多少, 请问 (``QUESTION``). The sentence that asks is shown.

Concerns: the classifier's keywords of the posts (``post.keywords``), counted before and after;
each with its representative post (highest risk score, then newest).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from schemes.policies import Policy
from yuqing.events import PostClassified
from yuqing.store import Query, Store
from yuqing.timeutil import TZ
from yuqing.timeutil import now as _now

BEFORE_DAYS = 30
AFTER_DAYS = 30
MAX_POSTS = 2000  # posts read for concerns and questions (counts come from the store, not these)
QUESTION = re.compile(
    r"[?？]|[吗呢](?=[。！!，,；;\s]|$)|怎么|如何|能否|能不能|可否|可不可以|是否|何时|什么时候|为什么|为何|哪里|哪些|多少|请问"
)
_SENTENCE = re.compile(r"[^。！!？?\n]*[。！!？?]?")


@dataclass(frozen=True)
class Day:
    day: str  # YYYY-MM-DD
    total: int
    negative: int
    after: bool  # on or after the publication day

    @property
    def share(self) -> float | None:
        return self.negative / self.total if self.total else None


@dataclass(frozen=True)
class Side:
    total: int = 0
    negative: int = 0

    @property
    def share(self) -> float | None:
        return self.negative / self.total if self.total else None


@dataclass(frozen=True)
class Concern:
    word: str
    before: int
    after: int
    post: PostClassified


@dataclass(frozen=True)
class Question:
    post: PostClassified
    sentence: str
    after: bool


@dataclass(frozen=True)
class Count:
    key: str
    name: str
    before: int
    after: int

    @property
    def total(self) -> int:
        return self.before + self.after


@dataclass
class PolicyReport:
    policy: Policy
    since: datetime
    until: datetime
    start: datetime  # publication, local midnight
    days: list[Day]
    before: Side
    after: Side
    concerns: list[Concern] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)
    question_count: tuple[int, int] = (0, 0)  # (before, after) among the posts read
    sources: list[Count] = field(default_factory=list)
    towns: list[Count] = field(default_factory=list)
    posts: list[PostClassified] = field(default_factory=list)  # newest first, at most MAX_POSTS
    truncated: bool = False

    @property
    def upcoming(self) -> bool:
        return self.start >= self.until

    @property
    def total(self) -> int:
        return self.before.total + self.after.total

    @property
    def share_change(self) -> float | None:
        """After minus before negative share (percentage points / 100), when both have posts."""
        a, b = self.after.share, self.before.share
        return a - b if a is not None and b is not None else None

    @property
    def post_ids(self) -> set[str]:
        return {p.id for p in self.posts}

    @property
    def event_ids(self) -> set[str]:
        return {p.event_id for p in self.posts if p.event_id}


def base_query(policy: Policy, since: datetime, until: datetime) -> Query:
    if policy.scheme:
        return Query(scheme=policy.scheme, since=since, until=until)
    return Query(expr=policy.expr, since=since, until=until)


def is_question(post: PostClassified) -> str | None:
    """The sentence that asks (title first), or None."""
    for text in (post.title, post.content):
        for s in _SENTENCE.findall(text or ""):
            s = s.strip()
            m = QUESTION.search(s) if s else None
            if m is None:
                continue
            if len(s) <= 120:
                return s
            lo = max(0, m.start() - 80)  # a long sentence: the part around the question word
            return ("…" if lo else "") + s[lo : lo + 118] + ("…" if lo + 118 < len(s) else "")
    return None


def town_of(region: str) -> str:
    """彭泽县/龙城镇/… -> 龙城镇; a county-level region stays as it is."""
    parts = [p for p in region.split("/") if p]
    return parts[1] if len(parts) > 1 else (parts[0] if parts else "")


def _split(before: dict[str, int], after: dict[str, int], names: dict[str, str], limit: int) -> list[Count]:
    keys = set(before) | set(after)
    rows = [Count(k, names.get(k, k), before.get(k, 0), after.get(k, 0)) for k in keys if k]
    rows.sort(key=lambda c: (-c.total, c.name))
    return rows[:limit]


def report(
    store: Store,
    policy: Policy,
    *,
    before_days: int = BEFORE_DAYS,
    after_days: int = AFTER_DAYS,
    now: datetime | None = None,
    top: int = 10,
) -> PolicyReport:
    at = (now or _now()).astimezone(TZ)
    start = policy.start
    since = start - timedelta(days=before_days)
    until = min(start + timedelta(days=after_days), at)
    if until <= since:  # the whole window is ahead of us
        until = since
    q = base_query(policy, since, until)
    total = store.count_per_day(q) if until > since else {}
    negative = store.count_per_day(replace(q, sentiment="negative")) if until > since else {}
    days: list[Day] = []
    d: date = since.date()
    last = (until - timedelta(microseconds=1)).astimezone(TZ).date()
    while until > since and d <= last:
        key = d.isoformat()
        days.append(Day(key, total.get(key, 0), negative.get(key, 0), d >= policy.published))
        d += timedelta(days=1)
    before = Side(sum(x.total for x in days if not x.after), sum(x.negative for x in days if not x.after))
    after = Side(sum(x.total for x in days if x.after), sum(x.negative for x in days if x.after))
    r = PolicyReport(policy, since, until, start, days, before, after)
    if until <= since:
        return r
    found = store.search(replace(q, limit=MAX_POSTS))
    posts = found.hits
    expr = policy.expr
    if expr is not None and expr.regexes():  # the store could only say "may match"
        posts = [p for p in posts if expr.matches(p.title, p.content)]
    r.posts = posts
    r.truncated = found.total > len(found.hits)

    words_before: Counter[str] = Counter()
    words_after: Counter[str] = Counter()
    best: dict[str, PostClassified] = {}
    for p in posts:
        side = words_after if p.published_at >= start else words_before
        for w in dict.fromkeys(p.keywords):
            side[w] += 1
            cur = best.get(w)
            if cur is None or (p.risk.score, p.published_at) > (cur.risk.score, cur.published_at):
                best[w] = p
    ranked = sorted(set(words_before) | set(words_after), key=lambda w: (-(words_before[w] + words_after[w]), w))
    r.concerns = [Concern(w, words_before[w], words_after[w], best[w]) for w in ranked[:top]]

    qb = qa = 0
    for p in posts:
        s = is_question(p)
        if s is None:
            continue
        after_side = p.published_at >= start
        qa, qb = (qa + 1, qb) if after_side else (qa, qb + 1)
        if len(r.questions) < top:
            r.questions.append(Question(p, s, after_side))
    r.question_count = (qb, qa)

    qb_ = replace(q, until=min(start, until))
    qa_ = replace(q, since=start) if until > start else None
    names = {p.source.id: p.source.name for p in posts}
    src_b = store.count_by("source", qb_) if start > since else {}
    src_a = store.count_by("source", qa_) if qa_ else {}
    r.sources = _split(src_b, src_a, names, top)
    reg_b = store.count_by("region", qb_) if start > since else {}
    reg_a = store.count_by("region", qa_) if qa_ else {}
    towns_b: Counter[str] = Counter()
    towns_a: Counter[str] = Counter()
    for src, dst in ((reg_b, towns_b), (reg_a, towns_a)):
        for region, n in src.items():
            if region:
                dst[town_of(region)] += n
    r.towns = _split(dict(towns_b), dict(towns_a), {}, top)
    return r

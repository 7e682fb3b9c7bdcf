"""Did the response land? (回应效果) — a verdict on an event's posts before and after a response.

``judge(response_at, posts, now, config)`` is pure: it compares two equal windows of
``config.window_hours`` either side of the response time and returns a verdict with every figure
behind it. The rules, in the order they are applied (docs/ledger.md, "Response effect"):

1. No posts at all (or none with a date) → ``无数据``.
2. The after-window has not elapsed (``now < response_at + window``) → ``尚早`` (figures so far).
3. ``升温`` when the after-window has at least ``min_posts`` posts **and** either
   ``after >= rise_ratio × before`` or the negative share rose by at least ``negative_rise``.
4. ``平息`` when ``after <= calm_ratio × before`` and the negative share did not rise
   (an after-window with no posts at all is always 平息).
5. Otherwise ``持续``.

Windows: before = ``[response_at − window, response_at)``, after = ``[response_at, response_at + window)``.
Posts without a date are counted (``undated``) and left out of the windows; a response earlier than
the event's first post is judged the same way (its before-window is empty) and noted.

The effect of a case (``case_effect``) reads the event's posts from the store; the response time is
the earliest of the case's 实际回复时间 and its commitments' 公开时间.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Verdict = Literal["平息", "持续", "升温", "尚早", "无数据"]
VERDICT_CODES: dict[str, str] = {"平息": "calmed", "持续": "ongoing", "升温": "rising", "尚早": "too-early", "无数据": "no-data"}

DEFAULT_REPLY_WORDS: tuple[str, ...] = ("回复", "答复", "回应", "已处理", "已解决", "处理结果", "官方通报", "情况说明", "已整改")


class EffectConfig(BaseModel):
    """Thresholds of the verdict (the ``ledger.effect:`` section of yuqing.yaml)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    window_hours: float = Field(72.0, gt=0, le=24 * 90, description="length of each of the two equal windows around the response")
    min_posts: int = Field(3, ge=1, description="升温 needs at least this many posts after the response")
    rise_ratio: float = Field(1.5, gt=1, description="升温 when posts after >= this times the posts before")
    calm_ratio: float = Field(0.5, ge=0, lt=1, description="平息 when posts after <= this times the posts before")
    negative_rise: float = Field(0.2, gt=0, le=1, description="升温 when the negative share rose by at least this much")
    reply_words: list[str] = Field(
        default_factory=lambda: list(DEFAULT_REPLY_WORDS), description="a post after the response containing one of these mentions it"
    )
    quote_chars: int = Field(12, ge=4, le=200, description="...as does a post quoting this many consecutive characters of the reply")
    max_posts: int = Field(2000, ge=10, le=100000, description="posts of one event read from the store at most")


@dataclass(frozen=True)
class EffectPost:
    """What the verdict needs of a post."""

    id: str
    published_at: datetime | None
    negative: bool = False
    source: str = ""
    region: str | None = None
    text: str = ""


@dataclass(frozen=True)
class WindowFigures:
    posts: int
    negative: int

    @property
    def negative_share(self) -> float:
        return self.negative / self.posts if self.posts else 0.0


@dataclass(frozen=True)
class Effect:
    verdict: Verdict
    reason: str  # the rule that decided, in Chinese, with its numbers
    response_at: datetime | None
    window: timedelta
    before: WindowFigures = WindowFigures(0, 0)
    after: WindowFigures = WindowFigures(0, 0)
    total: int = 0  # every post given, dated or not
    undated: int = 0
    later: int = 0  # posts after the after-window (not judged)
    mentions: list[str] = field(default_factory=list)  # ids of after-window posts that mention or quote the reply
    new_sources: list[str] = field(default_factory=list)
    new_towns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def code(self) -> str:
        return VERDICT_CODES[self.verdict]

    @property
    def settled(self) -> bool:
        """A verdict on complete windows (平息 / 持续 / 升温)."""
        return self.verdict in ("平息", "持续", "升温")

    def figures_text(self) -> str:
        b, a = self.before, self.after
        hours = f"{self.window.total_seconds() / 3600:g}"
        return (
            f"回应前 {hours} 小时 {b.posts} 条（负面 {b.negative} 条，{b.negative_share:.0%}），"
            f"回应后 {hours} 小时 {a.posts} 条（负面 {a.negative} 条，{a.negative_share:.0%}）；"
            f"提及回应 {len(self.mentions)} 条；新来源 {len(self.new_sources)} 个，新乡镇 {len(self.new_towns)} 个"
        )


def town_of(region: str | None) -> str | None:
    """``彭泽县/龙城镇/…`` → ``彭泽县/龙城镇``; a county-level path stays as it is."""
    if not region:
        return None
    parts = [p for p in region.split("/") if p]
    return "/".join(parts[:2]) if parts else None


def _fragments(reply: str, n: int) -> set[str]:
    text = re.sub(r"\s+", "", reply)
    return {text[i : i + n] for i in range(len(text) - n + 1)} if len(text) >= n else set()


def mentions_reply(text: str, words: Iterable[str], fragments: set[str], n: int) -> bool:
    if any(w and w in text for w in words):
        return True
    if not fragments:
        return False
    flat = re.sub(r"\s+", "", text)
    return any(flat[i : i + n] in fragments for i in range(len(flat) - n + 1))


def judge(
    response_at: datetime,
    posts: Sequence[EffectPost],
    now: datetime,
    config: EffectConfig | None = None,
    reply_text: str = "",
) -> Effect:
    """The verdict for an event answered at ``response_at``, judged at ``now`` (rules: module doc)."""
    cfg = config or EffectConfig()
    if response_at.tzinfo is None or now.tzinfo is None:
        raise ValueError("response_at and now must be timezone-aware")
    window = timedelta(hours=cfg.window_hours)
    dated = sorted(((p.published_at, p) for p in posts if p.published_at is not None), key=lambda tp: (tp[0], tp[1].id))
    undated = len(posts) - len(dated)
    notes: list[str] = []
    if undated:
        notes.append(f"{undated} 条帖子无发布时间，未计入")
    if not dated:
        why = "事件暂无帖子" if not posts else "事件的帖子均无发布时间"
        return Effect("无数据", why, response_at, window, total=len(posts), undated=undated, notes=notes)
    if response_at < dated[0][0]:
        notes.append("回应时间早于事件首条帖子，回应前窗口为空")
    start, end = response_at - window, response_at + window
    before = [p for t, p in dated if start <= t < response_at]
    after = [p for t, p in dated if response_at <= t < end]
    later = sum(1 for t, _ in dated if t >= end)
    earlier = [p for t, p in dated if t < response_at]
    seen_sources = {p.source for p in earlier if p.source}
    seen_towns = {t for p in earlier if (t := town_of(p.region))}
    new_sources = sorted({p.source for p in after if p.source and p.source not in seen_sources})
    new_towns = sorted({t for p in after if (t := town_of(p.region)) and t not in seen_towns})
    fragments = _fragments(reply_text, cfg.quote_chars)
    mentions = [p.id for p in after if mentions_reply(p.text, cfg.reply_words, fragments, cfg.quote_chars)]
    b = WindowFigures(len(before), sum(1 for p in before if p.negative))
    a = WindowFigures(len(after), sum(1 for p in after if p.negative))
    common: dict[str, Any] = dict(
        before=b, after=a, total=len(posts), undated=undated, later=later, mentions=mentions, new_sources=new_sources, new_towns=new_towns
    )
    if now < end:
        return Effect(
            "尚早",
            f"回应后观察期（{cfg.window_hours:g} 小时）未满，至 {end:%Y-%m-%d %H:%M} 可判断",
            response_at,
            window,
            notes=notes,
            **common,
        )
    share_up = a.negative_share - b.negative_share
    if a.posts >= cfg.min_posts and (a.posts >= cfg.rise_ratio * b.posts or share_up >= cfg.negative_rise):
        if a.posts >= cfg.rise_ratio * b.posts:
            why = f"回应后帖子 {a.posts} 条，达到回应前 {b.posts} 条的 {cfg.rise_ratio:g} 倍（且不少于 {cfg.min_posts} 条）"
        else:
            why = f"回应后负面占比 {a.negative_share:.0%}，比回应前 {b.negative_share:.0%} 上升 {share_up:.0%}（阈值 {cfg.negative_rise:.0%}）"
        return Effect("升温", why, response_at, window, notes=notes, **common)
    if a.posts == 0 or (a.posts <= cfg.calm_ratio * b.posts and share_up <= 0):
        why = (
            "回应后无新帖" if a.posts == 0 else f"回应后帖子 {a.posts} 条，不超过回应前 {b.posts} 条的 {cfg.calm_ratio:.0%}，负面占比未上升"
        )
        return Effect("平息", why, response_at, window, notes=notes, **common)
    return Effect("持续", f"回应后帖子 {a.posts} 条，回应前 {b.posts} 条，未达平息或升温的条件", response_at, window, notes=notes, **common)


# -- a case's effect, from the store ----------------------------------------------------------------
def response_time(case: Any) -> datetime | None:
    """The earliest of the case's 实际回复时间 and its commitments' 公开时间; None when neither."""
    times = [t for t in [case.responded_at, *(m.disclosed_at for m in case.commitments)] if t is not None]
    return min(times) if times else None


def post_of(p: Any) -> EffectPost:
    """An ``EffectPost`` from a ``PostClassified`` (or anything with the same fields)."""
    return EffectPost(
        id=p.id,
        published_at=getattr(p, "published_at", None),
        negative=getattr(p, "sentiment", None) == "negative",
        source=p.source.id if getattr(p, "source", None) is not None else "",
        region=getattr(p, "region", None),
        text=f"{p.title or ''}\n{p.content or ''}",
    )


def event_posts(store: Any, event_id: str, limit: int) -> list[EffectPost]:
    """Up to ``limit`` posts of an event from the store (either backend), newest first."""
    from yuqing.store import Query

    out: list[EffectPost] = []
    page = 500
    while len(out) < limit:
        hits = store.search(Query(event_id=event_id, limit=min(page, limit - len(out)), offset=len(out))).hits
        out += [post_of(p) for p in hits]
        if len(hits) < page:
            break
    return out


def case_effect(case: Any, store: Any, now: datetime, config: EffectConfig | None = None) -> Effect | None:
    """The effect of a case's response on its event; None when the case has no event or no
    response yet (nothing to judge), or no store is configured."""
    cfg = config or EffectConfig()
    at = response_time(case)
    if store is None or not case.event_id or at is None:
        return None
    return judge(at, event_posts(store, case.event_id, cfg.max_posts), now, cfg, reply_text=case.response or "")

"""The rule interface, the fields every rule has, and the sliding window they count in.

Windows are measured on the posts' ``published_at`` (so a dry run over the store and the live
engine agree), and de-duplicate by post id (so a batch the bus delivers twice counts once).
"""

from __future__ import annotations

import bisect
import builtins
from abc import ABC, abstractmethod
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from alerts.match import MatchConfig
from alerts.model import Clear, GroupKey, Hit, PostRef
from yuqing.duration import Duration
from yuqing.events import PostClassified, RiskLevel

GroupField = Literal["event_id", "topic", "region", "source", "sentiment", "risk_level"]


class RuleConfig(BaseModel):
    """Fields every rule type has. Rule types add their own (``type`` picks the class)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, description="unique; shown in notifications")
    type: str
    description: str = ""
    enabled: bool = True
    match: MatchConfig = MatchConfig()
    group_by: list[GroupField] | None = Field(default=None, description="one alert per distinct value of these; default per type")
    group_wait: Duration | None = Field(default=None, description="collect for this long before the first notification")
    repeat_interval: Duration | None = Field(default=None, description="notify again at most this often while new posts arrive")
    severity: RiskLevel | None = Field(default=None, description="fixed severity; default: the highest risk level among the posts")
    unit: str | None = Field(default=None, description="responsible unit (责任单位), used by routes")

    @field_validator("group_by")
    @classmethod
    def _distinct(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and len(set(v)) != len(v):
            raise ValueError("group_by lists a key twice")
        return v


class Window:
    """Posts of one group, ordered by time, unique by id."""

    __slots__ = ("ids", "posts", "times")

    def __init__(self, posts: Iterable[PostRef] = ()) -> None:
        self.posts: list[PostRef] = []
        self.times: list[float] = []
        self.ids: set[str] = set()
        for p in posts:
            self.add(p)

    def add(self, post: PostRef) -> bool:
        if post.id in self.ids:
            return False
        i = bisect.bisect_right(self.times, post.ts)
        self.times.insert(i, post.ts)
        self.posts.insert(i, post)
        self.ids.add(post.id)
        return True

    def between(self, since: float, until: float) -> list[PostRef]:
        """Posts with since < ts <= until."""
        lo = bisect.bisect_right(self.times, since)
        hi = bisect.bisect_right(self.times, until)
        return self.posts[lo:hi]

    def count(self, since: float, until: float) -> int:
        return bisect.bisect_right(self.times, until) - bisect.bisect_right(self.times, since)

    def prune(self, before: float) -> bool:
        """Forget posts at or before ``before``; True when something was dropped."""
        i = bisect.bisect_right(self.times, before)
        if not i:
            return False
        for p in self.posts[:i]:
            self.ids.discard(p.id)
        del self.posts[:i], self.times[:i]
        return True

    @property
    def latest(self) -> float | None:
        return self.times[-1] if self.times else None

    def __len__(self) -> int:
        return len(self.posts)

    def to_json(self) -> list[dict[str, Any]]:
        return [p.to_json() for p in self.posts]

    @classmethod
    def from_json(cls, data: list[dict[str, Any]]) -> Window:
        return cls(PostRef.from_json(d) for d in data)


class Rule(ABC):
    """One configured rule. Subclasses set ``type``, ``Config`` and implement ``observe``."""

    type: ClassVar[str]
    Config: ClassVar[builtins.type[RuleConfig]]
    default_group_by: ClassVar[tuple[str, ...]] = ("event_id",)
    clears_itself: ClassVar[bool] = False  # True: resolved by Clear, not by inactivity

    def __init__(self, config: RuleConfig) -> None:
        self.config = config
        self.name = config.name
        self.group_by: tuple[str, ...] = tuple(config.group_by) if config.group_by else self.default_group_by
        self.windows: dict[str, Window] = {}
        self.meta: dict[str, dict[str, Any]] = {}  # per-group state besides the window
        self._dirty: set[str] = set()

    # -- evaluation -------------------------------------------------------------------------
    @property
    def horizon(self) -> timedelta:
        """How far back a window must remember posts."""
        return timedelta(days=1)

    def matches(self, post: PostClassified) -> bool:
        return self.config.match.matches(post)

    @abstractmethod
    def observe(self, post: PostClassified, ref: PostRef) -> list[Hit | Clear]:
        """A post arrived that ``matches``; return the hits it causes."""

    def tick(self, now: datetime) -> list[Hit | Clear]:
        """Time passed; rules that look at silence override this."""
        return []

    # -- grouping ---------------------------------------------------------------------------
    def group_of(self, ref: PostRef) -> GroupKey:
        return tuple((k, ref.label(k) or "") for k in self.group_by)

    @staticmethod
    def key_str(group: GroupKey) -> str:
        return "|".join(f"{k}={v}" for k, v in group) or "*"

    @staticmethod
    def key_parse(key: str) -> GroupKey:
        if key == "*":
            return ()
        return tuple((p.split("=", 1)[0], p.split("=", 1)[1]) for p in key.split("|"))

    def window(self, group: GroupKey) -> Window:
        key = self.key_str(group)
        w = self.windows.get(key)
        if w is None:
            w = self.windows[key] = Window()
        return w

    def add(self, group: GroupKey, ref: PostRef) -> bool:
        """Add to the group's window (pruning what is past the horizon); False for a duplicate."""
        key = self.key_str(group)
        w = self.window(group)
        if not w.add(ref):
            return False
        latest = w.latest or ref.ts
        w.prune(latest - self.horizon.total_seconds())
        self._dirty.add(key)
        return True

    def hit(self, group: GroupKey, posts: Iterable[PostRef], metric: str, count: int, reasons: Iterable[str] = ()) -> Hit:
        return Hit(self.name, group, tuple(posts), metric, count, tuple(reasons))

    # -- persistence ------------------------------------------------------------------------
    def expire(self, now: datetime) -> None:
        """Drop groups whose newest post is past the horizon (keeps state bounded)."""
        cutoff = now.timestamp() - self.horizon.total_seconds()
        for key, w in list(self.windows.items()):
            if w.latest is None or w.latest < cutoff:
                if key in self.meta and not self._keep_meta(key):
                    del self.meta[key]
                elif key in self.meta:
                    continue
                del self.windows[key]
                self._dirty.add(key)

    def _keep_meta(self, key: str) -> bool:
        return False

    def dump(self) -> dict[str, dict[str, Any] | None]:
        """Changed groups since the last dump: key -> state (None: delete)."""
        out: dict[str, dict[str, Any] | None] = {}
        for key in self._dirty:
            w = self.windows.get(key)
            meta = self.meta.get(key)
            out[key] = None if w is None and meta is None else {"posts": w.to_json() if w else [], "meta": meta or {}}
        self._dirty.clear()
        return out

    def load(self, states: dict[str, dict[str, Any]]) -> None:
        for key, st in states.items():
            self.windows[key] = Window.from_json(st.get("posts", []))
            if st.get("meta"):
                self.meta[key] = st["meta"]

    def touch(self, key: str) -> None:
        self._dirty.add(key)

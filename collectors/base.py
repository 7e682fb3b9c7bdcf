"""What every collector is: given its config and saved state, fetch new posts.

A collector does the source's I/O and parsing and nothing else: it never publishes and never
keeps state itself. ``collectors.service`` de-duplicates, publishes (or spools) and saves state,
so a crash between fetch and publish loses nothing (state is saved only together with the
publish or the spool).

Failure policy, the same for every kind:
- the whole source is unusable (unreachable, HTML where JSON was expected, not a feed):
  raise ``SourceError`` naming the reason; the service records it in the source's health;
- one item is unusable (no text, bad date, too long): ``self.problem(result, reason)`` logs one
  warning line naming the source and the reason, and the collector carries on.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from collectors.config import KindConfig
from yuqing.events import PostCollected, Source
from yuqing.timeutil import parse_datetime

log = logging.getLogger("yuqing.collectors")


@dataclass
class FetchResult:
    posts: list[PostCollected] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    # Items that were skipped or repaired, one human-readable reason each (also logged).
    problems: list[str] = field(default_factory=list)


class Collector(ABC):
    kind: ClassVar[str]
    Config: ClassVar[type[KindConfig]]
    # Whether the same text under two ids is one post (feeds, boards) or two filings (12345, 留言板).
    dedup_text: bool = True

    def __init__(self, config: KindConfig) -> None:
        self.config = config
        self.source = Source(id=config.id, kind=self.kind, name=config.display_name)

    @abstractmethod
    def fetch(self, state: dict[str, Any]) -> FetchResult:
        """Fetch what is new since ``state``; return the posts and the state to save."""

    def close(self) -> None:  # noqa: B027 - optional hook, most collectors hold nothing open
        """Release what the collector holds open (HTTP clients)."""

    def problem(self, result: FetchResult, reason: str) -> None:
        result.problems.append(reason)
        log.warning("source %s: %s", self.config.id, reason)

    def when(self, result: FetchResult, value: object, ref: datetime, item: str) -> datetime:
        """A post's publication time from ``value``; unparsable or future dates are logged and
        replaced by ``ref`` (the collection time). A missing date is not a problem: many feeds
        have none, and the caller counts them instead."""
        if value is None or value == "":
            return ref
        dt = parse_datetime(value, ref)
        if dt is None:
            self.problem(result, f"{item}: unparsable date {str(value)[:60]!r}, using the collection time")
            return ref
        if (dt - ref).total_seconds() > 3600:
            self.problem(result, f"{item}: date {dt:%Y-%m-%d %H:%M} is in the future, using the collection time")
            return ref
        return dt

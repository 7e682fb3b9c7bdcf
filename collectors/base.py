"""What every collector is: given its config and saved state, fetch new posts.

A collector does the source's I/O and parsing and nothing else: it never publishes and never
keeps state itself. ``collectors.service`` de-duplicates, publishes and saves state, so a crash
between fetch and publish loses nothing (the state is only saved after the bus acknowledged).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from collectors.config import KindConfig
from yuqing.events import PostCollected, Source

log = logging.getLogger("yuqing.collectors")


@dataclass
class FetchResult:
    posts: list[PostCollected] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    # Items that were skipped, one human-readable reason each (also logged).
    problems: list[str] = field(default_factory=list)


class Collector(ABC):
    kind: ClassVar[str]
    Config: ClassVar[type[KindConfig]]

    def __init__(self, config: KindConfig) -> None:
        self.config = config
        self.source = Source(id=config.id, kind=self.kind, name=config.display_name)

    @abstractmethod
    def fetch(self, state: dict[str, Any]) -> FetchResult:
        """Fetch what is new since ``state``; return the posts and the state to save."""

    def problem(self, result: FetchResult, reason: str) -> None:
        result.problems.append(reason)
        log.warning("source %s: %s", self.config.id, reason)

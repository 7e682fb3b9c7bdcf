"""Source kinds by short name; a dotted path ``package.module:Class`` also works for plugins."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collectors.base import Collector

KINDS: dict[str, str] = {
    "rss": "collectors.rss:RssCollector",
    "liuyan": "collectors.liuyan:LiuyanCollector",
    "board": "collectors.board:BoardCollector",
    "hotline": "collectors.hotline:HotlineCollector",
    "replay": "collectors.replay:ReplayCollector",
}


def collector_class(kind: str) -> type[Collector]:
    target = KINDS.get(kind, kind if ":" in kind else None)
    if target is None:
        raise KeyError(f"unknown source kind {kind!r}; known kinds: {', '.join(sorted(KINDS))}")
    module, _, name = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise KeyError(f"cannot load source kind {kind!r} from {target}: {exc}") from exc
    return cls  # type: ignore[no-any-return]


def make_collector(config: object) -> Collector:
    from collectors.config import SourceConfig, typed

    if not isinstance(config, SourceConfig):
        raise TypeError(f"expected a SourceConfig, got {type(config).__name__}")
    cls = collector_class(config.kind)
    return cls(typed(config))

"""Replay a JSONL file of real posts, re-timed to now: for demos and load tests.

Each line is an object with at least ``id`` and ``title`` or ``content`` (the format of
``../shared/data/wenzheng_posts.jsonl``). Posts are published in file order, ``batch`` per
fetch; their ``published_at`` is spread evenly over the last ``spread_hours`` hours so the
pipeline sees them as fresh. The original time is kept in ``raw.original_published``.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from collectors.base import Collector, FetchResult
from collectors.config import KindConfig
from yuqing.events import PostCollected, Reply
from yuqing.ids import post_id
from yuqing.timeutil import now, parse_datetime


class ReplayConfig(KindConfig):
    kind: str = "replay"
    path: str
    batch: int = 1000
    spread_hours: float = 24.0
    retime: bool = True


class ReplayCollector(Collector):
    kind = "replay"
    Config = ReplayConfig

    def fetch(self, state: dict[str, Any]) -> FetchResult:
        cfg: ReplayConfig = self.config  # type: ignore[assignment]
        path = Path(cfg.path)
        start = int(state.get("line", 0))
        result = FetchResult(state={"line": start})
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            self.problem(result, f"cannot read {path}: {exc.strerror}")
            return result
        total = len(lines)
        ref = now()
        step = timedelta(hours=cfg.spread_hours) / max(total, 1)
        end = min(total, start + cfg.batch)
        for lineno in range(start, end):
            line = lines[lineno].strip()
            if not line:
                continue
            try:
                item = json.loads(line)
                if not isinstance(item, dict):
                    raise ValueError("not an object")
            except ValueError as exc:
                self.problem(result, f"{path}:{lineno + 1}: malformed JSON ({exc})")
                continue
            post = self._post(item, ref - step * (total - lineno), cfg.retime)
            if post is None:
                self.problem(result, f"{path}:{lineno + 1}: no id, title or content")
                continue
            result.posts.append(post)
        result.state = {"line": end}
        return result

    def _post(self, item: dict[str, Any], retimed: Any, retime: bool) -> PostCollected | None:
        title, content = str(item.get("title") or ""), str(item.get("content") or "")
        if not (title or content):
            return None
        native = item.get("id")
        original = parse_datetime(item.get("published") or item.get("published_at"))
        published = retimed if retime or original is None else original
        reply = None
        if item.get("reply"):
            reply = Reply(content=str(item["reply"]), replied_at=parse_datetime(item.get("replied_at")))
        raw = {k: v for k, v in item.items() if k not in ("id", "title", "content", "reply", "published", "url", "author")}
        raw["original_published"] = original.isoformat() if original else item.get("published")
        return PostCollected(
            id=post_id(self.config.id, native_id=str(native) if native else None, url=item.get("url"), text=(title, content)),
            title=title,
            content=content,
            url=item.get("url"),
            author=item.get("author"),
            published_at=published,
            source=self.source,
            reply=reply,
            raw=raw,
        )

"""Replay a JSONL file of real posts, re-timed to now: for demos and load tests.

Each line is an object with at least ``id`` and ``title`` or ``content`` (the format of
``../shared/data/wenzheng_posts.jsonl``). Posts are published in file order, ``batch`` per
fetch; their ``published_at`` is spread evenly over the last ``spread_hours`` hours so the
pipeline sees them as fresh. The original time is kept in ``raw.original_published``.

Load tests: ``rate`` caps the posts per second (each fetch emits what the time since the last
fetch allows, at most ``batch``), and ``loop`` starts again at the top when the file is used up,
with ``#2``, ``#3`` ... appended to the ids so every round is new to de-duplication.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import Field

from collectors.base import Collector, FetchResult
from collectors.config import KindConfig
from yuqing.errors import SourceError
from yuqing.events import PostCollected, Reply
from yuqing.ids import post_id
from yuqing.timeutil import now, parse_datetime


class ReplayConfig(KindConfig):
    kind: str = "replay"
    path: str
    batch: int = Field(1000, ge=1, description="posts per fetch at most")
    spread_hours: float = Field(24.0, gt=0)
    retime: bool = True
    rate: float | None = Field(None, gt=0, description="posts per second at most (load tests); null = batch per fetch")
    loop: bool = Field(False, description="start again at the top when the file is used up (load tests)")


class ReplayCollector(Collector):
    kind = "replay"
    Config = ReplayConfig

    def __init__(self, config: ReplayConfig) -> None:
        super().__init__(config)
        self.dedup_text = not config.loop  # a looped round repeats every text on purpose
        self._cache: tuple[float, list[str]] | None = None

    def _lines(self) -> list[str]:
        cfg: ReplayConfig = self.config  # type: ignore[assignment]
        path = Path(cfg.path)
        try:
            mtime = path.stat().st_mtime
            if self._cache is None or self._cache[0] != mtime:
                self._cache = (mtime, path.read_text(encoding="utf-8").splitlines())
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceError(cfg.id, f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from exc
        return self._cache[1]

    def fetch(self, state: dict[str, Any]) -> FetchResult:
        cfg: ReplayConfig = self.config  # type: ignore[assignment]
        lines = self._lines()
        total = len(lines)
        start, rnd = int(state.get("line", 0)), int(state.get("round", 1))
        clock = time.time()
        count = cfg.batch
        if cfg.rate:
            last = float(state.get("at") or clock - 1.0)
            count = min(cfg.batch, int(cfg.rate * max(0.0, clock - last)))
            if count == 0:
                return FetchResult(state=dict(state))
        result = FetchResult(state={"line": start, "round": rnd})
        ref = now()
        step = timedelta(hours=cfg.spread_hours) / max(total, 1)
        lineno = start
        while count > 0 and total:
            if lineno >= total:
                if not cfg.loop:
                    break
                lineno, rnd = 0, rnd + 1
            line = lines[lineno].strip()
            lineno += 1
            if not line:
                continue
            count -= 1
            try:
                item = json.loads(line)
                if not isinstance(item, dict):
                    raise ValueError("not an object")
            except ValueError as exc:
                self.problem(result, f"{cfg.path}:{lineno}: malformed JSON ({exc})")
                continue
            post = self._post(item, ref - step * (total - lineno + 1), cfg.retime, rnd)
            if post is None:
                self.problem(result, f"{cfg.path}:{lineno}: no id, title or content")
                continue
            result.posts.append(post)
        result.state = {"line": lineno, "round": rnd}
        if cfg.rate:
            result.state["at"] = clock
        return result

    def _post(self, item: dict[str, Any], retimed: Any, retime: bool, rnd: int) -> PostCollected | None:
        title, content = str(item.get("title") or ""), str(item.get("content") or "")
        if not (title or content):
            return None
        native = item.get("id")
        if native and rnd > 1:
            native = f"{native}#{rnd}"
        original = parse_datetime(item.get("published") or item.get("published_at"))
        published = retimed if retime or original is None else original
        reply = None
        if item.get("reply"):
            reply = Reply(content=str(item["reply"]), replied_at=parse_datetime(item.get("replied_at")))
        raw = {k: v for k, v in item.items() if k not in ("id", "title", "content", "reply", "published", "url", "author")}
        raw["original_published"] = original.isoformat() if original else item.get("published")
        text = (title, content) if rnd == 1 else (title, content, str(rnd))
        return PostCollected(
            id=post_id(self.config.id, native_id=str(native) if native else None, url=item.get("url"), text=text),
            title=title,
            content=content,
            url=item.get("url"),
            author=item.get("author"),
            published_at=published,
            source=self.source,
            reply=reply,
            raw=raw,
        )

"""12345 hotline work orders from CSV exports, with a configurable column mapping.

Idempotent on the work-order number: it is the post's native id.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from pydantic import Field

from collectors.base import Collector, FetchResult
from collectors.config import KindConfig
from yuqing.events import PostCollected, Reply
from yuqing.ids import post_id
from yuqing.timeutil import clamp_future, now, parse_datetime

DEFAULT_COLUMNS = {
    "id": "工单编号",
    "title": "标题",
    "content": "诉求内容",
    "published": "受理时间",
    "category": "诉求类型",
    "reply": "办理结果",
    "replied_at": "办结时间",
    "unit": "承办单位",
}


class HotlineConfig(KindConfig):
    kind: str = "hotline"
    path: str
    columns: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_COLUMNS))
    encoding: str | None = None  # autodetect utf-8 / gb18030 when unset


def decode_bytes(data: bytes, encoding: str | None) -> str:
    if encoding:
        return data.decode(encoding)
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


class HotlineCollector(Collector):
    kind = "hotline"
    Config = HotlineConfig

    def fetch(self, state: dict[str, Any]) -> FetchResult:
        cfg: HotlineConfig = self.config  # type: ignore[assignment]
        result = FetchResult(state=dict(state))
        path = Path(cfg.path)
        files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
        done: dict[str, float] = dict(state.get("files", {}))
        cols = {**DEFAULT_COLUMNS, **cfg.columns}
        ref = now()
        for file in files:
            try:
                mtime = file.stat().st_mtime
                if done.get(str(file)) == mtime:
                    continue
                text = decode_bytes(file.read_bytes(), cfg.encoding)
            except OSError as exc:
                self.problem(result, f"cannot read {file}: {exc.strerror}")
                continue
            reader = csv.DictReader(io.StringIO(text))
            missing = [c for k, c in cols.items() if k in ("id", "content") and c not in (reader.fieldnames or [])]
            if missing:
                self.problem(result, f"{file}: missing column(s) {', '.join(missing)}")
                continue
            for lineno, row in enumerate(reader, start=2):
                order = (row.get(cols["id"]) or "").strip()
                content = (row.get(cols["content"]) or "").strip()
                if not order or not content:
                    self.problem(result, f"{file}:{lineno}: no work-order number or content")
                    continue
                published = parse_datetime(row.get(cols["published"]))
                if published is None:
                    self.problem(result, f"{file}:{lineno}: unparsable time {row.get(cols['published'])!r}, using now")
                reply = None
                if (row.get(cols["reply"]) or "").strip():
                    reply = Reply(content=row[cols["reply"]].strip(), organization=row.get(cols["unit"]) or None, replied_at=parse_datetime(row.get(cols["replied_at"])))
                result.posts.append(
                    PostCollected(
                        id=post_id(cfg.id, native_id=order),
                        title=(row.get(cols["title"]) or "").strip() or content[:30],
                        content=content,
                        published_at=clamp_future(published or ref, ref),
                        source=self.source,
                        reply=reply,
                        raw={"category": row.get(cols["category"]), "file": file.name, "line": lineno},
                    )
                )
            done[str(file)] = mtime
        result.state["files"] = done
        return result

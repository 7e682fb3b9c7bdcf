"""RSS and Atom feeds through feedparser (local files or http(s) URLs)."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser
import httpx

from collectors.base import Collector, FetchResult
from collectors.config import KindConfig
from yuqing.errors import SourceError
from yuqing.events import PostCollected
from yuqing.ids import post_id
from yuqing.timeutil import clamp_future, now, parse_datetime

_TAG = re.compile(r"<[^>]+>")


class RssConfig(KindConfig):
    kind: str = "rss"
    url: str
    timeout: float = 20.0
    user_agent: str = "yuqing/0.1 (+public opinion monitoring)"


def strip_html(text: str) -> str:
    return html.unescape(_TAG.sub("", text or "")).strip()


class RssCollector(Collector):
    kind = "rss"
    Config = RssConfig

    def _read(self, state: dict[str, Any]) -> tuple[bytes | None, dict[str, Any]]:
        cfg: RssConfig = self.config  # type: ignore[assignment]
        parts = urlsplit(cfg.url)
        if parts.scheme in ("", "file"):
            path = Path(parts.path if parts.scheme == "file" else cfg.url)
            try:
                return path.read_bytes(), {}
            except OSError as exc:
                raise SourceError(cfg.id, f"cannot read {path}: {exc.strerror}") from exc
        headers = {"User-Agent": cfg.user_agent}
        if state.get("etag"):
            headers["If-None-Match"] = state["etag"]
        if state.get("modified"):
            headers["If-Modified-Since"] = state["modified"]
        try:
            resp = httpx.get(cfg.url, headers=headers, timeout=cfg.timeout, follow_redirects=True)
        except httpx.HTTPError as exc:
            raise SourceError(cfg.id, f"GET {cfg.url} failed: {type(exc).__name__}: {exc}") from exc
        if resp.status_code == 304:
            return None, {}
        if resp.status_code >= 400:
            raise SourceError(cfg.id, f"GET {cfg.url} answered HTTP {resp.status_code}")
        cache = {k: v for k, v in (("etag", resp.headers.get("etag")), ("modified", resp.headers.get("last-modified"))) if v}
        return resp.content, cache

    def fetch(self, state: dict[str, Any]) -> FetchResult:
        body, cache = self._read(state)
        result = FetchResult(state={**state, **cache})
        if body is None:
            return result
        feed = feedparser.parse(body)
        if feed.bozo and not feed.entries:
            raise SourceError(self.config.id, f"not a feed: {feed.get('bozo_exception')}")
        if feed.bozo:
            self.problem(result, f"malformed feed salvaged: {feed.get('bozo_exception')}")
        ref = now()
        for entry in feed.entries:
            title = strip_html(entry.get("title", ""))
            content = strip_html((entry.get("content") or [{}])[0].get("value", "") or entry.get("summary", ""))
            link = entry.get("link")
            if not (title or content):
                self.problem(result, f"entry without title or content skipped ({link or entry.get('id')})")
                continue
            published = parse_datetime(entry.get("published") or entry.get("updated"))
            parsed = entry.get("published_parsed") or entry.get("updated_parsed")
            if published is None and parsed:
                from calendar import timegm

                published = parse_datetime(timegm(parsed))
            published = clamp_future(published or ref, ref)
            result.posts.append(
                PostCollected(
                    id=post_id(self.config.id, native_id=entry.get("id") or None, url=link, text=(title, content)),
                    title=title,
                    content=content,
                    url=link,
                    author=entry.get("author"),
                    published_at=published,
                    source=self.source,
                    raw={"feed_title": feed.feed.get("title")},
                )
            )
        return result

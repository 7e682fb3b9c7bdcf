"""RSS and Atom feeds through feedparser (http(s) URLs, ``file://`` URLs or local paths).

- Conditional GET: the ETag and Last-Modified of the last answer are kept in the source's state
  and sent back; a 304 costs nothing.
- Charset: the bytes are decoded by ``collectors.charset`` (wrong or missing declarations are
  common on government sites) and handed to feedparser as UTF-8 with a matching declaration.
- Malformed XML: feedparser's salvaged entries are used ("bozo" feeds) and the reason logged.
  A malformed feed that does not end with its root's end tag may be cut short, and is in doubt:
  its items whose id would come from their text (no GUID, no link) are not published, since the
  text may be incomplete and the complete item would later get another id. When a malformed
  document stops inside an item (no end tag after its start), that item waits for the next fetch.
- Ids: GUID (a URL-like GUID is a URL), else the link, else the text (``yuqing.ids.post_id``).
  GUIDs shared by several different items in one feed are not trusted for those items.
- Text: titles, summaries and contents are converted from HTML only when feedparser says they
  are HTML (``title_detail.type`` etc.); ``text/plain`` values are kept as they are.
- Items already seen in the previous fetch are skipped before any article page is fetched.
- ``fetch_article``: when an item's text is shorter than ``article_min_chars``, its link is
  fetched and the page's main text used (``collectors.extract.main_text``).
"""

from __future__ import annotations

import calendar
import re
from collections import Counter
from typing import Any
from urllib.parse import urljoin

import feedparser
import httpx
from pydantic import Field, field_validator

from collectors import charset
from collectors.base import Collector, FetchResult
from collectors.config import HttpConfig
from collectors.extract import html_to_text, main_text, plain_text
from collectors.http import fetch, is_local, new_client
from yuqing.errors import SourceError
from yuqing.events import PostCollected
from yuqing.ids import post_id
from yuqing.timeutil import TZ, now, parse_datetime

# Bozo reasons that say nothing about the feed's content: we decoded it ourselves.
_HARMLESS = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
_ROOT_END = re.compile(r"</(?:[\w.-]+:)?(?:rss|feed|rdf|channel)\s*>\s*(?:<!--.*?-->\s*)*$", re.I | re.S)
_ITEM_START = re.compile(r"<(?:[\w.-]+:)?(?:item|entry)[\s/>]", re.I)
_ITEM_END = re.compile(r"</(?:[\w.-]+:)?(?:item|entry)\s*>", re.I)
_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")


class RssConfig(HttpConfig):
    kind: str = "rss"
    url: str
    fetch_article: bool = Field(False, description="fetch the linked page when an item carries only a short summary")
    article_min_chars: int = Field(200, ge=0, description="items with less text than this get their article page fetched")
    article_selector: str | None = Field(None, description="CSS selector of the article text; null = detect")
    max_articles: int = Field(20, ge=0, description="article pages fetched per run at most")

    @field_validator("article_selector")
    @classmethod
    def _selector(cls, v: str | None) -> str | None:
        if v:
            from collectors.board import check_css

            check_css(v)
        return v


def _cut_short(text: str) -> bool:
    """Whether a malformed document looks incomplete: it does not end with the end tag of a
    feed's root (``</rss>``, ``</feed>``, ``</rdf:RDF>``) or channel."""
    return not _ROOT_END.search(text[-400:])


def _last_item_open(text: str) -> bool:
    """Whether the document stops inside its last item (no closing tag after its start)."""
    starts = list(_ITEM_START.finditer(text))
    return bool(starts) and not _ITEM_END.search(text, starts[-1].end())


def as_text(value: str | None, detail: Any) -> str:
    """A feed value as plain text: converted from HTML only when feedparser says it is HTML."""
    kind = (detail.get("type") if isinstance(detail, dict) else None) or "text/html"
    return html_to_text(value) if kind.lower() in _HTML_TYPES else plain_text(value)


def _entry_text(entry: Any) -> str:
    values = [c for c in entry.get("content") or [] if isinstance(c, dict)]
    best = max(values, key=lambda c: len(c.get("value") or ""), default={})
    summary = entry.get("summary", "") or ""
    if len(best.get("value") or "") >= len(summary):
        return as_text(best.get("value"), best)
    return as_text(summary, entry.get("summary_detail"))


class RssCollector(Collector):
    kind = "rss"
    Config = RssConfig

    def fetch(self, state: dict[str, Any]) -> FetchResult:
        cfg: RssConfig = self.config  # type: ignore[assignment]
        opts = cfg.http_options()
        resp = fetch(cfg.id, cfg.url, opts, validators=state)
        result = FetchResult(state=dict(state))
        if resp.not_modified:
            return result
        result.state.update(resp.validators)
        decoded = charset.decode(resp.content, content_type=resp.content_type, encoding=cfg.encoding)
        if decoded.problem:
            self.problem(result, decoded.problem)
        feed = feedparser.parse(charset.as_utf8_xml(decoded))
        exc = feed.get("bozo_exception")
        real_bozo = feed.bozo and not isinstance(exc, _HARMLESS)
        if not feed.entries:
            if real_bozo and feed.get("version"):
                if _cut_short(decoded.text):
                    raise SourceError(cfg.id, f"{resp.url}: malformed {feed.version} feed cut short before any item ({exc})")
                self.problem(result, f"malformed feed: {exc}")
            elif real_bozo or not (feed.get("version") or feed.feed.get("title")):
                head = " ".join(decoded.text[:80].split())
                raise SourceError(cfg.id, f"{resp.url}: not an RSS/Atom feed ({exc or 'no feed elements'}); it starts with {head!r}")
            self.problem(result, "the feed has no items")
            result.state["recent"] = []
            return result
        if real_bozo:
            self.problem(result, f"malformed feed, {len(feed.entries)} item(s) salvaged: {exc}")
        in_doubt = real_bozo and _cut_short(decoded.text)
        entries = list(feed.entries)
        if real_bozo and _last_item_open(decoded.text):
            last = entries.pop()
            what = (last.get("id") or last.get("link") or last.get("title") or "")[:80]
            self.problem(result, f"the feed stops inside its last item {what!r}: that item waits for a complete fetch")
        ref = now()
        base = resp.url if not is_local(cfg.url) else None
        guids = Counter(e.get("id") for e in entries if e.get("id"))
        shared = {g for g, n in guids.items() if n > 1}
        if shared:
            example = next(iter(shared))
            self.problem(result, f"{len(shared)} GUID(s) used by several items (e.g. {example[:80]!r}): ids taken from links or text")
        recent = set(state.get("recent", []))
        seen_now: list[str] = []
        undated = articles = 0
        with new_client(cfg.timeout) as client:
            for entry in entries:
                title = as_text(entry.get("title", ""), entry.get("title_detail"))
                content = _entry_text(entry)
                link = entry.get("link") or None
                if link and base:
                    link = urljoin(base, link)
                guid = entry.get("id") or None
                label = f"item {(guid or link or title)[:80]!r}"
                if not (title or content):
                    self.problem(result, f"{label} has neither title nor text: skipped")
                    continue
                native = None if guid in shared else guid
                if in_doubt and not (native or link):
                    self.problem(
                        result, f"{label} has no GUID or link and the feed is in doubt: not published (its text may be incomplete)"
                    )
                    continue
                pid = post_id(cfg.id, native_id=native, url=link, text=(title, content))
                seen_now.append(pid)
                if pid in recent:
                    continue
                # dict.get: FeedParserDict maps updated <-> published with a DeprecationWarning.
                raw_date = dict.get(entry, "published") or dict.get(entry, "updated") or dict.get(entry, "created")
                parsed = dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")
                if raw_date is None and parsed is None:
                    undated += 1
                    published = ref
                elif parse_datetime(raw_date, ref) is None and parsed:
                    published = self.when(result, parse_datetime(calendar.timegm(parsed)), ref, label)
                else:
                    published = self.when(result, raw_date, ref, label)
                raw: dict[str, Any] = {"feed_title": feed.feed.get("title")}
                if guid:
                    raw["guid"] = guid
                tags = [t.get("term") for t in entry.get("tags") or [] if t.get("term")]
                if tags:
                    raw["tags"] = tags
                if cfg.fetch_article and link and len(content) < cfg.article_min_chars and articles < cfg.max_articles:
                    articles += 1
                    text = self._article(result, client, link)
                    if len(text) > len(content):
                        content = text
                        raw["article"] = True
                result.posts.append(
                    PostCollected(
                        id=pid,
                        title=title,
                        content=content,
                        url=link,
                        author=entry.get("author") or None,
                        published_at=published.astimezone(TZ),
                        source=self.source,
                        raw=raw,
                    )
                )
        if undated:
            self.problem(result, f"{undated} item(s) without a date: using the collection time")
        result.state["recent"] = seen_now[-2000:]
        return result

    def _article(self, result: FetchResult, client: httpx.Client, link: str) -> str:
        cfg: RssConfig = self.config  # type: ignore[assignment]
        opts = cfg.http_options()
        try:
            page = fetch(cfg.id, link, opts, client=client)
        except SourceError as exc:
            self.problem(result, f"article page not fetched, keeping the summary: {exc.reason}")
            return ""
        decoded = charset.decode(page.content, content_type=page.content_type, encoding=cfg.encoding)
        text = main_text(decoded.text, cfg.article_selector)
        if not text:
            self.problem(result, f"article page {link} has no recognisable main text, keeping the summary")
        return text

"""Configurable adapter for message boards without a documented API (问政江西, 问政九江 ...).

Everything site-specific is configuration, validated at load:

- ``url``: a template with ``{page}`` and/or ``{offset}`` (``(page - first_page) * page_size``);
  ``method: POST`` with a ``body`` template for boards that page by form or JSON posts;
- ``format: json``: ``items`` is the dotted path of the list in the answer (``data.list``; empty
  for a top-level list) and each ``fields`` value a dotted path inside one item
  (``user.name``, ``replies.0.content``);
- ``format: html``: ``items`` is a CSS selector matching one element per post and each
  ``fields`` value a CSS selector inside it, with ``::attr(NAME)`` for an attribute, ``::text``
  (the default) for its text, and ``.`` for the item element itself;
- ``fields`` keys: ``id``, ``title``, ``content``, ``url``, ``author``, ``published``,
  ``reply``, ``replied_at``, ``organization``, or ``raw.NAME`` to keep an extra value;
  ``id`` or ``url`` is required, and ``title`` or ``content``;
- ``link``: a template for the post URL from other fields (``https://site/detail?id={id}``);
- ``detail``: for an HTML board, fetch each new post's page and take its text from this CSS
  selector (``auto`` = detect the main text), for lists that show only a summary.

Paging stops at an empty page, at a page with no post not already seen (the last 2,000 ids are
kept in the source's state), or after ``max_pages``.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal
from urllib.parse import urljoin

import httpx
from pydantic import Field, field_validator, model_validator

from collectors import charset
from collectors.base import Collector, FetchResult
from collectors.config import HttpConfig, SettingError
from collectors.extract import element_text, html_to_text, main_text, parse, plain_text
from collectors.http import fetch, new_client
from yuqing.errors import SourceError
from yuqing.events import PostCollected, Reply
from yuqing.ids import post_id
from yuqing.timeutil import TZ, now, parse_datetime

FIELDS = ("id", "title", "content", "url", "author", "published", "reply", "replied_at", "organization")
_ATTR = re.compile(r"^(?P<sel>.*?)(?:::attr\((?P<attr>[\w:-]+)\)|::text)?$", re.S)
_TOKEN = re.compile(r"\{(\w+)\}")


def check_css(selector: str) -> None:
    """Raise ValueError naming the problem when ``selector`` is not valid CSS."""
    from cssselect import SelectorError
    from lxml.cssselect import CSSSelector

    try:
        CSSSelector(selector)
    except SelectorError as exc:
        raise ValueError(f"invalid CSS selector {selector!r}: {exc}") from exc


def split_selector(spec: str) -> tuple[str, str | None]:
    """``"a.title::attr(href)"`` -> ``("a.title", "href")``; ``"p"`` -> ``("p", None)``."""
    m = _ATTR.match(spec.strip())
    assert m is not None  # the pattern matches any string
    return m["sel"].strip(), m["attr"]


def dotted(obj: Any, path: str) -> Any:
    """``dotted({"a": [{"b": 1}]}, "a.0.b") == 1``; None when any step is missing."""
    if not path:
        return obj
    for step in path.split("."):
        if isinstance(obj, dict):
            obj = obj.get(step)
        elif isinstance(obj, list) and step.lstrip("-").isdigit() and -len(obj) <= int(step) < len(obj):
            obj = obj[int(step)]
        else:
            return None
    return obj


def fill(template: str, values: dict[str, Any]) -> str:
    """Replace ``{name}`` tokens only (JSON bodies keep their own braces)."""
    return _TOKEN.sub(lambda m: str(values.get(m[1], m[0])), template)


class BoardConfig(HttpConfig):
    kind: str = "board"
    url: str = Field(description="page URL template with {page} and/or {offset}")
    format: Literal["json", "html"] = "json"
    method: Literal["GET", "POST"] = "GET"
    body: str | None = Field(None, description="POST body template ({page}, {offset}); JSON when it starts with '{'")
    first_page: int = Field(1, ge=0)
    page_size: int = Field(20, ge=1, description="posts per page, for {offset}")
    max_pages: int = Field(3, ge=1)
    items: str = Field(description="json: dotted path of the post list; html: CSS selector of one post")
    fields: dict[str, str] = Field(description="post field -> dotted path (json) or CSS selector (html)")
    link: str | None = Field(None, description="post URL template from other fields, e.g. https://site/detail?id={id}")
    detail: str | None = Field(None, description="html: CSS selector of the text on each post's own page, or 'auto'")

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, v: dict[str, str]) -> dict[str, str]:
        for key, spec in v.items():
            if key not in FIELDS and not re.fullmatch(r"raw\.\w+", key):
                raise SettingError(key, f"unknown field; use one of {', '.join(FIELDS)} or raw.NAME")
            if not isinstance(spec, str):
                raise SettingError(key, "must be a string")
        if not ({"id", "url"} & v.keys()):
            raise ValueError("needs an 'id' or a 'url' field (posts need a stable id)")
        if not ({"title", "content"} & v.keys()):
            raise ValueError("needs a 'title' or a 'content' field")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> BoardConfig:
        if self.max_pages > 1 and not re.search(r"\{(page|offset)\}", self.url + (self.body or "")):
            raise ValueError("url (or body) needs {page} or {offset} to read more than one page; or set max_pages: 1")
        if self.format == "html":
            try:
                check_css(self.items)
            except ValueError as exc:
                raise SettingError("items", str(exc)) from exc
            for key, spec in self.fields.items():
                sel, _ = split_selector(spec)
                if sel not in ("", "."):
                    try:
                        check_css(sel)
                    except ValueError as exc:
                        raise SettingError(f"fields.{key}", str(exc)) from exc
            if self.detail and self.detail != "auto":
                try:
                    check_css(self.detail)
                except ValueError as exc:
                    raise SettingError("detail", str(exc)) from exc
        elif self.detail:
            raise SettingError("detail", "only for format: html")
        return self


class BoardCollector(Collector):
    kind = "board"
    Config = BoardConfig

    def fetch(self, state: dict[str, Any]) -> FetchResult:
        cfg: BoardConfig = self.config  # type: ignore[assignment]
        result = FetchResult(state=dict(state))
        recent = list(state.get("recent", []))
        known = set(recent)
        ref = now()
        this_run: set[str] = set()
        with new_client(cfg.timeout) as client:
            for n in range(cfg.max_pages):
                page = cfg.first_page + n
                values = {"page": page, "offset": n * cfg.page_size}
                url = fill(cfg.url, values)
                try:
                    records, base = self._page(client, url, values)
                except SourceError as exc:
                    if n == 0:
                        raise
                    self.problem(result, f"page {page} failed, later pages wait for the next run: {exc.reason}")
                    break
                if not records:
                    break
                fresh = 0
                for i, rec in enumerate(records):
                    pid, post = self._post(result, rec, base, ref, f"page {page} item {i + 1}", client, known)
                    if pid is None or pid in this_run:
                        continue
                    this_run.add(pid)
                    if post is None:  # seen in an earlier run
                        continue
                    fresh += 1
                    result.posts.append(post)
                if fresh == 0:
                    break
        result.state["recent"] = (recent + [p.id for p in result.posts])[-2000:]
        return result

    def _page(self, client: httpx.Client, url: str, values: dict[str, Any]) -> tuple[list[Any], str]:
        cfg: BoardConfig = self.config  # type: ignore[assignment]
        body = fill(cfg.body, values).encode("utf-8") if cfg.body else None
        opts = cfg.http_options()
        if body is not None and not cfg.body.lstrip().startswith("{"):  # type: ignore[union-attr]
            opts = type(opts)(**{**opts.__dict__, "headers": {"Content-Type": "application/x-www-form-urlencoded", **opts.headers}})
        resp = fetch(cfg.id, url, opts, method=cfg.method, body=body, client=client)
        decoded = charset.decode(resp.content, content_type=resp.content_type, encoding=cfg.encoding)
        if cfg.format == "json":
            try:
                answer = json.loads(decoded.text)
            except ValueError as exc:
                head = " ".join(decoded.text[:60].split())
                raise SourceError(cfg.id, f"{url}: expected JSON, got {head!r}") from exc
            records = dotted(answer, cfg.items)
            if records is None:
                raise SourceError(cfg.id, f"{url}: no list at {cfg.items!r} in the answer")
            if not isinstance(records, list):
                raise SourceError(cfg.id, f"{url}: {cfg.items!r} is a {type(records).__name__}, not a list")
            return records, resp.url
        doc = parse(decoded.text)
        if doc is None:
            raise SourceError(cfg.id, f"{url}: empty page")
        return doc.cssselect(cfg.items), resp.url

    def _value(self, rec: Any, key: str) -> Any:
        cfg: BoardConfig = self.config  # type: ignore[assignment]
        spec = cfg.fields.get(key)
        if spec is None:
            return None
        if cfg.format == "json":
            return dotted(rec, spec)
        sel, attr = split_selector(spec)
        nodes = [rec] if sel in ("", ".") else rec.cssselect(sel)
        if not nodes:
            return None
        return nodes[0].get(attr) if attr else element_text(nodes[0])

    def _post(
        self, result: FetchResult, rec: Any, base: str, ref: Any, label: str, client: httpx.Client, known: set[str]
    ) -> tuple[str | None, PostCollected | None]:
        """(id, post); (id, None) for a post seen in an earlier run; (None, None) when unusable."""
        cfg: BoardConfig = self.config  # type: ignore[assignment]
        if cfg.format == "json" and not isinstance(rec, dict):
            self.problem(result, f"{label}: not an object, skipped")
            return None, None
        values = {k: self._value(rec, k) for k in cfg.fields}
        # JSON fields may hold HTML; values read from an HTML page through selectors are text already
        # (converting them again would take "学习<民法典>心得" for markup).
        convert = html_to_text if cfg.format == "json" else plain_text
        text = {
            k: ("" if v is None else convert(str(v)) if k in ("title", "content", "reply") else str(v).strip()) for k, v in values.items()
        }
        native = text.get("id") or None
        url = text.get("url") or None
        if cfg.link:
            url = fill(cfg.link, {k: v for k, v in text.items() if v})
        if url:
            url = urljoin(base, url)
        title, content = text.get("title", ""), text.get("content", "")
        if not (native or url):
            self.problem(result, f"{label}: no id or url, skipped")
            return None, None
        pid = post_id(cfg.id, native_id=native, url=url)
        if pid in known:
            return pid, None
        if cfg.detail and url:
            detail = self._detail(result, client, url)
            if len(detail) > len(content):
                content = detail
        if not (title or content):
            self.problem(result, f"{label} ({native or url}): neither title nor content, skipped")
            return None, None
        published = self.when(result, values.get("published"), ref, f"{label} ({native or url})")
        reply = None
        if text.get("reply"):
            reply = Reply(
                content=text["reply"],
                organization=text.get("organization") or None,
                replied_at=parse_datetime(values.get("replied_at"), ref),
            )
        raw = {k[4:]: values[k] for k in values if k.startswith("raw.") and values[k] is not None}
        return pid, PostCollected(
            id=pid,
            title=title,
            content=content,
            url=url,
            author=text.get("author") or None,
            published_at=published.astimezone(TZ),
            source=self.source,
            reply=reply,
            raw=raw,
        )

    def _detail(self, result: FetchResult, client: httpx.Client, url: str) -> str:
        cfg: BoardConfig = self.config  # type: ignore[assignment]
        try:
            page = fetch(cfg.id, url, cfg.http_options(), client=client)
        except SourceError as exc:
            self.problem(result, f"detail page not fetched, keeping the list text: {exc.reason}")
            return ""
        decoded = charset.decode(page.content, content_type=page.content_type, encoding=cfg.encoding)
        return main_text(decoded.text, None if cfg.detail == "auto" else cfg.detail)

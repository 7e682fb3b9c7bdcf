"""The store: classified posts, searchable. Backends picked by URL (``open_store``):

- ``sqlite:///path/store.db`` — embedded default: SQLite FTS5 over jieba terms (``yuqing.store.sqlite``)
- ``http(s)://host:9200`` — Elasticsearch 8 (``yuqing.store.elasticsearch``)

``Query.expr`` (a ``yuqing.query`` expression: schemes) is searched term by term: a word
matches a post when every one of its query terms is among the post's index terms (as ``text``
does); groups, ``+``/``!`` and parentheses keep their meaning; a ``/regex/`` cannot be searched
in an index and counts as "may match" (so the result is a superset, to be filtered exactly by
``Expr.matches``). Writes are idempotent upserts by post id. Text search matches posts that contain *every*
query term (``yuqing.text.query_terms``) among their index terms (``yuqing.text.index_terms``);
results are ordered by ``published_at`` descending, then id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, NamedTuple, Protocol
from urllib.parse import urlsplit

from yuqing.errors import ConfigError
from yuqing.events import PostClassified
from yuqing.query import Expr
from yuqing.timeutil import aware

CountField = Literal["topic", "sentiment", "risk_level", "source", "region", "event_id"]
RefreshPolicy = Literal["wait_for", "true", "false"]


@dataclass(frozen=True)
class Query:
    text: str | None = None
    topic: str | None = None
    sentiment: str | None = None
    risk_level: str | None = None
    source: str | None = None  # source id
    region: str | None = None
    event_id: str | None = None
    # any-of filters, for the event clusterer's batched lookups (processors/clustering.py)
    event_ids: tuple[str, ...] | None = None  # posts of any of these events
    event_keys: tuple[str, ...] | None = None  # posts carrying any of these lookup keys
    ids: tuple[str, ...] | None = None  # posts with any of these ids (the workbench: which of an alert's posts are in a scheme)
    since: datetime | None = None  # published_at >= since
    until: datetime | None = None  # published_at < until
    limit: int = 20
    offset: int = 0
    # A query expression (yuqing.query), translated to the backend's own query (``expr_terms``
    # gives the semantics both backends implement).
    expr: Expr | None = None
    scheme: str | None = None  # posts tagged with this 监测方案 (post.schemes)


@dataclass
class SearchResult:
    total: int
    hits: list[PostClassified] = field(default_factory=list)


class PostBrief(NamedTuple):
    """What the event clusterer reads of a stored post (``Store.brief``): no tokens, no
    validation of the whole document."""

    id: str
    event_id: str
    published_at: datetime
    source: str  # source id
    title: str
    content: str


def stored_time(text: str) -> datetime:
    """A stored document's ``published_at`` (ISO 8601, as written), in Shanghai time as the
    event schemas have it."""
    return aware(datetime.fromisoformat(text))


@dataclass
class BriefResult:
    total: int
    hits: list[PostBrief] = field(default_factory=list)


class Store(Protocol):
    url: str

    def write(self, posts: Sequence[PostClassified]) -> None:
        """Upsert by id. Raises StoreError if any post was not written (nothing is half-acknowledged)."""

    def get(self, post_id: str) -> PostClassified | None: ...

    def search(self, query: Query) -> SearchResult: ...

    def brief(self, query: Query) -> BriefResult:
        """``search``, reading only the fields of ``PostBrief`` (the same posts, the same order):
        the event clusterer's lookups, which would otherwise decode every candidate's tokens."""

    def count_by(self, field: CountField, query: Query = Query()) -> dict[str, int]: ...

    def count_per_day(self, query: Query = Query()) -> dict[str, int]:
        """Posts per local (Asia/Shanghai) day of ``published_at``, ``YYYY-MM-DD`` -> count."""

    def count_per_hour(self, query: Query = Query()) -> dict[str, int]:
        """Posts per local (Asia/Shanghai) hour of ``published_at``, ``YYYY-MM-DD HH`` -> count,
        in time order (hours without posts are absent)."""

    def refresh(self) -> None:
        """Make every acknowledged write visible to search (a no-op where it already is)."""

    def check(self) -> str: ...

    def close(self) -> None: ...


def open_store(url: str, *, refresh: RefreshPolicy = "false", **options: object) -> Store:
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        from yuqing.store.sqlite import SqliteStore

        return SqliteStore(url)
    if scheme in ("http", "https"):
        from yuqing.store.elasticsearch import ElasticsearchStore

        return ElasticsearchStore(url, refresh=refresh, **options)  # type: ignore[arg-type]
    raise ConfigError(f"unknown store URL scheme {scheme!r} in {url!r}; use sqlite:///PATH or http(s)://HOST:PORT", key="store.url")

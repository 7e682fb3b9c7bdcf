"""Elasticsearch 8 store: one index behind a write alias, searched over yuqing's own jieba terms.

Layout (see docs/store.md for the reasons):

- a composable index template ``<index>`` for ``<index>-*`` with explicit, strict mappings;
- one concrete index ``<index>-000001`` behind the alias ``<index>`` (``is_write_index``), no
  time-based rollover: a post collected again after a rollover would be written a second time,
  into the new index, under the same ``_id``. Mapping changes go through reindex + alias swap.
- the document is the ``PostClassified`` JSON plus two derived fields: ``terms`` (the index
  terms, space-joined, ``whitespace``-analysed, so no IK plugin is needed) and
  ``published_at_us`` (microseconds since the epoch: ``date`` keeps milliseconds only, and
  ordering and time ranges must agree with the embedded store to the microsecond).

The index is set up lazily, on the first operation that needs it, so a stage can start while the
cluster is still down and retry its writes (``StoreError`` is retryable). Only this module
imports the Elasticsearch client.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from elastic_transport import HttpHeaders, Urllib3HttpNode
from elasticsearch import ApiError, AuthenticationException, AuthorizationException, Elasticsearch, NotFoundError, TransportError

from yuqing.errors import ConfigError, StoreError
from yuqing.events import PostClassified
from yuqing.query import Expr, Regex, Word
from yuqing.store import BriefResult, CountField, PostBrief, Query, RefreshPolicy, SearchResult, stored_time
from yuqing.text import index_terms, query_terms
from yuqing.timeutil import aware

if TYPE_CHECKING:
    from elastic_transport._node import NodeApiResponse

T = TypeVar("T")

# The transport logs every failed attempt with a full traceback at WARNING; StoreError already
# carries the reason and the worker logs one line per retry. Left alone if configured elsewhere.
for _name in ("elastic_transport.transport", "elastic_transport.node_pool"):
    if logging.getLogger(_name).level == logging.NOTSET:
        logging.getLogger(_name).setLevel(logging.ERROR)

# Fields added to the PostClassified document for searching; stripped again on read.
_DERIVED = ("terms", "published_at_us")
_BRIEF = ("id", "event_id", "published_at", "source.id", "title", "content")  # PostBrief's fields

# Query field -> document field, for filters and counts.
_FIELDS: dict[str, str] = {
    "topic": "topic",
    "sentiment": "sentiment",
    "risk_level": "risk.level",
    "source": "source.id",
    "region": "region",
    "event_id": "event_id",
}

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# published_at descending, then id: the embedded store's order; unique, so search_after is exact
_SORT: list[dict[str, str]] = [{"published_at_us": "desc"}, {"id": "asc"}]
_BULK_CHUNK = 500  # posts per _bulk request: ~5 KB each with tokens and terms, so ~2.5 MB
_COMPOSITE_PAGE = 1000
_INDEX_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")

# Free-text values that are still worth an exact-match filter get ``ignore_above``: one
# pathological value (a 40 KB URL) would otherwise fail its bulk item with an "immense term"
# error forever, and stall the stage that retries it.
_KEYWORD = {"type": "keyword"}
_LONG_KEYWORD = {"type": "keyword", "ignore_above": 1024}
_STORED_TEXT = {"type": "text", "index": False}  # kept in _source; searching goes through `terms`

MAPPINGS: dict[str, Any] = {
    # strict: a field the mapping does not know fails the write loudly instead of being guessed
    # (a new PostClassified field means a template change + reindex, see docs/store.md).
    "dynamic": "strict",
    "properties": {
        "type": _KEYWORD,
        "schema_version": {"type": "integer"},
        "id": _KEYWORD,
        "title": _STORED_TEXT,
        "content": _STORED_TEXT,
        "url": _LONG_KEYWORD,
        "author": _LONG_KEYWORD,
        "published_at": {"type": "date"},
        "published_at_us": {"type": "long"},
        "collected_at": {"type": "date"},
        "classified_at": {"type": "date"},
        "source": {"properties": {"id": _KEYWORD, "kind": _KEYWORD, "name": _LONG_KEYWORD}},
        "reply": {"properties": {"content": _STORED_TEXT, "organization": _LONG_KEYWORD, "replied_at": {"type": "date"}}},
        # source-specific metadata of any shape: kept, never indexed
        "raw": {"type": "object", "enabled": False},
        "tokens": {"type": "keyword", "index": False, "doc_values": False},
        "keywords": _LONG_KEYWORD,
        "schemes": _LONG_KEYWORD,  # 监测方案 names (schema_version 2)
        "topic": _KEYWORD,
        "topic_confidence": {"type": "float"},
        "sentiment": _KEYWORD,
        "sentiment_score": {"type": "float"},
        "risk": {"properties": {"score": {"type": "integer"}, "level": _KEYWORD, "reasons": _LONG_KEYWORD}},
        "event_id": _KEYWORD,
        # the event clusterer's lookup keys: only ever matched exactly, never aggregated
        "event_keys": {"type": "keyword", "doc_values": False},
        "region": _LONG_KEYWORD,
        # only ever matched term by term in filter context: no positions, no scoring norms
        "terms": {"type": "text", "analyzer": "whitespace", "index_options": "docs", "norms": False},
    },
}
TEMPLATE_VERSION = 2  # 2: event_keys, schemes
# Fields added after indices may already exist: put into the live mapping at start (adding a
# field to a strict mapping is allowed; changing one is not).
ADDED_FIELDS: dict[str, Any] = {name: MAPPINGS["properties"][name] for name in ("event_keys", "schemes")}

_COMPAT_MIMETYPE = re.compile(r"application/vnd\.elasticsearch\+([\w-]+)\s*;\s*compatible-with=\d+")


class PlainJsonNode(Urllib3HttpNode):
    """The stock urllib3 node, but sending plain ``application/json`` (``x-ndjson`` for bulk).

    The 8.x client asks for ``application/vnd.elasticsearch+json; compatible-with=8``, which
    OpenSearch-compatible test servers (osmem) reject with 406. Used only with
    ``plain_json=True``; production talks to Elasticsearch through the stock node.
    """

    def perform_request(
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: HttpHeaders | None = None,
        request_timeout: Any = None,
    ) -> NodeApiResponse:
        plain = HttpHeaders(headers or {})  # the transport may hand us frozen headers
        for name in ("accept", "content-type"):
            if name in plain:
                plain[name] = _COMPAT_MIMETYPE.sub(r"application/\1", plain[name])
        return super().perform_request(method, target, body=body, headers=plain, request_timeout=request_timeout)


def redact(url: str) -> str:
    """The URL with any password replaced by ``***``, for messages and logs."""
    p = urlsplit(url)
    if p.password is None:
        return url
    host = p.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{p.username}:***@{host}" + (f":{p.port}" if p.port else "")
    return urlunsplit((p.scheme, netloc, p.path, p.query, p.fragment))


def epoch_us(dt: datetime) -> int:
    """Exact microseconds since the epoch (naive datetimes are Shanghai time, as everywhere)."""
    return (aware(dt) - _EPOCH) // timedelta(microseconds=1)


def to_document(post: PostClassified) -> dict[str, Any]:
    doc = post.model_dump(mode="json")
    doc["terms"] = " ".join(index_terms(post.tokens))
    doc["published_at_us"] = epoch_us(post.published_at)
    return doc


def from_document(source: dict[str, Any]) -> PostClassified:
    doc = {k: v for k, v in source.items() if k not in _DERIVED}
    return PostClassified.model_validate(doc)


class ElasticsearchStore:
    # from + size may not exceed the index's max_result_window (Elasticsearch's default); deeper
    # pages are reached with search_after. An attribute so tests can exercise that path cheaply.
    result_window = 10_000

    def __init__(
        self,
        url: str,
        *,
        refresh: RefreshPolicy = "false",
        index: str = "yuqing-posts",
        username: str | None = None,
        password: str | None = None,
        api_key: str | None = None,
        verify_certs: bool = True,
        ca_certs: str | None = None,
        plain_json: bool = False,
        number_of_shards: int = 1,
        number_of_replicas: int = 0,
        request_timeout: float = 10.0,
        max_retries: int = 2,
    ) -> None:
        if refresh not in ("wait_for", "true", "false"):
            raise ConfigError(f"unknown refresh policy {refresh!r}: use wait_for, true or false", key="store.refresh")
        if not _INDEX_NAME.fullmatch(index) or len(index) > 200:
            raise ConfigError(f"invalid index name {index!r}: lower-case letters, digits, '.', '_' and '-'", key="store.index")
        if username is not None and api_key is not None:
            raise ConfigError("set either store.username/password or store.api_key, not both", key="store.api_key")
        if password is not None and username is None:
            raise ConfigError("store.password is set but store.username is not", key="store.username")
        self.url = url
        self.alias = index
        self.refresh_policy: RefreshPolicy = refresh
        self.number_of_shards = number_of_shards
        self.number_of_replicas = number_of_replicas
        self._where = redact(url)
        self._ready = False
        self._lock = threading.Lock()
        options: dict[str, Any] = {
            "request_timeout": request_timeout,
            "max_retries": max_retries,
            "retry_on_timeout": True,
        }
        if username is not None:
            options["basic_auth"] = (username, password or "")
        if api_key is not None:
            options["api_key"] = api_key
        if urlsplit(url).scheme == "https":
            options["verify_certs"] = verify_certs
            if ca_certs:
                options["ca_certs"] = ca_certs
        if plain_json:
            # osmem answers with ``X-Elastic-Product: Elasticsearch``, so the client's product
            # check passes as is; the media type is the only thing such servers need changed.
            options["node_class"] = PlainJsonNode
        try:
            self._es = Elasticsearch(url, **options)
        except ValueError as exc:  # malformed URL, or options the client rejects
            raise ConfigError(f"cannot use Elasticsearch at {self._where}: {exc}", key="store.url") from exc

    # -- errors ---------------------------------------------------------------------------

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """Every client failure leaves this class as a StoreError naming the (redacted) URL."""
        try:
            yield
        except AuthenticationException as exc:
            raise StoreError(
                f"Elasticsearch at {self._where} rejected the credentials while trying to {what} (HTTP 401); "
                "check store.username/store.password or store.api_key"
            ) from exc
        except AuthorizationException as exc:
            raise StoreError(
                f"Elasticsearch at {self._where} denied {what} on {self.alias} (HTTP 403): {_reason(exc)}; the user needs index privileges"
            ) from exc
        except ApiError as exc:
            raise StoreError(f"Elasticsearch at {self._where}: {what} failed (HTTP {exc.meta.status}): {_reason(exc)}") from exc
        except TransportError as exc:  # connection refused, DNS, TLS, timeout: after the client's retries
            raise StoreError(f"cannot reach Elasticsearch at {self._where} to {what}: {exc.message}") from exc

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        self._ensure()
        with self._errors(what):
            return fn()

    # -- set-up ---------------------------------------------------------------------------

    def template(self) -> dict[str, Any]:
        return {
            "index_patterns": [f"{self.alias}-*"],
            # above the built-in templates (100) in case a pattern ever overlaps one of them
            "priority": 200,
            "version": TEMPLATE_VERSION,
            "template": {
                "settings": {"number_of_shards": self.number_of_shards, "number_of_replicas": self.number_of_replicas},
                "mappings": MAPPINGS,
            },
            "_meta": {"managed_by": "yuqing", "document": "post.classified"},
        }

    def _ensure(self) -> None:
        """Template, first index and write alias, once per process; safe to race with other
        processes doing the same (the loser sees ``resource_already_exists``)."""
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            with self._errors("set up the index template"):
                t = self.template()
                self._es.indices.put_index_template(
                    name=self.alias,
                    index_patterns=t["index_patterns"],
                    priority=t["priority"],
                    version=t["version"],
                    template=t["template"],
                    meta=t["_meta"],
                )
            with self._errors(f"create the index behind alias {self.alias}"):
                if not self._es.indices.exists_alias(name=self.alias):
                    if self._es.indices.exists(index=self.alias):
                        raise StoreError(
                            f"Elasticsearch at {self._where}: {self.alias} is a concrete index, but yuqing writes through an alias "
                            f"of that name; reindex it into {self.alias}-000001 and add the alias (see docs/store.md)"
                        )
                    first = f"{self.alias}-000001"
                    try:
                        # index and alias in one request: no one ever sees one without the other
                        self._es.indices.create(index=first, aliases={self.alias: {"is_write_index": True}})
                    except ApiError as exc:
                        if _error_type(exc) != "resource_already_exists_exception":
                            raise
                        if not self._es.indices.exists_alias(name=self.alias):
                            raise StoreError(
                                f"Elasticsearch at {self._where}: index {first} exists without the alias {self.alias}; "
                                f"add it (POST _aliases, is_write_index true) or delete the index"
                            ) from exc
            with self._errors(f"add new fields to the mapping of {self.alias}"):
                # an index made by an older template lacks fields added since (adding is allowed;
                # the mapping is strict, so without this the first write of such a field fails)
                self._es.indices.put_mapping(index=self.alias, properties=ADDED_FIELDS)
            self._ready = True

    # -- writes ---------------------------------------------------------------------------

    def write(self, posts: Sequence[PostClassified]) -> None:
        if not posts:
            return
        self._ensure()
        failures: list[str] = []
        statuses: list[int] = []
        for start in range(0, len(posts), _BULK_CHUNK):
            chunk = posts[start : start + _BULK_CHUNK]
            operations: list[dict[str, Any]] = []
            for p in chunk:
                # `index` (not `create`): a post collected again replaces itself, same _id
                operations += [{"index": {"_id": p.id}}, to_document(p)]
            with self._errors(f"bulk-write {len(chunk)} posts"):
                # require_alias: if the alias vanished, fail instead of auto-creating a concrete
                # index of that name with guessed mappings
                resp = self._es.bulk(index=self.alias, operations=operations, refresh=self.refresh_policy, require_alias=True)
            if resp.get("errors"):
                for item in resp["items"]:
                    result = next(iter(item.values()))
                    if "error" in result:
                        failures.append(f"post {result.get('_id')}: {_item_reason(result['error'])}")
                        statuses.append(int(result.get("status", 500)))
        if failures:
            # 4xx other than 429 means the document itself is rejected: retrying cannot help.
            permanent = all(400 <= st < 500 and st != 429 for st in statuses)
            raise StoreError(
                f"Elasticsearch at {self._where}: {len(failures)} of {len(posts)} posts were not written to {self.alias}; "
                f"first: {failures[0]}",
                retryable=not permanent,
            )

    def refresh(self) -> None:
        self._call("refresh", lambda: self._es.indices.refresh(index=self.alias))

    # -- reads ----------------------------------------------------------------------------

    def get(self, post_id: str) -> PostClassified | None:
        self._ensure()
        with self._errors(f"get post {post_id}"):
            try:
                # GET is real-time: it sees a write before any refresh, like the embedded store
                resp = self._es.get(index=self.alias, id=post_id, source_excludes=list(_DERIVED))
            except NotFoundError as exc:
                if isinstance(exc.body, dict) and exc.body.get("found") is False:
                    return None
                raise  # index_not_found and friends are errors, not a missing post
        return from_document(resp["_source"])

    def _filter(self, q: Query) -> list[dict[str, Any]] | None:
        """Filter clauses of ``q``; None when the text has no searchable term (no hits, as in SQLite)."""
        clauses: list[dict[str, Any]] = []
        if q.text:
            terms = query_terms(q.text)
            if not terms:
                return None
            # every query term must be one of the post's index terms, compared exactly: the same
            # semantics as the FTS5 phrase-per-term AND query of the embedded store
            clauses += [{"term": {"terms": t}} for t in terms]
        if q.expr is not None:
            clauses.append(_expr_query(q.expr))
        if q.scheme is not None:
            clauses.append({"term": {"schemes": q.scheme}})
        for name, doc_field in _FIELDS.items():
            value = getattr(q, name)
            if value is not None:
                clauses.append({"term": {doc_field: value}})
        if q.event_ids is not None:
            clauses.append({"terms": {"event_id": list(q.event_ids)}})
        if q.event_keys is not None:
            clauses.append({"terms": {"event_keys": list(q.event_keys)}})
        if q.ids is not None:
            clauses.append({"terms": {"id": list(q.ids)}})
        bounds: dict[str, int] = {}
        if q.since is not None:
            bounds["gte"] = epoch_us(q.since)
        if q.until is not None:
            bounds["lt"] = epoch_us(q.until)
        if bounds:
            clauses.append({"range": {"published_at_us": bounds}})
        return clauses

    def search(self, query: Query) -> SearchResult:
        total, docs = self._search(query, {"source_excludes": list(_DERIVED)})
        return SearchResult(total, [from_document(d) for d in docs])

    def brief(self, query: Query) -> BriefResult:
        total, docs = self._search(query, {"source_includes": list(_BRIEF)})
        return BriefResult(
            total,
            [
                PostBrief(
                    d["id"], d["event_id"], stored_time(d["published_at"]), d["source"]["id"], d.get("title") or "", d.get("content") or ""
                )
                for d in docs
            ],
        )

    def _search(self, query: Query, source: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
        """(total, the ``_source`` of each hit of the page), ``source``: which fields to return."""
        clauses = self._filter(query)
        if clauses is None:
            return 0, []
        es_query = {"bool": {"filter": clauses}}
        if query.offset + query.limit > self.result_window:
            return self._deep_page(es_query, query.offset, query.limit, source)
        resp = self._call(
            "search",
            lambda: self._es.search(
                index=self.alias,
                query=es_query,
                sort=_SORT,
                from_=query.offset,
                size=query.limit,
                track_total_hits=True,
                **source,
            ),
        )
        hits = resp["hits"]["hits"]
        return int(resp["hits"]["total"]["value"]), [h["_source"] for h in hits]

    def _deep_page(self, es_query: dict[str, Any], offset: int, limit: int, source: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
        """A page past ``result_window``: walk there with search_after, which the unique sort
        key (published_at_us, id) makes exact. Costly, but the same answer as from/size."""
        total = self._count(es_query["bool"]["filter"])
        after: list[Any] | None = None

        def page(size: int, with_source: bool) -> list[dict[str, Any]]:
            params: dict[str, Any] = {"index": self.alias, "query": es_query, "sort": _SORT, "size": size, "track_total_hits": False}
            if with_source:
                params.update(source)
            else:
                params["source"] = False
            if after is not None:
                params["search_after"] = after
            return list(self._call("search", lambda: self._es.search(**params))["hits"]["hits"])

        skip = offset
        while skip > 0:
            hits = page(min(skip, self.result_window), with_source=False)
            if not hits:
                return total, []
            after, skip = hits[-1]["sort"], skip - len(hits)
        out: list[dict[str, Any]] = []
        while len(out) < limit:
            hits = page(min(limit - len(out), self.result_window), with_source=True)
            if not hits:
                break
            after = hits[-1]["sort"]
            out += [h["_source"] for h in hits]
        return total, out

    def _count(self, clauses: list[dict[str, Any]]) -> int:
        resp = self._call("count", lambda: self._es.count(index=self.alias, query={"bool": {"filter": clauses}}))
        return int(resp["count"])

    def _aggregate(self, what: str, clauses: list[dict[str, Any]], aggs: dict[str, Any]) -> dict[str, Any]:
        resp = self._call(what, lambda: self._es.search(index=self.alias, query={"bool": {"filter": clauses}}, size=0, aggs=aggs))
        return dict(resp["aggregations"])

    def count_by(self, field: CountField, query: Query = Query()) -> dict[str, int]:
        clauses = self._filter(query)
        if clauses is None:
            return {}
        counts: dict[str, int] = {}
        after: dict[str, Any] | None = None
        while True:
            # composite, not terms: exact counts over any number of shards, paged to the end
            composite: dict[str, Any] = {"size": _COMPOSITE_PAGE, "sources": [{"k": {"terms": {"field": _FIELDS[field]}}}]}
            if after is not None:
                composite["after"] = after
            agg = self._aggregate(f"count by {field}", clauses, {"g": {"composite": composite}})["g"]
            for b in agg["buckets"]:
                counts[str(b["key"]["k"])] = int(b["doc_count"])
            after = agg.get("after_key")
            if not agg["buckets"] or after is None:
                break
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def count_per_day(self, query: Query = Query()) -> dict[str, int]:
        return self._histogram("day", "yyyy-MM-dd", query)

    def count_per_hour(self, query: Query = Query()) -> dict[str, int]:
        return self._histogram("hour", "yyyy-MM-dd HH", query)

    def _histogram(self, interval: str, fmt: str, query: Query) -> dict[str, int]:
        clauses = self._filter(query)
        if clauses is None:
            return {}
        histogram = {
            "field": "published_at",
            "calendar_interval": interval,
            "time_zone": "Asia/Shanghai",  # local days and hours, as the embedded store counts them
            "min_doc_count": 1,
            "format": fmt,
        }
        buckets = self._aggregate(f"count per {interval}", clauses, {"d": {"date_histogram": histogram}})["d"]["buckets"]
        return {b["key_as_string"]: int(b["doc_count"]) for b in sorted(buckets, key=lambda b: b["key"])}

    # -- operations -----------------------------------------------------------------------

    def check(self) -> str:
        """Cluster name, version and document count; does not create anything."""
        with self._errors("check the cluster"):
            info = self._es.info()
            version = info["version"]
            product = version.get("distribution", "Elasticsearch")
            head = f"{product} {version['number']} cluster {info['cluster_name']} at {self._where}"
            if not self._es.indices.exists_alias(name=self.alias):
                return f"{head}; alias {self.alias} not created yet (created on first write)"
            indices = sorted(self._es.indices.get_alias(name=self.alias).body)
            n = self._es.count(index=self.alias)["count"]
        return f"{head}; alias {self.alias} -> {', '.join(indices)} ({n} posts)"

    def close(self) -> None:
        self._es.close()


_ALL: dict[str, Any] = {"match_all": {}}
_NONE: dict[str, Any] = {"bool": {"must_not": [{"match_all": {}}]}}


def _expr_query(e: Expr) -> dict[str, Any]:
    """``Query.expr`` as a bool query over the ``terms`` field (the semantics of the SQLite store)."""
    if not e.groups:
        return _ALL
    groups: list[dict[str, Any]] = []
    for g in e.groups:
        must: list[dict[str, Any]] = []
        must_not: list[dict[str, Any]] = []
        optional: list[dict[str, Any]] = []
        for it in g.items:
            a = it.atom
            if isinstance(a, Regex):
                if it.mode == "not":
                    continue  # never excludes
                cond = _ALL
            elif isinstance(a, Word):
                terms = query_terms(a.text)
                cond = {"bool": {"filter": [{"term": {"terms": t}} for t in terms]}} if terms else _NONE
            else:
                cond = _expr_query(a)
            {"must": must, "not": must_not, "any": optional}[it.mode].append(cond)
        body: dict[str, Any] = {"filter": must, "must_not": must_not}
        if optional:
            body["filter"] = [*must, {"bool": {"should": optional, "minimum_should_match": 1}}]
        groups.append({"bool": body})
    return {"bool": {"should": groups, "minimum_should_match": 1}}


def _error_type(exc: ApiError) -> str | None:
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("type"))
    return None


def _reason(exc: ApiError) -> str:
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return _item_reason(body["error"])
    return str(exc.message)


def _item_reason(error: dict[str, Any]) -> str:
    reason = f"{error.get('type')}: {error.get('reason')}"
    cause = error.get("caused_by")
    if isinstance(cause, dict) and cause.get("reason"):
        reason += f" ({cause.get('type')}: {cause.get('reason')})"
    return reason

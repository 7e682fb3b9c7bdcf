"""HTTP for collectors: timeouts, retries with backoff, conditional GET and a size cap.

Every network collector goes through ``fetch``, so the rules are the same for all of them:

- transport errors (refused, reset, timeout, a body cut short) and HTTP 429 / 5xx are retried
  ``retries`` times with exponential backoff and jitter (``Retry-After`` is honoured up to 60 s);
  other 4xx answers are not retried;
- a body larger than ``max_bytes`` is abandoned while streaming (never held in memory);
- ``If-None-Match`` / ``If-Modified-Since`` are sent when the caller has them; a 304 gives
  ``Response.not_modified``;
- every failure raises ``SourceError`` naming the source, the URL and the reason.

``file://`` URLs and plain paths are read from disk (bundled demo sources, benchmarks).
"""

from __future__ import annotations

import functools
import logging
import random
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from yuqing.errors import SourceError

log = logging.getLogger("yuqing.collectors")

USER_AGENT = "Mozilla/5.0 (compatible; yuqing/0.1; public-opinion monitoring)"
_RETRY_STATUS = {429, 500, 502, 503, 504}
_MAX_SLEEP = 60.0


@dataclass(frozen=True)
class HttpOptions:
    timeout: float = 20.0
    retries: int = 2
    backoff: float = 1.0
    max_bytes: int = 20 * 1024 * 1024
    user_agent: str = USER_AGENT
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Response:
    url: str
    status: int
    content: bytes
    headers: Mapping[str, str]

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def validators(self) -> dict[str, str]:
        """ETag and Last-Modified to send next time (conditional GET)."""
        out = {}
        if self.headers.get("etag"):
            out["etag"] = self.headers["etag"]
        if self.headers.get("last-modified"):
            out["modified"] = self.headers["last-modified"]
        return out


@functools.lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    # Building the default context loads the CA bundle: ~60 ms, too much to pay per fetch.
    return httpx.create_ssl_context()


def new_client(timeout: float) -> httpx.Client:
    """An HTTP client for one collector run (connection reuse across its requests)."""
    return httpx.Client(timeout=timeout, follow_redirects=True, verify=_ssl_context())


def is_local(url: str) -> bool:
    scheme = urlsplit(url).scheme.lower()
    return scheme in ("", "file") or (len(scheme) == 1 and url[1:3] in (":\\", ":/"))  # C:\ paths


def _read_local(source: str, url: str, max_bytes: int) -> Response:
    parts = urlsplit(url)
    path = Path(unquote(parts.path) if parts.scheme == "file" else url)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise SourceError(source, f"{path} is {size / 1e6:.1f} MB, more than the {max_bytes / 1e6:.0f} MB limit")
        return Response(str(path), 200, path.read_bytes(), {})
    except OSError as exc:
        raise SourceError(source, f"cannot read {path}: {exc.strerror or exc}") from exc


def _sleep_for(attempt: int, backoff: float, retry_after: str | None) -> float:
    if retry_after and retry_after.strip().isdigit():
        return min(float(retry_after), _MAX_SLEEP)
    return min(backoff * (2**attempt) * (1 + random.random() / 2), _MAX_SLEEP)


def fetch(
    source: str,
    url: str,
    opts: HttpOptions,
    *,
    method: str = "GET",
    json: Any = None,
    data: Mapping[str, str] | None = None,
    body: bytes | None = None,
    validators: Mapping[str, str] | None = None,
    client: httpx.Client | None = None,
) -> Response:
    """One request with the collector rules above; raises SourceError when it finally fails."""
    if is_local(url):
        return _read_local(source, url, opts.max_bytes)
    headers = {"User-Agent": opts.user_agent, **opts.headers}
    if body is not None:
        headers.setdefault("Content-Type", "application/json;charset=UTF-8")
    if validators:
        if validators.get("etag"):
            headers["If-None-Match"] = validators["etag"]
        if validators.get("modified"):
            headers["If-Modified-Since"] = validators["modified"]
    own = client is None
    http = client or new_client(opts.timeout)
    try:
        reason = ""
        for attempt in range(opts.retries + 1):
            retry_after = None
            try:
                with http.stream(method, url, headers=headers, json=json, data=data, content=body) as resp:
                    if resp.status_code in _RETRY_STATUS:
                        reason = f"HTTP {resp.status_code}"
                        retry_after = resp.headers.get("retry-after")
                    elif resp.status_code >= 400:
                        raise SourceError(source, f"{method} {url} answered HTTP {resp.status_code}")
                    else:
                        declared = resp.headers.get("content-length", "")
                        if declared.isdigit() and int(declared) > opts.max_bytes:
                            raise SourceError(
                                source,
                                f"{method} {url}: body of {int(declared) / 1e6:.1f} MB is over the {opts.max_bytes / 1e6:.0f} MB limit",
                            )
                        chunks: list[bytes] = []
                        size = 0
                        for chunk in resp.iter_bytes():
                            size += len(chunk)
                            if size > opts.max_bytes:
                                raise SourceError(source, f"{method} {url}: body over the {opts.max_bytes / 1e6:.0f} MB limit")
                            chunks.append(chunk)
                        return Response(str(resp.url), resp.status_code, b"".join(chunks), resp.headers)
            except httpx.RemoteProtocolError as exc:
                reason = f"connection closed early, response truncated ({exc})"
            except httpx.TimeoutException as exc:
                reason = f"timed out after {opts.timeout:g} s ({type(exc).__name__})"
            except httpx.TransportError as exc:
                reason = f"{type(exc).__name__}: {exc}"
            except httpx.InvalidURL as exc:
                raise SourceError(source, f"invalid URL {url!r}: {exc}") from exc
            if attempt < opts.retries:
                pause = _sleep_for(attempt, opts.backoff, retry_after)
                log.info("source %s: %s %s: %s; retry %d/%d in %.1f s", source, method, url, reason, attempt + 1, opts.retries, pause)
                time.sleep(pause)
        tries = f" after {opts.retries + 1} attempts" if opts.retries else ""
        raise SourceError(source, f"{method} {url} failed{tries}: {reason}")
    finally:
        if own:
            http.close()

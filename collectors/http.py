"""HTTP for collectors: timeouts, retries with backoff, conditional GET and a size cap.

Every network collector goes through ``fetch``, so the rules are the same for all of them:

- transport errors (refused, reset, timeout, a body cut short) and HTTP 429 / 5xx are retried
  ``retries`` times with exponential backoff and jitter (``Retry-After`` is honoured up to 60 s);
  other 4xx answers, too many redirects and undecodable bodies are not retried;
- ``deadline`` bounds the whole fetch, retries and pauses included: every socket operation waits
  at most until the deadline, so a server dripping one byte every few seconds (which never trips
  the per-read ``timeout``) is abandoned when the deadline passes;
- ``Content-Encoding`` (gzip, deflate) is decoded here, not by httpx, so that a compressed stream
  that stops before its end marker is refused as cut short (httpx accepts it as whole) and a body
  that says gzip but is not is refused naming the URL;
- a body larger than ``max_bytes`` (received or decompressed) is abandoned while streaming;
- ``If-None-Match`` / ``If-Modified-Since`` are sent when the caller has them; a 304 gives
  ``Response.not_modified``;
- every failure raises ``SourceError`` naming the source, the URL and the reason.

``file://`` URLs and plain paths are read from disk (bundled demo sources, benchmarks).
"""

from __future__ import annotations

import contextvars
import functools
import logging
import random
import ssl
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpcore
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
    deadline: float = 120.0  # seconds for the whole fetch, retries included


def size_text(n: int, limit: int | None = None) -> str:
    """A byte count in the unit its limit is written in: a limit of 20 * 1024 * 1024 is
    "20 MiB" (not "21 MB"), one of 5_000_000 is "5 MB"; a size is shown in its limit's unit."""
    ref = limit if limit is not None else n
    if ref >= 2**20 and ref % 2**20 == 0:
        unit, div = "MiB", 2**20
    elif ref >= 10**6 and ref % 10**6 == 0:
        unit, div = "MB", 10**6
    elif ref >= 2**10 and ref % 2**10 == 0:
        unit, div = "KiB", 2**10
    elif ref >= 10**6:
        unit, div = "MiB", 2**20
    else:
        return f"{n:,} bytes"
    value = n / div
    text = f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    if limit is not None and n != limit and round(value, 1) == round(limit / div, 1):
        return f"{n:,} bytes"  # just over the limit: "20.0 MiB over the 20 MiB limit" says nothing
    return text


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


# The monotonic time by which the fetch running in this thread must be over (None: no deadline).
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("yuqing_fetch_deadline", default=None)


def _bounded(timeout: float | None, error: type[Exception]) -> float | None:
    """``timeout`` shortened to what is left of the current fetch's deadline."""
    end = _DEADLINE.get()
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise error("the fetch deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, _bounded(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend with every connect, read and write bounded by the deadline."""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(host, port, _bounded(timeout, httpcore.ConnectTimeout), local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._backend.connect_unix_socket(path, _bounded(timeout, httpcore.ConnectTimeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class _Decoder:
    """Content-Encoding decoding that knows whether the compressed stream ended."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._raw_deflate = False
        self._obj = self._new()
        self._started = False

    def _new(self) -> Any:
        if self.encoding in ("gzip", "x-gzip"):
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        return zlib.decompressobj(-zlib.MAX_WBITS if self._raw_deflate else zlib.MAX_WBITS)

    def feed(self, data: bytes, max_length: int) -> bytes:
        out = b""
        while data:
            if self._obj.eof:
                rest = self._obj.unused_data + data
                if self.encoding != "deflate" and rest[:2] == b"\x1f\x8b":  # another gzip member
                    self._obj = self._new()
                    data = rest
                    continue
                return out  # trailing bytes after the stream's end: ignored, as browsers do
            try:
                chunk = self._obj.decompress(data, max_length - len(out) + 1)
            except zlib.error:
                if self.encoding == "deflate" and not self._started and not self._raw_deflate:
                    self._raw_deflate = True  # "deflate" sent without its zlib header, as some servers do
                    self._obj = self._new()
                    continue
                raise
            self._started = True
            out += chunk
            if len(out) > max_length:
                return out
            data = self._obj.unconsumed_tail
        return out

    @property
    def complete(self) -> bool:
        return bool(self._obj.eof)


class _Failure(Exception):
    """A failure inside one attempt: ``reason`` for the message, ``retry`` whether to try again."""

    def __init__(self, reason: str, retry: bool = False, retry_after: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry
        self.retry_after = retry_after


@functools.lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    # Building the default context loads the CA bundle: ~60 ms, too much to pay per fetch.
    return httpx.create_ssl_context()


def new_client(timeout: float) -> httpx.Client:
    """An HTTP client for one collector run (connection reuse across its requests). Its
    connections honour the deadline of the ``fetch`` that uses them."""
    client = httpx.Client(timeout=timeout, follow_redirects=True, verify=_ssl_context())
    transports = [client._transport, *(t for t in client._mounts.values() if t is not None)]
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        if pool is not None and not isinstance(pool._network_backend, _DeadlineBackend):
            pool._network_backend = _DeadlineBackend(pool._network_backend)
    return client


def is_local(url: str) -> bool:
    scheme = urlsplit(url).scheme.lower()
    return scheme in ("", "file") or (len(scheme) == 1 and url[1:3] in (":\\", ":/"))  # C:\ paths


def _read_local(source: str, url: str, max_bytes: int) -> Response:
    parts = urlsplit(url)
    path = Path(unquote(parts.path) if parts.scheme == "file" else url)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise SourceError(source, f"{path} is {size_text(size, max_bytes)}, more than the {size_text(max_bytes)} limit")
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
    headers = {"User-Agent": opts.user_agent, "Accept-Encoding": "gzip, deflate", **opts.headers}
    if body is not None:
        headers.setdefault("Content-Type", "application/json;charset=UTF-8")
    if validators:
        if validators.get("etag"):
            headers["If-None-Match"] = validators["etag"]
        if validators.get("modified"):
            headers["If-Modified-Since"] = validators["modified"]
    own = client is None
    http = client or new_client(opts.timeout)
    end = time.monotonic() + opts.deadline
    token = _DEADLINE.set(end)
    what = f"{method} {url}"
    try:
        reason = ""
        for attempt in range(opts.retries + 1):
            try:
                return _attempt(http, method, url, headers, opts, json=json, data=data, body=body, end=end)
            except _Failure as failure:
                reason = failure.reason
                if not failure.retry:
                    sep = " " if reason.startswith("answered") else ": "
                    raise SourceError(source, f"{what}{sep}{reason}") from None
                retry_after = failure.retry_after
            if attempt < opts.retries:
                pause = _sleep_for(attempt, opts.backoff, retry_after)
                if time.monotonic() + pause >= end:
                    raise SourceError(
                        source,
                        f"{what} failed after {attempt + 1} attempt(s): {reason}; no time left for another within the {opts.deadline:g} s deadline",
                    )
                log.info("source %s: %s: %s; retry %d/%d in %.1f s", source, what, reason, attempt + 1, opts.retries, pause)
                time.sleep(pause)
        tries = f" after {opts.retries + 1} attempts" if opts.retries else ""
        raise SourceError(source, f"{what} failed{tries}: {reason}")
    finally:
        _DEADLINE.reset(token)
        if own:
            http.close()


def _attempt(
    http: httpx.Client,
    method: str,
    url: str,
    headers: Mapping[str, str],
    opts: HttpOptions,
    *,
    json: Any,
    data: Mapping[str, str] | None,
    body: bytes | None,
    end: float,
) -> Response:
    """One request; raises ``_Failure`` saying why and whether another attempt may help."""
    limit = size_text(opts.max_bytes)
    try:
        with http.stream(method, url, headers=headers, json=json, data=data, content=body) as resp:
            if resp.status_code in _RETRY_STATUS:
                raise _Failure(f"HTTP {resp.status_code}", retry=True, retry_after=resp.headers.get("retry-after"))
            if resp.status_code >= 400:
                raise _Failure(f"answered HTTP {resp.status_code}")
            declared = resp.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > opts.max_bytes:
                raise _Failure(f"body of {size_text(int(declared), opts.max_bytes)} is over the {limit} limit")
            encoding = resp.headers.get("content-encoding", "").strip().lower()
            decoder = None
            if encoding in ("gzip", "x-gzip", "deflate"):
                decoder = _Decoder(encoding)
            elif encoding not in ("", "identity"):
                raise _Failure(f"unsupported Content-Encoding {encoding!r}")
            chunks: list[bytes] = []
            size = received = 0
            for raw in resp.iter_raw():
                received += len(raw)
                if received > opts.max_bytes:
                    raise _Failure(f"body over the {limit} limit")
                if decoder is not None:
                    try:
                        raw = decoder.feed(raw, opts.max_bytes - size)
                    except zlib.error as exc:
                        raise _Failure(f"the body says Content-Encoding {encoding} but is not valid {encoding} ({exc})") from None
                size += len(raw)
                if size > opts.max_bytes:
                    raise _Failure(f"body over the {limit} limit once decompressed")
                chunks.append(raw)
                if time.monotonic() > end:
                    raise _Failure(f"no complete answer within the {opts.deadline:g} s deadline")
            if decoder is not None and received and not decoder.complete:  # a 304 has no body to end
                raise _Failure(f"response truncated: the {encoding} stream stops before its end ({received:,} bytes received)", retry=True)
            return Response(str(resp.url), resp.status_code, b"".join(chunks), resp.headers)
    except _Failure:
        raise
    except httpx.TimeoutException as exc:
        if time.monotonic() >= end - 0.05:
            raise _Failure(f"no complete answer within the {opts.deadline:g} s deadline") from None
        raise _Failure(f"timed out after {opts.timeout:g} s ({type(exc).__name__})", retry=True) from None
    except httpx.TooManyRedirects as exc:
        raise _Failure(f"too many redirects (more than {http.max_redirects}; the last to {exc.request.url})") from None
    except httpx.UnsupportedProtocol as exc:
        raise _Failure(f"unsupported URL scheme or redirect target ({exc})") from None
    except httpx.InvalidURL as exc:
        raise _Failure(f"invalid URL ({exc})") from None
    except httpx.RemoteProtocolError as exc:
        raise _Failure(f"connection closed early, response truncated ({exc})", retry=True) from None
    except httpx.LocalProtocolError as exc:
        raise _Failure(f"the request cannot be sent ({exc})") from None
    except httpx.TransportError as exc:
        raise _Failure(f"{type(exc).__name__}: {exc}", retry=True) from None
    except httpx.HTTPError as exc:  # DecodingError and whatever httpx adds
        raise _Failure(f"{type(exc).__name__}: {exc}") from None
    except (UnicodeError, ValueError, OSError, httpx.StreamError) as exc:  # e.g. a non-ASCII header value
        raise _Failure(f"{type(exc).__name__}: {exc}") from None

"""Stable identifiers, so that collecting the same post twice never duplicates it."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that never change what a page is.
_TRACKING = re.compile(r"^(utm_\w+|spm|from|share_?\w*|timestamp|_t|t|ts|isappinstalled|scene|clicktime)$", re.I)


def normalise_url(url: str) -> str:
    """Canonical form of a URL: lower-case scheme and host, no default port, no fragment,
    no tracking parameters, sorted query, no trailing slash on the path (except the root)."""
    url = url.strip()
    parts = urlsplit(url)
    scheme = (parts.scheme or "http").lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    netloc = host
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        netloc = f"{host}:{port}"
    path = re.sub(r"/{2,}", "/", parts.path or "/")
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k))
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


def content_hash(*parts: str) -> str:
    """Hash of text with white space removed, for sources that give neither id nor URL."""
    text = "\x1f".join(re.sub(r"\s+", "", p or "") for p in parts)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:20]


def post_id(source_id: str, *, native_id: str | None = None, url: str | None = None, text: tuple[str, ...] = ()) -> str:
    """``source:native`` when the source has its own id; else ``source:u<hash of normalised URL>``;
    else ``source:h<hash of the text>``."""
    if native_id is not None and str(native_id).strip():
        return f"{source_id}:{str(native_id).strip()}"
    if url:
        digest = hashlib.sha1(normalise_url(url).encode("utf-8")).hexdigest()[:20]
        return f"{source_id}:u{digest}"
    if any(text):
        return f"{source_id}:h{content_hash(*text)}"
    raise ValueError("a post needs a native id, a URL or some text to derive its id")

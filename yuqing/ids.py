"""Stable identifiers, so that collecting the same post twice never duplicates it.

A post id is ``<source id>:<key>`` where the key is, in order of preference:

- the source's own id (work-order number, thread id, GUID) when it is short and printable;
- ``u`` + hash of the normalised URL, for URL-like GUIDs and for items that only have a link
  (so ``?utm_source=rss`` and ``#comments`` never make a second post);
- ``n`` + hash of a native id that is too long or not printable to be a key;
- ``h`` + hash of the normalised text, for items with neither id nor link.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import unicodedata
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

# Query parameters that never change what a page is (analytics, share and cache-busting tags).
_TRACKING = re.compile(r"^(utm_\w+|spm|from|share_?\w*|timestamp|_t|t|ts|isappinstalled|scene|clicktime|wxshare_count|vd_source)$", re.I)
_URLISH = re.compile(r"^https?://", re.I)
# Characters left unescaped in a normalised path: RFC 3986 unreserved plus sub-delims, ':' and '@'.
_PATH_SAFE = "/:@!$&'()*+,;=~"
_MAX_NATIVE = 128


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def _normalise_path(path: str) -> str:
    # Decode then re-encode, so ``%7E``/``~`` and ``%e4``/``%E4`` spell the same path.
    path = quote(unquote(path), safe=_PATH_SAFE, errors="surrogatepass")
    path = re.sub(r"/{2,}", "/", path or "/")
    if not path.startswith("/"):
        path = "/" + path
    path = posixpath.normpath(path)  # resolves ``.`` and ``..``; also drops a trailing slash
    return "/" if path in ("", ".", "//") else path


def normalise_url(url: str) -> str:
    """Canonical form of a URL: lower-case scheme and host, no default port, no user info, no
    fragment, no tracking parameters, sorted query, resolved dot segments, one escaping of the
    path, no trailing slash (except the root). Never raises: an unparsable URL is only stripped.
    Idempotent: ``normalise_url(normalise_url(u)) == normalise_url(u)``."""
    url = url.strip()
    if url.startswith("//"):
        url = "http:" + url
    elif url and not url.startswith("/") and not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", url):
        url = "http://" + url  # a bare ``example.com/a``
    try:
        parts = urlsplit(url)
        scheme = (parts.scheme or "http").lower()
        netloc = parts.netloc.rpartition("@")[2].lower()
        host, _, port = netloc.partition(":") if not netloc.startswith("[") else (netloc, "", "")
        host = host.rstrip(".")
        if port and not ((scheme == "http" and port == "80") or (scheme == "https" and port == "443")):
            host = f"{host}:{port}"
        path = _normalise_path(parts.path)
        query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k))
        out = urlunsplit((scheme, host, path, urlencode(query, errors="surrogatepass"), ""))
    except (ValueError, UnicodeError):
        return url
    return out


def content_hash(*parts: str) -> str:
    """Hash of text with white space removed and width/case folded (NFKC), for sources that
    give neither id nor URL, and to spot the same text arriving under two ids."""
    text = "\x1f".join(re.sub(r"\s+", "", unicodedata.normalize("NFKC", p or "")).lower() for p in parts)
    return _digest(text)


def post_id(source_id: str, *, native_id: object = None, url: str | None = None, text: tuple[str, ...] = ()) -> str:
    """``source:native`` when the source has its own usable id; else ``source:u<hash of the
    normalised URL>``; else ``source:h<hash of the text>`` (see the module docstring)."""
    native = str(native_id).strip() if native_id is not None else ""
    if native:
        if _URLISH.match(native):
            return f"{source_id}:u{_digest(normalise_url(native))}"
        if len(native) > _MAX_NATIVE or not native.isprintable():
            return f"{source_id}:n{_digest(native)}"
        return f"{source_id}:{native}"
    if url and url.strip():
        return f"{source_id}:u{_digest(normalise_url(url))}"
    if any(t and t.strip() for t in text):
        return f"{source_id}:h{content_hash(*text)}"
    raise ValueError("a post needs a native id, a URL or some text to derive its id")

"""Links the ledger stores and shows: http(s) only.

A link is typed in by staff (公开链接, 佐证材料链接), comes from an API caller (原帖链接) or from a
collected post; any of them may be ``javascript:…`` or ``data:…``, which would run in the viewer's
session when clicked. So links are checked three times: on input (``HttpLink``, the one type every
URL field of ``ledger.schemas`` uses), when read from the database (``ledger.tables`` URL columns
drop what does not pass, so rows written before the check was in place cannot leak out), and by the
Content-Security-Policy of every page, which forbids script in links and inline script alike.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

SCHEMES = ("http", "https")
MAX_URL = 2000


def is_http_url(value: object) -> bool:
    """True for an absolute http(s) URL with a host and no whitespace or control characters."""
    if not isinstance(value, str) or not value or len(value) > MAX_URL:
        return False
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in SCHEMES and bool(parts.hostname)


def safe_url(value: object) -> str:
    """The URL if it is http(s), else "" (for output: a bad link is dropped, never rendered)."""
    return value if isinstance(value, str) and is_http_url(value) else ""


def safe_urls(values: object) -> list[str]:
    if not isinstance(values, list | tuple):
        return []
    return [v for v in values if is_http_url(v)]


def _check(value: str) -> str:
    if not is_http_url(value):
        shown = value if len(value) <= 80 else value[:80] + "…"
        raise PydanticCustomError("url_scheme", "只允许 http:// 或 https:// 开头的完整链接：{url}", {"url": shown})
    return value


def _check_or_empty(value: str) -> str:
    return value if value == "" else _check(value)


class LinkMarker:
    """Marks a field as a URL (``HttpLink``, ``OptionalLink``); tests enumerate URL fields by it."""


_URI = Field(max_length=MAX_URL, json_schema_extra={"format": "uri"})
HttpLink = Annotated[str, _URI, AfterValidator(_check), LinkMarker()]
"""An http(s) URL: the type of every URL field the ledger accepts."""
OptionalLink = Annotated[str, _URI, AfterValidator(_check_or_empty), LinkMarker()]
"""An http(s) URL or "" (no link)."""

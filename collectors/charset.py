"""Decode bytes from Chinese sites whose charset declarations cannot be trusted.

Government feeds and pages are often GBK/GB2312 declared as UTF-8, UTF-8 declared as GB2312,
GBK declared as ISO-8859-1, or declare nothing. The order below follows from two facts: text
that decodes as strict UTF-8 and contains multi-byte sequences is UTF-8 (GBK text almost never
is valid UTF-8), and GB18030 is a superset of GB2312 and GBK.

1. a charset set in the source's configuration, strictly;
2. a byte-order mark (UTF-32 before UTF-16: FF FE 00 00 is both); a BOM the content then
   contradicts is skipped and reported, and the declaration after it is still read;
3. UTF-16 or UTF-32 without a BOM, recognised by how ``<?xml`` / ``<`` is encoded, and EBCDIC
   XML (its declaration read in cp037 names the code page);
4. strict UTF-8;
5. the declared charset (HTTP header, then XML declaration or ``<meta charset>``), strictly,
   with GB2312/GBK read as GB18030 and single-byte Western charsets tried only after GB18030;
6. with no declaration: Japanese (kana in the EUC-JP or Shift_JIS reading) or Korean (Hangul
   words separated by spaces in the EUC-KR reading) when the evidence is clear, else strict
   GB18030, reported as a guess;
7. UTF-8 with replacement characters (reported as a problem).

``Decoded.problem`` says when the declaration was wrong, so it is logged once per fetch.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

_META = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_XML_DECL = re.compile(rb"""^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9_.:-]+)["']""", re.I)
_XML_DECL_TEXT = re.compile(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])([A-Za-z0-9_.:-]+)(["'])""", re.I)
_HEADER = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.I)
_GB = {"gb2312", "gbk", "x-gbk", "cp936", "ms936", "gb_2312-80", "euc-cn", "hz-gb-2312", "gb18030"}
_WESTERN = {"latin_1", "iso8859_1", "cp1252", "ascii", "iso8859_15"}


# UTF-32 first: its little-endian BOM starts with UTF-16's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# How "<" (the start of any XML or HTML document) looks in BOM-less UTF-32/UTF-16.
_WIDE = ((b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"), (b"\x00<\x00", "utf-16-be"), (b"<\x00", "utf-16-le"))
_EBCDIC_XML = b"\x4c\x6f\xa7\x94"
_KANA = re.compile(r"[\u3041-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_HANGUL_WORDS = re.compile(r"[\uac00-\ud7a3] [\uac00-\ud7a3]")


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    declared: str | None
    problem: str | None = None


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    low = name.strip().lower()
    if low in _GB:
        return "gb18030"
    try:
        return codecs.lookup(low).name
    except LookupError:
        return None


def declared_charset(data: bytes, content_type: str = "") -> str | None:
    """The charset the server or the document claims, as written (None when there is none)."""
    m = _HEADER.search(content_type or "")
    if m:
        return m.group(1)
    head = data[:4096]
    for bom, _enc in _BOMS:
        if head.startswith(bom):
            head = head[len(bom) :]
            break
    for pattern in (_XML_DECL, _META):
        found = pattern.search(head)
        if found:
            return found.group(1).decode("ascii", "replace")
    return None


def _try(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _utf8_cut_short(data: bytes) -> str | None:
    """UTF-8 whose only fault is a character cut in half at the very end (a truncated body)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data" and exc.start >= len(data) - 3:
            return data[: exc.start].decode("utf-8")
    return None


def _non_ascii(text: str) -> int:
    return sum(1 for c in text if ord(c) > 127)


def _east_asian(data: bytes) -> tuple[str, str] | None:
    """(codec, language) when undeclared non-UTF-8 bytes are clearly Japanese or Korean.

    Chinese never uses kana, and Korean separates words with spaces while Chinese does not, so
    these tests do not fire on GBK Chinese (which the EUC-KR and Shift_JIS codecs also accept)."""
    for enc in ("euc_jp", "cp932"):
        text = _try(data, enc)
        if text is not None:
            kana = len(_KANA.findall(text))
            if kana >= 5 and kana >= 0.1 * _non_ascii(text):
                return enc, "Japanese"
    text = _try(data, "cp949")
    if text is not None:
        hangul = len(_HANGUL.findall(text))
        if hangul >= 5 and hangul >= 0.5 * _non_ascii(text) and len(_HANGUL_WORDS.findall(text)) >= 0.08 * hangul:
            return "cp949", "Korean"
    return None


def decode(data: bytes, *, content_type: str = "", encoding: str | None = None) -> Decoded:
    declared = declared_charset(data, content_type)
    if encoding:
        text = _try(data, _codec(encoding) or encoding)
        if text is not None:
            return Decoded(text, encoding, declared)
    bom_problem = None
    for bom, enc in _BOMS:
        if data.startswith(bom):
            text = _try(data, enc)
            if text is not None and "\x00" not in text[:64]:
                return Decoded(text.lstrip("\ufeff"), enc, declared)
            # A BOM the content contradicts (a UTF-8 BOM before a GBK document): read what follows.
            bom_problem = f"a {enc.replace('-sig', '').upper()} byte-order mark, but the content is not {enc.replace('-sig', '').upper()}"
            data = data[len(bom) :]
            break
    if bom_problem is None and data.startswith(_EBCDIC_XML):
        # "<?xm" in EBCDIC: the declaration names the code page (cp037, cp500 ...).
        found = _XML_DECL_TEXT.match(data[:200].decode("cp037"))
        enc = _codec(found.group(2) if found else "cp037") or "cp037"
        text = _try(data, enc)
        if text is not None:
            return Decoded(text, enc, found.group(2) if found else None)
    if bom_problem is None:
        for start, enc in _WIDE:
            if data.startswith(start):
                text = _try(data, enc)
                if text is not None:
                    return Decoded(text, enc, declared)
    decoded = _decode_rest(data, declared)
    if bom_problem:
        problem = f"{bom_problem}: decoded as {decoded.encoding.upper()}"
        if declared:
            problem += f" (declared {declared!r})"
        if decoded.problem:
            problem += f"; {decoded.problem}"
        return Decoded(decoded.text, decoded.encoding, declared, problem)
    return decoded


def _decode_rest(data: bytes, declared: str | None) -> Decoded:
    codec = _codec(declared)
    wrong = f"declared charset {declared!r} is wrong" if declared else "no charset declared"
    text = _try(data, "utf-8")
    if text is None:
        text = _utf8_cut_short(data)
    if text is not None:
        claims_other = codec not in (None, "utf-8") and not data.isascii()
        return Decoded(text, "utf-8", declared, f"{wrong}: the content is UTF-8" if claims_other else None)
    order: list[str] = []
    if codec and codec not in _WESTERN and codec != "utf-8":
        order.append(codec)
    if codec is None:
        guess = _east_asian(data)
        if guess is not None:
            enc, language = guess
            text = _try(data, enc)
            if text is not None:
                return Decoded(text, enc, declared, f"{wrong}: {language} text detected, decoded as {enc.upper()}")
    order.append("gb18030")
    if codec in _WESTERN:
        order.append(codec)
    for enc in order:
        text = _try(data, enc)
        if text is not None:
            ok = enc == codec
            hint = "" if declared else " (a guess: set the source's encoding if the text looks wrong)"
            return Decoded(text, enc, declared, None if ok else f"{wrong}: decoded as {enc.upper()}{hint}")
    return Decoded(
        data.decode("utf-8", errors="replace"),
        "utf-8",
        declared,
        f"{wrong} and the bytes are neither UTF-8 nor GB18030: undecodable bytes replaced",
    )


def as_utf8_xml(decoded: Decoded) -> bytes:
    """The document re-encoded as UTF-8 with its XML declaration saying so, for feedparser
    (which would otherwise trust the wrong declaration again)."""
    text = decoded.text.lstrip("\ufeff")
    text = _XML_DECL_TEXT.sub(lambda m: f"{m.group(1)}utf-8{m.group(3)}", text, count=1)
    return text.encode("utf-8")

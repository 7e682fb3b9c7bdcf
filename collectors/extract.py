"""Text out of HTML: feed summaries, board fields and the main text of an article page.

``main_text`` is a small readability-style heuristic for government article pages (text in
``<p>`` runs or ``<br>``-separated blocks inside one container, surrounded by menus, share bars
and footers): every element is scored by the length of the text it holds directly, its parent
gets most of that score, and the best-scoring element after boilerplate is removed wins. A CSS
selector from the source's configuration overrides the heuristic when a site needs it.
"""

from __future__ import annotations

import html as htmllib
import re

import lxml.etree
import lxml.html
from lxml.cssselect import CSSSelector

_BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "table", "ul", "ol", "blockquote", "pre"}
_DROP_TAGS = ("script", "style", "noscript", "iframe", "nav", "header", "footer", "aside", "form", "select", "button", "svg", "template")
_BOILER = re.compile(
    r"nav|menu|footer|header|sidebar|comment|share|breadcrumb|crumb|copyright|toolbar|banner|related|recommend|login", re.I
)
_SPACE = re.compile(r"[ \t\r\f\v\u00a0\u3000]+")
_MARKUP = re.compile(r"[<&]")
# A complete tag or comment: "<p>", "</div>", "<br/>", '<a href="x">', "<!-- -->". Text with a "<"
# but no such tag ("a<b 比较", "学习<民法典>心得") is plain text, not HTML.
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>|<!--")


def parse(markup: str) -> lxml.html.HtmlElement | None:
    """Parse an HTML document or fragment; None when there is nothing to parse."""
    markup = re.sub(r"^\s*<\?xml[^>]*>", "", markup.lstrip("\ufeff"))
    if not markup.strip():
        return None
    try:
        return lxml.html.document_fromstring(markup)
    except (lxml.etree.ParserError, ValueError):
        return None


def _tidy(text: str) -> str:
    lines = (_SPACE.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def element_text(el: lxml.html.HtmlElement) -> str:
    """Text of an element with line breaks at block boundaries."""
    parts: list[str] = []

    def walk(node: lxml.html.HtmlElement) -> None:
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag in ("script", "style"):
            if node.tail:
                parts.append(node.tail)
            return
        if tag in _BLOCK:
            parts.append("\n")
        if isinstance(node.tag, str) and node.text:
            parts.append(node.text)
        for child in node:
            walk(child)
        if tag in _BLOCK:
            parts.append("\n")
        if node.tail:
            parts.append(node.tail)

    walk(el)
    # The element's own tail belongs to its parent.
    if el.tail and parts and parts[-1] == el.tail:
        parts.pop()
    return _tidy("".join(parts))


def plain_text(text: str | None) -> str:
    """Text that is already plain (a feed's ``text/plain`` title): white space tidied, nothing
    else touched, so "a<b" and "&" stay as they are."""
    return _tidy(text) if text else ""


def html_to_text(fragment: str | None) -> str:
    """A summary or field that may hold HTML (or entities) as plain text."""
    if not fragment:
        return ""
    if not _MARKUP.search(fragment):
        return _tidy(fragment)
    if "<" not in fragment or not _TAG.search(fragment):
        return _tidy(htmllib.unescape(fragment))
    doc = parse(f"<div>{fragment}</div>")
    if doc is None:
        return ""
    body = doc.find("body")
    return element_text(body if body is not None else doc)


def _drop_boilerplate(doc: lxml.html.HtmlElement) -> None:
    for el in list(doc.iter(*_DROP_TAGS)):
        el.drop_tree()
    for el in list(doc.iter()):
        if not isinstance(el.tag, str) or el.tag in ("html", "body"):
            continue
        marker = f"{el.get('class', '')} {el.get('id', '')}"
        if marker.strip() and _BOILER.search(marker) and el.getparent() is not None:
            el.drop_tree()


def main_text(markup: str, selector: str | None = None) -> str:
    """The main text of an article page (see the module docstring); "" when none is found."""
    doc = parse(markup)
    if doc is None:
        return ""
    if selector:
        return "\n".join(t for t in (element_text(n) for n in CSSSelector(selector)(doc)) if t)
    _drop_boilerplate(doc)
    scores: dict[lxml.html.HtmlElement, float] = {}
    for el in doc.iter():
        if not isinstance(el.tag, str) or el.tag in ("a", "html", "head", "title"):
            continue
        own = (el.text or "") + "".join(c.tail or "" for c in el)
        n = len(re.sub(r"\s+", "", own))
        if n < 10:
            continue
        scores[el] = scores.get(el, 0.0) + n
        parent = el.getparent()
        if parent is not None and el.tag not in ("div", "td", "article", "section"):
            scores[parent] = scores.get(parent, 0.0) + n * 0.75
    if not scores:
        body = doc.find("body")
        return element_text(body) if body is not None else ""
    best = max(scores, key=lambda e: scores[e])
    return element_text(best)

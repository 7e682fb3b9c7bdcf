"""Keyword expressions, in the syntax Chinese 舆情 monitoring tools use.

An expression is one or more *groups* separated by blank lines; it matches when **any** group
matches. A group is a list of terms separated by white space (a single line break counts as
white space), ``,`` ``，`` ``、`` or ``|``::

    欠薪 讨薪 拖欠工资 +农民工 !已解决     <- group 1
                                           <- blank line: a new group
    /拖欠.{0,6}(工资|工钱)/ !/测试/        <- group 2

Terms:

- ``word``       optional: the group needs **at least one** of its plain terms (if it has any);
- ``+word``      must appear;
- ``!word``      must not appear;
- ``/regex/``    a Python regular expression instead of a word; ``+/re/`` and ``!/re/`` work too,
                 ``\\/`` is a literal slash inside it;
- ``"a phrase"`` a word that contains spaces or separators.

A group with only ``!`` terms matches every text that contains none of them. Matching is done on
the post's title and content joined by a line break, after Unicode NFKC normalisation (so
full-width ``ＡＢＣ１２３`` equals ``ABC123`` and ``＋`` ``！`` work as operators), case-insensitively,
as substrings: Chinese has no spaces, so a word matches wherever its characters appear in order,
not only where the tokenizer happened to cut. A blank expression matches everything.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

Mode = Literal["any", "must", "not"]

_SEPARATORS = set(" \t\r\n,、|\u3000")
_BLANK_LINE = re.compile(r"\n[ \t\u3000]*\n")


class KeywordSyntaxError(ValueError):
    """The message names the group and the term (1-based) and says what is wrong."""


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


@dataclass(frozen=True)
class Term:
    mode: Mode
    text: str  # the word (normalised) or the regex source
    regex: re.Pattern[str] | None = None

    def found(self, haystack: str) -> bool:
        if self.regex is not None:
            return self.regex.search(haystack) is not None
        return self.text in haystack

    def __str__(self) -> str:
        prefix = {"any": "", "must": "+", "not": "!"}[self.mode]
        body = f"/{self.text}/" if self.regex is not None else self.text
        return prefix + body


@dataclass(frozen=True)
class Group:
    terms: tuple[Term, ...]

    def matches(self, haystack: str) -> bool:
        optional = False
        hit_optional = False
        for t in self.terms:
            found = t.found(haystack)
            if t.mode == "must" and not found:
                return False
            if t.mode == "not" and found:
                return False
            if t.mode == "any":
                optional = True
                hit_optional = hit_optional or found
        return hit_optional or not optional

    def matched_terms(self, haystack: str) -> list[str]:
        return [t.text for t in self.terms if t.mode != "not" and t.found(haystack)]


@dataclass(frozen=True)
class KeywordExpression:
    source: str
    groups: tuple[Group, ...]

    def matches(self, title: str, content: str = "") -> bool:
        return self.matches_text(normalise(f"{title}\n{content}"))

    def matches_text(self, haystack: str) -> bool:
        """``haystack`` must already be ``normalise``-d."""
        return not self.groups or any(g.matches(haystack) for g in self.groups)

    def matched_terms(self, haystack: str) -> list[str]:
        """Words and patterns that made the expression match (for the alert's reasons)."""
        out: list[str] = []
        for g in self.groups:
            if g.matches(haystack):
                out += [t for t in g.matched_terms(haystack) if t not in out]
        return out


def parse(expression: str) -> KeywordExpression:
    text = unicodedata.normalize("NFKC", expression).replace("\r\n", "\n")
    groups: list[Group] = []
    for gi, chunk in enumerate(_BLANK_LINE.split(text), start=1):
        terms = _parse_group(chunk, gi)
        if terms:
            groups.append(Group(tuple(terms)))
    return KeywordExpression(expression, tuple(groups))


def _parse_group(chunk: str, gi: int) -> list[Term]:
    terms: list[Term] = []
    i, n = 0, len(chunk)
    while i < n:
        if chunk[i] in _SEPARATORS:
            i += 1
            continue
        ti = len(terms) + 1
        mode: Mode = "any"
        if chunk[i] in "+!":
            mode = "must" if chunk[i] == "+" else "not"
            i += 1
            if i >= n or chunk[i] in _SEPARATORS:
                raise KeywordSyntaxError(f'group {gi}, term {ti}: {chunk[i - 1]!r} must be followed by a word, /regex/ or "phrase"')
        if chunk[i] == "/":
            j, buf = i + 1, []
            while j < n and chunk[j] != "/":
                if chunk[j] == "\\" and j + 1 < n and chunk[j + 1] == "/":
                    buf.append("/")
                    j += 2
                    continue
                buf.append(chunk[j])
                j += 1
            if j >= n:
                raise KeywordSyntaxError(f"group {gi}, term {ti}: regular expression /{''.join(buf)} has no closing '/'")
            src = "".join(buf)
            if not src:
                raise KeywordSyntaxError(f"group {gi}, term {ti}: empty regular expression //")
            try:
                rx = re.compile(src, re.IGNORECASE)
            except re.error as exc:
                raise KeywordSyntaxError(f"group {gi}, term {ti}: invalid regular expression /{src}/: {exc}") from exc
            terms.append(Term(mode, src, rx))
            i = j + 1
        elif chunk[i] == '"':
            j = chunk.find('"', i + 1)
            if j < 0:
                raise KeywordSyntaxError(f"group {gi}, term {ti}: phrase {chunk[i:]!r} has no closing '\"'")
            word = normalise(chunk[i + 1 : j])
            if not word.strip():
                raise KeywordSyntaxError(f'group {gi}, term {ti}: empty phrase ""')
            terms.append(Term(mode, word))
            i = j + 1
        else:
            j = i
            while j < n and chunk[j] not in _SEPARATORS:
                j += 1
            terms.append(Term(mode, normalise(chunk[i:j])))
            i = j
    return terms

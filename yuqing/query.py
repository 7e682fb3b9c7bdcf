"""Query expressions (used by schemes): the alert keyword syntax (``alerts.keywords``) plus parentheses and 与/或/非.

An expression is one or more *groups* separated by blank lines; it matches when **any** group
matches. A group is a list of items separated by white space, ``,`` ``，`` ``、`` or ``|``:

- ``word``       optional: the group needs **at least one** of its optional items (if it has any);
- ``+item``      must match;   ``与 item`` is the same;
- ``!item``      must not match;   ``非 item`` is the same;
- ``或 item``    optional, like a bare item (``A 或 B`` reads as it sounds);
- ``/regex/``    a regular expression (``\\/`` is a literal slash);
- ``"a phrase"`` a word containing spaces or separators (or an operator word: ``"非"``);
- ``( ... )``    a nested expression (it may itself hold blank-line groups).

So ``(欠薪 讨薪) 与 农民工 非 已解决`` is "欠薪 or 讨薪, and 农民工, and not 已解决". 与/非 bind
one item, as ``+``/``!`` do: write parentheses when mixing them (``A 与 B 或 C`` is
``B and (A or C)``). Every plain ``alerts.keywords`` expression means the same here (a test checks it).

Matching: on ``normalise``-d text (NFKC, lower case), words as substrings (Chinese has no
spaces). Regexes are guarded twice: the pattern must be at most ``MAX_REGEX`` characters and may
not nest quantifiers (``(a+)+``, ``(x*)*``: the catastrophic-backtracking shape) — refused at parse
time — and every search runs in the ``regex`` module with a ``REGEX_TIMEOUT`` second timeout; a
search that times out counts as "not found" and is counted in ``regex_timeouts``.

``parse`` raises ``QuerySyntaxError`` whose ``line``/``column`` (1-based) point into the source;
``to_text`` prints an expression back so that ``parse(to_text(x)) == x``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import regex

Mode = Literal["any", "must", "not"]
MAX_REGEX = 200
MAX_EXPRESSION = 20_000
MAX_DEPTH = 20
REGEX_TIMEOUT = 0.05  # seconds per search

_SEPARATORS = frozenset(" \t\r\n,、|\u3000")
_OPERATOR_WORDS: dict[str, Mode] = {"与": "must", "或": "any", "非": "not"}
_SPECIAL_START = frozenset('+!/"()')
regex_timeouts = 0


class QuerySyntaxError(ValueError):
    """``str()`` reads ``line L, column C: what is wrong``."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"line {line}, column {column}: {message}")
        self.reason = message
        self.line = line
        self.column = column


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


@dataclass(frozen=True)
class Word:
    text: str  # normalised, non-empty, no '"'


@dataclass(frozen=True)
class Regex:
    source: str

    @property
    def compiled(self) -> Any:
        return _compile(self.source)


@dataclass(frozen=True)
class Item:
    mode: Mode
    atom: Word | Regex | Expr


@dataclass(frozen=True)
class Group:
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Expr:
    groups: tuple[Group, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.groups

    def matches(self, title: str, content: str = "") -> bool:
        return self.matches_text(normalise(f"{title}\n{content}"))

    def matches_text(self, haystack: str) -> bool:
        """``haystack`` must already be ``normalise``-d."""
        return evaluate(self, lambda w: w.text in haystack, haystack)

    def words(self) -> list[Word]:
        out: list[Word] = []
        _collect(self, out, [])
        return out

    def regexes(self) -> list[Regex]:
        out: list[Regex] = []
        _collect(self, [], out)
        return out

    def __str__(self) -> str:
        return to_text(self)


def _collect(e: Expr, words: list[Word], regexes: list[Regex]) -> None:
    for g in e.groups:
        for it in g.items:
            if isinstance(it.atom, Word):
                words.append(it.atom)
            elif isinstance(it.atom, Regex):
                regexes.append(it.atom)
            else:
                _collect(it.atom, words, regexes)


def regex_found(rx: Regex, haystack: str) -> bool:
    global regex_timeouts
    try:
        return rx.compiled.search(haystack, timeout=REGEX_TIMEOUT) is not None
    except TimeoutError:
        regex_timeouts += 1
        return False


def _groups_match(e: Expr, atom: Callable[[Word | Regex | Expr, Mode], bool]) -> bool:
    """The group semantics every evaluation shares: the expression holds when some group holds;
    a group holds when its ``+must`` items are found, its ``!not`` items are not, and (if it has
    any) one of its plain items is found. An empty expression holds."""
    if not e.groups:
        return True
    for g in e.groups:
        optional = hit = False
        ok = True
        for it in g.items:
            found = atom(it.atom, it.mode)
            if (it.mode == "must" and not found) or (it.mode == "not" and found):
                ok = False
                break
            if it.mode == "any":
                optional = True
                hit = hit or found
        if ok and (hit or not optional):
            return True
    return False


def evaluate(e: Expr, word_found: Callable[[Word], bool], haystack: str) -> bool:
    """Evaluate with a word oracle (substring test, or a set filled by Aho-Corasick)."""

    def atom(a: Word | Regex | Expr, mode: Mode) -> bool:
        if isinstance(a, Word):
            return word_found(a)
        if isinstance(a, Regex):
            return regex_found(a, haystack)
        return evaluate(a, word_found, haystack)

    return _groups_match(e, atom)


# -- printing ---------------------------------------------------------------------------------


def _word_text(w: Word) -> str:
    t = w.text
    if any(c in _SEPARATORS for c in t) or t[0] in _SPECIAL_START or t in _OPERATOR_WORDS or any(c in "()" for c in t):
        return f'"{t}"'
    return t


def to_text(e: Expr) -> str:
    return "\n\n".join(" ".join(_item_text(it) for it in g.items) for g in e.groups)


def _item_text(it: Item) -> str:
    prefix = {"any": "", "must": "+", "not": "!"}[it.mode]
    a = it.atom
    if isinstance(a, Word):
        body = _word_text(a)
    elif isinstance(a, Regex):
        body = "/" + _regex_body(a.source) + "/"
    else:
        body = "(" + to_text(a) + ")"
    return prefix + body


def _regex_body(src: str) -> str:
    out, i = [], 0
    while i < len(src):
        if src[i] == "\\" and i + 1 < len(src):
            out.append(src[i : i + 2])
            i += 2
            continue
        out.append("\\/" if src[i] == "/" else src[i])
        i += 1
    return "".join(out)


# -- parsing ----------------------------------------------------------------------------------


def parse(source: str) -> Expr:
    if len(source) > MAX_EXPRESSION:
        raise QuerySyntaxError(f"expression is {len(source)} characters long; at most {MAX_EXPRESSION}", 1, 1)
    return _Parser(source).parse()


class _Parser:
    def __init__(self, source: str) -> None:
        # NFKC one character at a time, remembering where each normalised character came from,
        # so that errors point at the column the user typed (full-width ＋ ！ （ ） work too).
        chars: list[str] = []
        origin: list[int] = []
        for i, ch in enumerate(source.replace("\r\n", "\n").replace("\r", "\n")):
            for n in unicodedata.normalize("NFKC", ch):
                chars.append(n)
                origin.append(i)
        self.raw = source.replace("\r\n", "\n").replace("\r", "\n")
        self.s = "".join(chars)
        self.origin = origin
        self.i = 0
        self.depth = 0
        self.open_at = 0

    def error(self, message: str, at: int | None = None) -> QuerySyntaxError:
        pos = self.i if at is None else at
        raw_pos = self.origin[pos] if pos < len(self.origin) else len(self.raw)
        before = self.raw[:raw_pos]
        line = before.count("\n") + 1
        column = raw_pos - (before.rfind("\n") + 1) + 1
        return QuerySyntaxError(message, line, column)

    def parse(self) -> Expr:
        e = self.expr(top=True)
        return e

    def _skip(self) -> bool:
        """Skip separators; True when they contained a blank line (a new group)."""
        newlines = 0
        blank = False
        while self.i < len(self.s) and self.s[self.i] in _SEPARATORS:
            c = self.s[self.i]
            if c == "\n":
                newlines += 1
                if newlines >= 2:
                    blank = True
            elif c not in " \t\u3000":
                newlines = 0
            self.i += 1
        return blank

    def expr(self, top: bool) -> Expr:
        groups: list[Group] = []
        items: list[Item] = []
        while True:
            if self._skip() and items:
                groups.append(Group(tuple(items)))
                items = []
            if self.i >= len(self.s):
                if not top:
                    raise self.error("'(' has no closing ')'", self.open_at)
                break
            if self.s[self.i] == ")":
                if top:
                    raise self.error("')' without a matching '('")
                break
            items.append(self.item())
        if items:
            groups.append(Group(tuple(items)))
        return Expr(tuple(groups))

    def _operator_word(self) -> Mode | None:
        c = self.s[self.i]
        if c in _OPERATOR_WORDS:
            nxt = self.s[self.i + 1] if self.i + 1 < len(self.s) else " "
            if nxt in _SEPARATORS or nxt in '("/+!':
                return _OPERATOR_WORDS[c]
        return None

    def item(self) -> Item:
        start = self.i
        mode: Mode = "any"
        c = self.s[self.i]
        op = self._operator_word()
        if c in "+!" or op is not None:
            mode = op if op is not None else ("must" if c == "+" else "not")
            self.i += 1
            if op is not None:
                self._skip_spaces()
            if self.i >= len(self.s) or self.s[self.i] in _SEPARATORS or self.s[self.i] == ")":
                raise self.error(f'{c!r} must be followed by a word, /regex/, "phrase" or (...)', start)
            if self.s[self.i] in "+!" or self._operator_word() is not None:
                raise self.error(f"{c!r} followed by another operator", self.i)
        return Item(mode, self.atom())

    def _skip_spaces(self) -> None:
        while self.i < len(self.s) and self.s[self.i] in " \t\u3000":
            self.i += 1

    def atom(self) -> Word | Regex | Expr:
        s, start = self.s, self.i
        c = s[start]
        if c == "(":
            if self.depth >= MAX_DEPTH:
                raise self.error(f"parentheses nested deeper than {MAX_DEPTH}")
            self.depth += 1
            outer, self.open_at = self.open_at, start
            self.i += 1
            inner = self.expr(top=False)
            self.i += 1  # the ')'
            self.depth -= 1
            self.open_at = outer
            if inner.empty:
                raise self.error("empty parentheses ()", start)
            return inner
        if c == "/":
            j, buf = start + 1, []
            while j < len(s) and s[j] != "/":
                if s[j] == "\\" and j + 1 < len(s):
                    buf.append("/" if s[j + 1] == "/" else s[j : j + 2])  # '\/' is a slash; other escapes stay
                    j += 2
                    continue
                buf.append(s[j])
                j += 1
            if j >= len(s):
                raise self.error("regular expression has no closing '/'", start)
            src = "".join(buf)
            problem = check_regex(src)
            if problem:
                raise self.error(problem, start)
            self.i = j + 1
            return Regex(src)
        if c == '"':
            j = s.find('"', start + 1)
            if j < 0:
                raise self.error("phrase has no closing '\"'", start)
            word = normalise(s[start + 1 : j])
            if not word.strip():
                raise self.error('empty phrase ""', start)
            self.i = j + 1
            return Word(word)
        j = start
        while j < len(s) and s[j] not in _SEPARATORS and s[j] not in "()":
            j += 1
        self.i = j
        return Word(normalise(s[start:j]))


def check_regex(src: str) -> str | None:
    """Why ``src`` is refused as a scheme regex, or None."""
    if not src:
        return "empty regular expression //"
    if len(src) > MAX_REGEX:
        return f"regular expression is {len(src)} characters long; at most {MAX_REGEX}"
    try:
        tree = re._parser.parse(src)  # type: ignore[attr-defined]
    except re.error as exc:
        return f"invalid regular expression /{src}/: {exc}"
    if _nested_repeat(list(tree), False):
        return f"regular expression /{src}/ repeats a repeated part (like (a+)+): it can take exponential time; rewrite it"
    try:
        _compile(src)
    except regex.error as exc:
        return f"invalid regular expression /{src}/: {exc}"
    return None


_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}


def _nested_repeat(items: list[Any], inside: bool) -> bool:
    for op, av in items:
        name = str(op)
        if name in _REPEATS:
            _lo, hi, sub = av
            unbounded = hi > 1
            if inside and unbounded:
                return True
            if _nested_repeat(list(sub), inside or unbounded):
                return True
        elif name == "SUBPATTERN":
            if _nested_repeat(list(av[-1]), inside):
                return True
        elif name == "BRANCH":
            for branch in av[1]:
                if _nested_repeat(list(branch), inside):
                    return True
        elif name in {"ASSERT", "ASSERT_NOT"}:
            if _nested_repeat(list(av[1]), inside):
                return True
        elif name == "ATOMIC_GROUP" and _nested_repeat(list(av), inside):
            return True
    return False


@lru_cache(maxsize=4096)
def _compile(src: str) -> Any:
    return regex.compile(src, regex.IGNORECASE | regex.VERSION0)


def term_evaluate(e: Expr, terms_of: Callable[[str], list[str]], has_term: Callable[[str], bool]) -> bool:
    """The semantics the stores give ``Query.expr`` (the reference their contract test uses):
    a word is present when all its query terms are index terms of the post (none: absent); a
    regex "may match": true where it is required or optional, ignored where it is excluded."""

    def atom(a: Word | Regex | Expr, mode: Mode) -> bool:
        if isinstance(a, Word):
            ts = terms_of(a.text)
            return bool(ts) and all(has_term(t) for t in ts)
        if isinstance(a, Regex):
            return mode != "not"
        return term_evaluate(a, terms_of, has_term)

    return _groups_match(e, atom)

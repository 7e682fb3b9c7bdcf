"""Match many schemes against one post at once.

Every word of every active scheme goes into one Aho-Corasick automaton (pyahocorasick); one pass
over the post's normalised text finds all of them. A scheme is only evaluated when it *can*
match: each expression has a trigger set — words at least one of which must be present for it to
match (from its ``+`` items, or from all its optional items) — and an index from word to schemes
yields the candidates. Schemes that cannot be reduced to a trigger set (a group of only ``!``
items, or a regex without a required word) are evaluated for every post.

Evaluation uses the set of found words instead of substring tests, so the result is exactly
``Expr.matches_text`` (tests and ``bench/schemes`` compare the two).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import ahocorasick

from yuqing.events import PostClassified
from yuqing.query import Expr, Regex, Word, normalise, regex_found


@dataclass(frozen=True)
class Compiled:
    """What the matcher needs of a scheme: a name, an include expression, exclude words."""

    name: str
    include: Expr
    exclude: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()  # post.region is under one of these paths; empty: any
    sources: tuple[str, ...] = ()  # post.source.id; empty: any
    topics: tuple[str, ...] = ()  # post.topic; empty: any

    def admits(self, post: PostClassified) -> bool:
        """The non-text filters."""
        if self.sources and post.source.id not in self.sources:
            return False
        if self.topics and post.topic not in self.topics:
            return False
        region = post.region or ""
        return not self.regions or any(region == r.strip("/") or region.startswith(r.strip("/") + "/") for r in self.regions)


def triggers(e: Expr) -> set[str] | None:
    """Words one of which must be in a text for ``e`` to match; None when no such set exists."""
    if e.empty:
        return None
    out: set[str] = set()
    for g in e.groups:
        best: set[str] | None = None
        optional: set[str] | None = set()
        for it in g.items:
            if it.mode == "not":
                continue
            t = _atom_triggers(it.atom)
            if it.mode == "must":
                if t is not None and (best is None or len(t) < len(best)):
                    best = t
            elif optional is not None:
                optional = None if t is None else optional | t
        if best is None:
            has_optional = any(it.mode == "any" for it in g.items)
            if not has_optional or optional is None:
                return None
            best = optional
        out |= best
    return out


def _atom_triggers(a: Word | Regex | Expr) -> set[str] | None:
    if isinstance(a, Word):
        return {a.text}
    if isinstance(a, Regex):
        return None
    return triggers(a)


# A compiled expression: a tuple of groups, each (must, not, optional) tuples of atoms, an atom
# being a word id (int), a Regex, or a nested compiled expression.


def _compile(e: Expr, wid: Callable[[str], int]) -> tuple[Any, ...]:
    groups = []
    for g in e.groups:
        parts: dict[str, list[Any]] = {"must": [], "not": [], "any": []}
        for it in g.items:
            a = it.atom
            parts[it.mode].append(wid(a.text) if isinstance(a, Word) else a if isinstance(a, Regex) else _compile(a, wid))
        groups.append((tuple(parts["must"]), tuple(parts["not"]), tuple(parts["any"])))
    return tuple(groups)


def _found(a: Any, found: set[int], haystack: str) -> bool:
    if a.__class__ is int:
        return a in found
    if isinstance(a, Regex):
        return regex_found(a, haystack)
    return _run(a, found, haystack)


def _run(c: tuple[Any, ...], found: set[int], haystack: str) -> bool:
    """``evaluate`` over a compiled expression, with word ids looked up in ``found``."""
    if not c:
        return True
    for must, nots, optional in c:
        if (
            all(_found(a, found, haystack) for a in must)
            and not any(_found(a, found, haystack) for a in nots)
            and (not optional or any(_found(a, found, haystack) for a in optional))
        ):
            return True
    return False


class Matcher:
    def __init__(self, schemes: Sequence[Compiled]) -> None:
        self.schemes = list(schemes)
        self._automaton = ahocorasick.Automaton()
        words: dict[str, int] = {}

        def wid(w: str) -> int:
            if w not in words:
                words[w] = len(words)
                self._automaton.add_word(w, words[w])
            return words[w]

        self._word_ids: dict[str, int] = words
        self._by_word: dict[int, list[int]] = {}
        self._always: list[int] = []
        self._exclude: list[tuple[int, ...]] = []
        self._compiled: list[tuple[Any, ...]] = []
        for si, s in enumerate(self.schemes):
            self._compiled.append(_compile(s.include, wid))
            self._exclude.append(tuple(wid(normalise(x)) for x in s.exclude if x.strip()))
            t = triggers(s.include)
            if t is None:
                self._always.append(si)
            else:
                for w in t:
                    self._by_word.setdefault(wid(w), []).append(si)
        if words:
            self._automaton.make_automaton()

    def match(self, title: str, content: str = "") -> list[str]:
        return self.match_text(normalise(f"{title}\n{content}"))

    def match_post(self, post: PostClassified) -> list[str]:
        """Names of the schemes ``post`` belongs to (text and filters), in scheme order."""
        names = self.match_text(normalise(f"{post.title}\n{post.content}"), post)
        return names

    def match_text(self, haystack: str, post: PostClassified | None = None) -> list[str]:
        """Names of the schemes whose include matches and none of whose exclude words occur."""
        found: set[int] = set()
        if self._word_ids:
            found = {v for _end, v in self._automaton.iter(haystack)}
        candidates: set[int] = set(self._always)
        for w in found:
            c = self._by_word.get(w)
            if c:
                candidates.update(c)
        out: list[str] = []
        for si in sorted(candidates):
            if any(x in found for x in self._exclude[si]):
                continue
            s = self.schemes[si]
            if post is not None and not s.admits(post):
                continue
            if _run(self._compiled[si], found, haystack):
                out.append(s.name)
        return out


def naive_match(schemes: Iterable[Compiled], haystack: str) -> list[str]:
    """The reference (and benchmark baseline): every scheme, one after another, by substring."""
    return [
        s.name for s in schemes if not any(normalise(x) in haystack for x in s.exclude if x.strip()) and s.include.matches_text(haystack)
    ]

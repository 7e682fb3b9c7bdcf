"""The one tokenisation of yuqing.

Every analyser and both stores use ``tokenize``: jieba's dictionary and algorithm, run by
``rjieba`` (the jieba-rs binding) because Python jieba is ~15x slower on real posts
(see bench/classify), with the domain user dictionary ``processors/userdict.txt``.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import rjieba

USERDICT = Path(__file__).resolve().parent.parent / "processors" / "userdict.txt"
_WORD = re.compile(r"\w", re.UNICODE)
_lock = threading.Lock()


_built: list[rjieba.Jieba] = []  # the tokeniser, once built


def _jieba() -> rjieba.Jieba:
    """The tokeniser with the user dictionary, built once. Not ``lru_cache``: two threads asking at
    the first search both ran the body, and the second's ``add_word`` (a mutable borrow in
    rjieba) met the first's ``cut`` on the same shared tokeniser: "RuntimeError: Already
    borrowed", a 500 (bench.web, 检索 on a fresh worker)."""
    if _built:
        return _built[0]
    with _lock:
        if _built:
            return _built[0]
        # rjieba builds a default tokeniser when imported (``rjieba.cut`` is its method): take that
        # one instead of loading the dictionary a second time (~0.1 s at every start).
        default = getattr(rjieba.cut, "__self__", None)
        jb = default if isinstance(default, rjieba.Jieba) else rjieba.Jieba()
        if USERDICT.exists():
            for line in USERDICT.read_text(encoding="utf-8").splitlines():
                parts = line.split()
                if not parts or line.startswith("#"):
                    continue
                freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 5000
                tag = parts[2] if len(parts) > 2 else "n"
                jb.add_word(parts[0], freq, tag)
        _built.append(jb)
        return jb


def tokenize(text: str) -> list[str]:
    """Word tokens of ``text`` (white space and punctuation dropped, Latin letters lower-cased)."""
    # isalnum() settles almost every token without the regex (which keeps e.g. "3.5", "A-3").
    return [t for t in _jieba().cut(text.lower(), hmm=True) if t.isalnum() or (not t.isspace() and _WORD.search(t))]


def has_word(word: str) -> bool:
    return bool(_jieba().has_word(word))


def index_terms(tokens: list[str]) -> list[str]:
    """Terms a post is found by: its tokens plus the dictionary words inside longer tokens
    (``工资拖欠`` is also found by ``工资`` and ``拖欠``), as jieba's search mode does, but
    derived from the one tokenisation instead of segmenting again."""
    terms = list(tokens)
    for tok in tokens:
        n = len(tok)
        if n <= 2:
            continue
        for size in (2, 3):
            if size >= n:
                break
            for i in range(n - size + 1):
                sub = tok[i : i + size]
                if has_word(sub):
                    terms.append(sub)
    return terms


def query_terms(text: str) -> list[str]:
    """Terms of a search query: all must match."""
    seen: dict[str, None] = {}
    for t in tokenize(text):
        seen.setdefault(t, None)
    return list(seen)

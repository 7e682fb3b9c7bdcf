"""Linear classifiers over one shared TF-IDF vector, stored as a small ``.npz``, run with numpy.

Training uses scikit-learn (``processors.train``); inference needs only numpy: the post's
features are vectorised once (sublinear tf × idf, l2-normalised, exactly as scikit-learn's
TfidfVectorizer does) and every head (topic, sentiment) is a gather and a sum over it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path

import numpy as np

Vector = tuple[np.ndarray, np.ndarray]  # (feature indices, weights)

# --- feature hashing, vectorised -----------------------------------------------------------
# A post has ~1,000 features; looking each up in a 67,000-entry dict costs more than every
# other step of the topic and sentiment models together (a cache miss per feature). Instead each
# feature is hashed to 64 bits with numpy, in one pass over the post's characters, and found by
# a binary search in the vocabulary's sorted hashes. The answer is the dict's (a 64-bit hash of a
# feature outside the vocabulary equals one inside it with odds of ~10^-14 a post; a vocabulary
# with two equal hashes falls back to the dict).

_P = np.uint64(0x100000001B3)  # polynomial base (odd)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_POW = np.full(4096, _P, np.uint64)
_POW[0] = 1
_POW = np.cumprod(_POW)  # P**0, P**1, ... (wrapping)
# a feature is a kind (plain token, title token, lead token, title bigram) and a text
_KINDS = {"T": np.uint64(0x9E3779B97F4A7C15), "L": np.uint64(0xC2B2AE3D27D4EB4F), "C": np.uint64(0x165667B19E3779F9)}
_PLAIN = np.uint64(0)


def _mix(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(30))
    h *= _M1
    h ^= h >> np.uint64(27)
    h *= _M2
    return h ^ (h >> np.uint64(31))


def _poly(texts: Sequence[str]) -> np.ndarray | None:
    """A polynomial hash of each of ``texts`` (none of which is empty or holds NUL), vectorised;
    None where that does not hold or a text is too long for the table of powers."""
    if not texts:
        return np.zeros(0, np.uint64)
    cp = np.frombuffer("\x00".join(texts).encode("utf-32-le"), "<u4")
    ends = np.flatnonzero(cp == 0)
    if ends.size != len(texts) - 1:
        return None
    starts = np.empty(len(texts), np.int64)
    starts[0] = 0
    starts[1:] = ends + 1
    seg = np.zeros(cp.size, np.int64)
    seg[ends + 1] = 1
    pos = np.arange(cp.size) - starts[np.cumsum(seg)]
    if starts[-1] >= cp.size or (np.diff(starts) < 2).any() or pos.max() >= _POW.size:
        return None  # an empty text, or one of 4,096 characters or more
    return np.add.reduceat(cp.astype(np.uint64) * _POW[pos], starts)


def feature_hashes(features: Sequence[str]) -> np.ndarray | None:
    """The 64-bit hash of each feature string (``T``/``L``/``C`` + text, or a plain token)."""
    kinds = np.array([_KINDS.get(f[:1], _PLAIN) if f else _PLAIN for f in features], np.uint64)
    texts = [f[1:] if f[:1] in _KINDS else f for f in features]
    h = _poly(texts) if all(texts) else None
    return None if h is None else _mix(h + kinds)


class Vectorizer:
    def __init__(self, vocabulary: Sequence[str], idf: np.ndarray) -> None:
        self.vocabulary = {f: i for i, f in enumerate(vocabulary)}
        self.idf = idf.astype(np.float32)
        hashes = feature_hashes(list(vocabulary))
        self._hashes: np.ndarray | None = None
        if hashes is not None:
            order = np.argsort(hashes, kind="stable")
            sorted_h = hashes[order]
            if not (sorted_h[1:] == sorted_h[:-1]).any():
                self._hashes, self._ids = sorted_h, order.astype(np.int64)

    def transform(self, features: Sequence[str]) -> Vector:
        ids = np.fromiter(map(self.vocabulary.get, features, repeat(-1)), np.int64, len(features))
        return self._weigh(ids[ids >= 0])

    def transform_post(self, title: str, title_tokens: list[str], body_tokens: list[str], lead: int) -> Vector | None:
        """``transform(processors.features.topic_features(...))`` without making the feature
        strings: title tokens (kind T), body tokens (plain), the first ``lead`` body tokens again
        (kind L) and the title's character bigrams (kind C), hashed together. None when the
        hashes cannot be used (then ``transform`` the feature strings)."""
        if self._hashes is None:
            return None
        th, bh = _poly(title_tokens), _poly(body_tokens)
        if th is None or bh is None:
            return None
        parts = [_mix(th + _KINDS["T"]), _mix(bh), _mix(bh[:lead] + _KINDS["L"])]
        if len(title) > 1:
            cp = np.frombuffer(title.encode("utf-32-le"), "<u4").astype(np.uint64)
            parts.append(_mix(cp[:-1] + cp[1:] * _P + _KINDS["C"]))
        return self._weigh(self._lookup(np.concatenate(parts)))

    def _lookup(self, h: np.ndarray) -> np.ndarray:
        assert self._hashes is not None
        at = np.searchsorted(self._hashes, h)
        at[at == self._hashes.size] = 0
        found = self._hashes[at] == h
        return self._ids[at[found]]

    def _weigh(self, ids: np.ndarray) -> Vector:
        if ids.size == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        idx, counts = np.unique(ids, return_counts=True)
        w = (1.0 + np.log(counts)).astype(np.float32) * self.idf[idx]
        w /= np.sqrt(np.dot(w, w))
        return idx, w


@dataclass
class Head:
    labels: list[str]
    coef: np.ndarray  # (n_features, n_labels)
    intercept: np.ndarray
    prior: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # per-label offsets tuned after fitting

    def __post_init__(self) -> None:
        self.coef = self.coef.astype(np.float32)
        self.intercept = self.intercept.astype(np.float32)
        if self.prior.size == 0:
            self.prior = np.zeros(len(self.labels), np.float32)

    def scores(self, vec: Vector) -> np.ndarray:
        idx, w = vec
        base = self.intercept + self.prior
        return base if idx.size == 0 else w @ self.coef[idx] + base

    def proba(self, vec: Vector) -> np.ndarray:
        s = self.scores(vec)
        e = np.exp(s - s.max())
        return e / e.sum()

    def predict(self, vec: Vector) -> tuple[str, float]:
        p = self.proba(vec)
        i = int(p.argmax())
        return self.labels[i], float(p[i])


@dataclass
class ModelBundle:
    vectorizer: Vectorizer
    heads: dict[str, Head]
    meta: dict[str, str] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        arrays: dict[str, np.ndarray] = {
            "vocabulary": np.array("\n".join(self.vectorizer.vocabulary)),
            "idf": self.vectorizer.idf.astype(np.float16),
            "heads": np.array(list(self.heads)),
        }
        for name, h in self.heads.items():
            arrays[f"{name}_labels"] = np.array(h.labels)
            arrays[f"{name}_coef"] = h.coef.astype(np.float16)
            arrays[f"{name}_intercept"] = h.intercept
            arrays[f"{name}_prior"] = h.prior
        for k, v in self.meta.items():
            arrays[f"meta_{k}"] = np.array(v)
        np.savez_compressed(path, **arrays)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: Path) -> ModelBundle:
        with np.load(path, allow_pickle=False) as z:
            vec = Vectorizer(str(z["vocabulary"]).split("\n"), z["idf"])
            heads = {
                str(n): Head([str(x) for x in z[f"{n}_labels"]], z[f"{n}_coef"], z[f"{n}_intercept"], z[f"{n}_prior"]) for n in z["heads"]
            }
            meta = {k[5:]: str(z[k]) for k in z.files if k.startswith("meta_")}
        return cls(vec, heads, meta)

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
from typing import Any

import numpy as np

from processors.features import topic_features

Vector = tuple[np.ndarray, np.ndarray]  # (feature indices, weights)


@dataclass(frozen=True)
class Batch:
    """The vectors of several posts end to end: post ``i`` is ``ids[bounds[i]:bounds[i + 1]]``
    with its ``weights`` there."""

    ids: np.ndarray
    weights: np.ndarray
    bounds: np.ndarray


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


def _distinct(a: np.ndarray) -> bool:
    """Whether the values of ``a`` are all different (a sort: ``np.unique`` is hash-based and
    several times slower on 67,000 hashes)."""
    s = np.sort(a)
    return bool(s.size < 2 or (s[1:] != s[:-1]).all())


def feature_hashes(features: Sequence[str]) -> np.ndarray | None:
    """The 64-bit hash of each feature string (``T``/``L``/``C`` + text, or a plain token):
    ``_mix(_poly(text) + kind)``, for the whole vocabulary in one vectorised pass (no loop in
    Python over its 67,000 strings: this is most of loading the model). None where ``_poly``
    would give None (an empty text, a NUL, a text of 4,096 characters or more)."""
    n = len(features)
    if not n:
        return np.zeros(0, np.uint64)
    cp = np.frombuffer("\x00".join(features).encode("utf-32-le"), "<u4")
    sep = cp == 0
    if int(np.count_nonzero(sep)) != n - 1:
        return None  # a feature holds a NUL
    starts = np.empty(n, np.int64)
    starts[0] = 0
    starts[1:] = np.flatnonzero(sep) + 1
    ends = np.empty(n, np.int64)  # one past each feature's last character
    ends[:-1] = starts[1:] - 1
    ends[-1] = cp.size
    if (ends <= starts).any():
        return None  # an empty feature
    kinds = np.zeros(n, np.uint64)
    skip = np.zeros(n, np.int64)  # 1 where the first character is the kind
    first = cp[starts]
    for ch, k in _KINDS.items():
        is_kind = first == ord(ch)
        kinds[is_kind] = k
        skip[is_kind] = 1
    tstart = starts + skip
    if (ends <= tstart).any() or (ends - tstart).max() > _POW.size:
        return None  # a kind with no text, or a text too long for the table of powers
    keep = np.ones(cp.size, bool)
    keep[sep] = False
    keep[starts[skip == 1]] = False
    seg = np.repeat(np.arange(n), ends - starts + 1)[: cp.size]  # the feature each character is of
    pos = np.arange(cp.size) - tstart[seg]
    vals = cp[keep].astype(np.uint64) * _POW[pos[keep]]
    h = np.add.reduceat(vals, np.cumsum(ends - tstart) - (ends - tstart))
    return _mix(h + kinds)


# Features whose hashes a saved bundle stores beside the vocabulary's (``hash_probe``): the
# vocabulary's stored hashes are used only if the probe's are what ``feature_hashes`` gives today.
HASH_PROBE = ("T拖欠", "L工资", "C欠薪", "农民工", "wifi", "3.5")


class Vectorizer:
    def __init__(self, vocabulary: Sequence[str] | str, idf: np.ndarray, hashes: np.ndarray | None = None) -> None:
        """``vocabulary``: the feature strings in id order, or all of them joined by newlines (as a
        saved bundle keeps them: split only when the strings are needed). ``hashes``: their
        ``feature_hashes`` when known (a saved bundle stores them), else computed here."""
        self._joined = vocabulary if isinstance(vocabulary, str) else None
        self._list: list[str] | None = None if isinstance(vocabulary, str) else list(vocabulary)
        self._index: dict[str, int] | None = None
        self.size = vocabulary.count("\n") + 1 if isinstance(vocabulary, str) else len(self.words)
        self.idf = idf.astype(np.float32)
        if hashes is None or hashes.dtype != np.uint64 or hashes.shape != (self.size,):
            hashes = feature_hashes(self.words)
        # None (the feature strings are looked up in the dict) when two entries share a hash
        self._table = self._build_table(hashes) if hashes is not None and _distinct(hashes) else None

    @property
    def words(self) -> list[str]:
        """The feature strings in id order."""
        if self._list is None:
            self._list = str(self._joined).split("\n")
        return self._list

    @property
    def vocabulary(self) -> dict[str, int]:
        """Feature string -> id. Made on first use: the hashes serve every post whose features
        they can take, so a run of ``yuqing classify`` usually never needs it (~12 ms saved)."""
        if self._index is None:
            self._index = {f: i for i, f in enumerate(self.words)}
        return self._index

    def transform(self, features: Sequence[str]) -> Vector:
        ids = np.fromiter(map(self.vocabulary.get, features, repeat(-1)), np.int64, len(features))
        return self._weigh(ids[ids >= 0])

    def transform_post(self, title: str, title_tokens: list[str], body_tokens: list[str], lead: int) -> Vector | None:
        """``transform(processors.features.topic_features(...))`` without making the feature
        strings: title tokens (kind T), body tokens (plain), the first ``lead`` body tokens again
        (kind L) and the title's character bigrams (kind C), hashed together. None when the
        hashes cannot be used (then ``transform`` the feature strings)."""
        if self._table is None:
            return None
        th, bh = _poly(title_tokens), _poly(body_tokens)
        if th is None or bh is None:
            return None
        parts = [_mix(th + _KINDS["T"]), _mix(bh), _mix(bh[:lead] + _KINDS["L"])]
        if len(title) > 1:
            cp = np.frombuffer(title.encode("utf-32-le"), "<u4").astype(np.uint64)
            parts.append(_mix(cp[:-1] + cp[1:] * _P + _KINDS["C"]))
        ids = self._lookup(np.concatenate(parts))
        return self._weigh(ids[ids >= 0])

    def transform_posts(self, posts: Sequence[tuple[str, list[str], list[str]]], lead: int) -> list[Vector]:
        """``transform_post`` of many posts (title, title tokens, body tokens) in one pass: the
        same vectors, with numpy's cost per call paid once per batch instead of once per post.
        Posts the hashes cannot take (see ``_poly``) are transformed from their feature strings."""
        if not posts:
            return []
        if self._table is None:
            return [self.transform(topic_features(t, tt, bt)) for t, tt, bt in posts]
        tcount = np.fromiter((len(tt) for _, tt, _ in posts), np.int64, len(posts))
        bcount = np.fromiter((len(bt) for _, _, bt in posts), np.int64, len(posts))
        th = _poly([x for _, tt, _ in posts for x in tt])
        bh = _poly([x for _, _, bt in posts for x in bt])
        if th is None or bh is None:  # a token the hashes cannot take: post by post
            out = []
            for t, tt, bt in posts:
                v = self.transform_post(t, tt, bt, lead)
                out.append(v if v is not None else self.transform(topic_features(t, tt, bt)))
            return out
        n = len(posts)
        which = np.arange(n)
        # the first ``lead`` body tokens of each post: positions in bh
        lcount = np.minimum(bcount, lead)
        bstart = np.cumsum(bcount) - bcount
        lpos = np.repeat(bstart - (np.cumsum(lcount) - lcount), lcount) + np.arange(lcount.sum())
        # the title's character bigrams: pairs of adjacent code points within one title
        titles = [t for t, _, _ in posts]
        cp = np.frombuffer("".join(titles).encode("utf-32-le"), "<u4").astype(np.uint64)
        tlen = np.fromiter(map(len, titles), np.int64, n)
        pair = np.ones(max(cp.size - 1, 0), bool)
        ends = np.cumsum(tlen)[:-1]
        pair[ends[(ends > 0) & (ends < cp.size)] - 1] = False  # no pair across two titles
        ccount = np.maximum(tlen - 1, 0)
        h = np.concatenate(
            [
                _mix(th + _KINDS["T"]),
                _mix(bh),
                _mix(bh[lpos] + _KINDS["L"]),
                _mix(cp[:-1][pair] + cp[1:][pair] * _P + _KINDS["C"]) if cp.size > 1 else np.zeros(0, np.uint64),
            ]
        )
        post = np.concatenate([np.repeat(which, tcount), np.repeat(which, bcount), np.repeat(which, lcount), np.repeat(which, ccount)])
        ids = self._lookup(h)
        found = ids >= 0
        # one sort for the batch: by post, then feature id (``np.unique`` per post, in one go)
        key = np.unique(post[found] * np.int64(self.size) + ids[found], return_counts=True)
        keys, counts = key
        owner = keys // self.size
        feat = keys % self.size
        w_all = (1.0 + np.log(counts)).astype(np.float32) * self.idf[feat]
        bounds = np.searchsorted(owner, np.arange(n + 1))
        out = []
        for i in range(n):
            a, b = bounds[i], bounds[i + 1]
            if a == b:
                out.append((np.zeros(0, np.int64), np.zeros(0, np.float32)))
                continue
            w = w_all[a:b]
            w /= np.sqrt(np.dot(w, w))
            out.append((feat[a:b], w))
        return out

    def transform_batch(self, posts: Sequence[tuple[str, list[str], list[str]]], lead: int) -> Batch:
        """``transform_posts`` as one ``Batch`` (the vectors end to end), for heads that score a
        whole batch at once (``Head.scores_batch``)."""
        vecs = self.transform_posts(posts, lead)
        sizes = np.fromiter((v[0].size for v in vecs), np.int64, len(vecs))
        bounds = np.zeros(len(vecs) + 1, np.int64)
        np.cumsum(sizes, out=bounds[1:])
        if not vecs:
            return Batch(np.zeros(0, np.int64), np.zeros(0, np.float32), bounds)
        return Batch(np.concatenate([v[0] for v in vecs]), np.concatenate([v[1] for v in vecs]), bounds)

    def _lookup(self, h: np.ndarray) -> np.ndarray:
        """The vocabulary id of each hash, -1 where it is not in the vocabulary: an open-addressing
        table (linear probing, a quarter full), so nearly every hash is settled by one gather."""
        assert self._table is not None
        keys, ids, mask = self._table
        slot = (h & mask).astype(np.int64)
        out = np.full(h.size, -1, np.int64)
        todo = np.arange(h.size)
        while todo.size:
            s = slot[todo]
            k = keys[s]
            used = ids[s] >= 0
            hit = used & (k == h[todo])
            out[todo[hit]] = ids[s[hit]]
            go_on = used & ~hit  # an occupied slot holding another hash: probe the next
            todo = todo[go_on]
            slot[todo] = (slot[todo] + 1) & int(mask)
        return out

    @staticmethod
    def _build_table(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.uint64]:
        """The table of ``_lookup``: each hash at its slot (or the next free one) with its index.
        Placed by one sort, by slot then index: taken in that order, each entry goes to its slot
        or to the one after the entry before it, whichever is later (a running maximum), which is
        where inserting them one by one puts them. ~5 ms for the 67,000 features instead of ~12."""
        n = hashes.size
        size = 1 << max(4, int(4 * n - 1).bit_length())
        mask = np.uint64(size - 1)
        keys = np.zeros(size, np.uint64)
        ids = np.full(size, -1, np.int64)
        if n == 0:
            return keys, ids, mask
        bits = max(n - 1, 1).bit_length()
        by_slot = np.sort(((hashes & mask).astype(np.int64) << bits) | np.arange(n))  # slot, then index
        order = by_slot & ((1 << bits) - 1)
        rank = np.arange(n)
        at = np.maximum.accumulate((by_slot >> bits) - rank) + rank
        if at[-1] >= size:  # the last run of entries goes past the end and wraps around
            return Vectorizer._build_table_in_rounds(hashes)
        keys[at] = hashes[order]
        ids[at] = order
        return keys, ids, mask

    @staticmethod
    def _build_table_in_rounds(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.uint64]:
        """``_build_table`` by rounds of insertion, wrapping around the end of the table."""
        size = 1 << max(4, int(4 * hashes.size - 1).bit_length())
        mask = np.uint64(size - 1)
        keys = np.zeros(size, np.uint64)
        ids = np.full(size, -1, np.int64)
        slot = (hashes & mask).astype(np.int64)
        pending = np.arange(hashes.size)
        while pending.size:
            s = slot[pending]
            free = ids[s] < 0
            cand, cs = pending[free], s[free]
            _, first = np.unique(cs, return_index=True)  # one hash per free slot this round
            won = cand[first]
            keys[slot[won]] = hashes[won]
            ids[slot[won]] = won
            lost = np.ones(pending.size, bool)
            lost[np.flatnonzero(free)[first]] = False
            pending = pending[lost]
            slot[pending] = (slot[pending] + 1) & (size - 1)
        return keys, ids, mask

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

    def scores_batch(self, batch: Batch) -> np.ndarray:
        """``scores`` of every vector of ``batch``, one row each: one gather and one segmented sum
        for the batch instead of numpy's cost per call paid per post. The sums are the same up to
        float32 rounding (they are added in another order)."""
        n = batch.bounds.size - 1
        out = np.empty((n, len(self.labels)), np.float32)
        out[:] = self.intercept + self.prior
        starts = batch.bounds[:-1]
        full = batch.bounds[1:] > starts
        if full.any():
            rows = self.coef[batch.ids] * batch.weights[:, None]
            out[full] += np.add.reduceat(rows, starts[full], axis=0)
        return out

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
        words = self.vectorizer.words
        arrays: dict[str, np.ndarray] = {
            "vocabulary": np.array("\n".join(words)),
            "idf": self.vectorizer.idf.astype(np.float16),
            "heads": np.array(list(self.heads)),
        }
        hashes, probe = feature_hashes(words), feature_hashes(HASH_PROBE)
        if hashes is not None and probe is not None:  # loading need not hash the vocabulary again
            arrays["hashes"], arrays["hash_probe"] = hashes, probe
        for name, h in self.heads.items():
            arrays[f"{name}_labels"] = np.array(h.labels)
            arrays[f"{name}_coef"] = h.coef.astype(np.float16)
            arrays[f"{name}_intercept"] = h.intercept
            arrays[f"{name}_prior"] = h.prior
        for k, v in self.meta.items():
            arrays[f"meta_{k}"] = np.array(v)
        _write_npz(path, arrays)

    @classmethod
    def load(cls, path: Path) -> ModelBundle:
        with np.load(path, allow_pickle=False) as z:
            vec = Vectorizer(str(z["vocabulary"]), z["idf"], _stored_hashes(z))
            heads = {
                str(n): Head([str(x) for x in z[f"{n}_labels"]], z[f"{n}_coef"], z[f"{n}_intercept"], z[f"{n}_prior"]) for n in z["heads"]
            }
            meta = {k[5:]: str(z[k]) for k in z.files if k.startswith("meta_")}
        return cls(vec, heads, meta)


# Arrays that deflate barely shrinks are stored as they are: the float16 weights (by ~20%) and the
# hashes (not at all); inflating them was ~7 ms of every start, for ~260 KB more on disk.
_UNCOMPRESSED = ("_coef", "hashes")


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez_compressed`` (read by ``np.load``), except that the arrays named in
    ``_UNCOMPRESSED`` are not compressed and the file does not depend on when it was written."""
    import zipfile

    with zipfile.ZipFile(path, "w", allowZip64=True) as zf:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if name.endswith(_UNCOMPRESSED) else zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.asanyarray(array), allow_pickle=False)


def _stored_hashes(z: Any) -> np.ndarray | None:
    """The vocabulary's hashes a saved bundle (an open ``np.load``) stores, if they were made by
    today's ``feature_hashes`` (its hashes of ``HASH_PROBE`` are stored with them): hashing the
    vocabulary again is ~15 ms of every start. None for a bundle saved without them."""
    if "hashes" not in z.files or "hash_probe" not in z.files:
        return None
    today = feature_hashes(HASH_PROBE)
    if today is None or not np.array_equal(z["hash_probe"], today):
        return None
    return z["hashes"]  # type: ignore[no-any-return]

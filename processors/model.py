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


class Vectorizer:
    def __init__(self, vocabulary: Sequence[str], idf: np.ndarray) -> None:
        self.vocabulary = {f: i for i, f in enumerate(vocabulary)}
        self.idf = idf.astype(np.float32)

    def transform(self, features: Sequence[str]) -> Vector:
        ids = np.fromiter(map(self.vocabulary.get, features, repeat(-1)), np.int64, len(features))
        ids = ids[ids >= 0]
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

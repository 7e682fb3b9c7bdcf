"""The trained topic and sentiment models, loaded once from ``processors/models/``.

If the bundle is missing (a custom model directory left empty) the lexicon classifier is
used and a warning says so.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from processors.features import LEAD_TOKENS
from processors.lexicon import lexicon_sentiment, lexicon_topic
from processors.linear import ModelBundle, Vector
from processors.priors import prior_vector
from processors.sentiment import TokenBayes, is_praise

log = logging.getLogger("yuqing.processors")
MODEL_DIR = Path(__file__).resolve().parent / "models"
# Praise is too rare in the labelled posts to learn (6 in 7,403), so a title that thanks or
# praises, with no complaint or request in it, decides unless the text is clearly negative.
PRAISE_MAX_NEGATIVITY = 0.75


@dataclass(frozen=True)
class Prediction:
    topic: str
    topic_confidence: float
    sentiment: str
    negativity: float  # P(negative), 0..1


class Models:
    def __init__(self, bundle: ModelBundle | None, bayes: TokenBayes | None = None) -> None:
        self.bundle = bundle
        meta = bundle.meta if bundle else {}
        self.bayes_weight = float(meta.get("bayes_weight", "0"))
        self.threshold = float(meta.get("threshold", "0.5"))
        self.bayes = bayes if self.bayes_weight > 0 else None
        if bundle:
            self._topic, self._sentiment = bundle.heads["topic"], bundle.heads["sentiment"]
            self._neg = self._sentiment.labels.index("negative")
            boosts = json.loads(meta.get("title_prior_boosts", "{}"))
            self._boosts = np.array([boosts.get(lbl, 0.0) for lbl in self._topic.labels], np.float32)

    @classmethod
    def load(cls, directory: Path | None = None) -> Models:
        d = directory or MODEL_DIR
        path = d / "classifier.npz"
        if not path.exists():
            log.warning("no trained models in %s: using the lexicon classifier (run `yuqing train`)", d)
            return cls(None)
        bundle = ModelBundle.load(path)
        bayes_path = d / "sentiment_bayes.marshal.gz"
        bayes = TokenBayes.load(bayes_path) if float(bundle.meta.get("bayes_weight", "0")) > 0 and bayes_path.exists() else None
        return cls(bundle, bayes)

    def predict(self, title: str, content: str, title_tokens: list[str], body_tokens: list[str]) -> Prediction:
        return self.predict_many([(title, content, title_tokens, body_tokens)])[0]

    def predict_many(self, posts: Sequence[tuple[str, str, list[str], list[str]]]) -> list[Prediction]:
        """``predict`` for each (title, content, title tokens, body tokens): the features of the
        whole batch are hashed and looked up in one pass (``Vectorizer.transform_posts``)."""
        if self.bundle is None:
            out = []
            for _, _, tt, bt in posts:
                topic, conf = lexicon_topic(tt, bt)
                sentiment, neg = lexicon_sentiment(tt + bt)
                out.append(Prediction(topic, conf, sentiment, neg))
            return out
        vz = self.bundle.vectorizer
        one = vz.transform_post(posts[0][0], posts[0][2], posts[0][3], LEAD_TOKENS) if len(posts) == 1 else None
        if one is not None:
            return [self._predict(posts[0], one)]
        # the heads score the whole batch at once (one gather and one segmented sum each)
        batch = vz.transform_batch([(t, tt, bt) for t, _, tt, bt in posts], LEAD_TOKENS)
        ts = self._topic.scores_batch(batch)
        if self._boosts.any():
            ts += np.array([prior_vector(p[0], self._topic.labels, self._boosts) for p in posts], np.float32).reshape(ts.shape)
        ss = self._sentiment.scores_batch(batch)
        best = ts.argmax(axis=1)
        e = np.exp(ts - ts.max(axis=1, keepdims=True))
        conf = e[np.arange(len(posts)), best] / e.sum(axis=1)
        s = np.exp(ss - ss.max(axis=1, keepdims=True))
        neg = s[:, self._neg] / s.sum(axis=1)
        labels = self._topic.labels
        return [
            self._decide(p, labels[i], float(c), float(n))
            for p, i, c, n in zip(posts, best.tolist(), conf.tolist(), neg.tolist(), strict=True)
        ]

    def _predict(self, post: tuple[str, str, list[str], list[str]], vec: Vector) -> Prediction:
        title = post[0]
        scores = self._topic.scores(vec)
        if self._boosts.any():
            scores = scores + prior_vector(title, self._topic.labels, self._boosts)
        e = np.exp(scores - scores.max())
        i = int(scores.argmax())
        topic, conf = self._topic.labels[i], float(e[i] / e.sum())
        neg = float(self._sentiment.proba(vec)[self._neg])
        return self._decide(post, topic, conf, neg)

    def _decide(self, post: tuple[str, str, list[str], list[str]], topic: str, conf: float, neg: float) -> Prediction:
        """The prediction from the heads' answers: the Bayes blend, praise and the threshold."""
        title, content, title_tokens, body_tokens = post
        if self.bayes is not None:
            neg = (1 - self.bayes_weight) * neg + self.bayes_weight * self.bayes.prob(title_tokens + body_tokens, "negative")
        if is_praise(title, content) and neg < PRAISE_MAX_NEGATIVITY:
            sentiment = "positive"
        elif neg >= self.threshold:
            sentiment = "negative"
        else:
            sentiment = "neutral"
        return Prediction(topic, conf, sentiment, neg)

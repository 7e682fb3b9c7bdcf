"""Sentiment: a linear model trained on our labelled posts (negative vs neutral), snownlp's
Bayes classifier retrained on the same posts and fed our jieba tokens (instead of letting
snownlp segment again), and a narrow rule for praise, which is too rare in the data to learn.

The two models' probabilities of ``negative`` are averaged with weights chosen on the
training folds (see ``processors.train``); the weight is stored in the model's metadata.
"""

from __future__ import annotations

import gzip
import marshal
import math
import re
from pathlib import Path

PRAISE = re.compile(r"感谢|表扬|点赞|致谢|锦旗|赞扬|称赞|好评|辛苦了|为.{1,12}点赞")
COMPLAINT = re.compile(r"投诉|举报|反映|为什么|为何|何时|怎么|不作为|拖欠|严重|问题|请求|建议|希望|咨询|请问")


class TokenBayes:
    """snownlp's Bayes classifier (``snownlp.classification.bayes``) on pre-tokenised text.

    Same counts and the same add-one estimate as snownlp (``AddOneProb``: every seen word's count
    starts at 1, an unseen word counts 1), so its answers equal snownlp's ``Bayes.classify``.
    """

    def __init__(self, counts: dict[str, dict[str, int]], totals: dict[str, int]) -> None:
        self.classes = sorted(counts)
        self.counts = counts
        self.totals = totals
        self.total = sum(totals.values())

    @classmethod
    def train(cls, docs: list[tuple[list[str], str]]) -> TokenBayes:
        from snownlp.classification.bayes import Bayes

        bayes = Bayes()
        bayes.train([[tokens, label] for tokens, label in docs])
        counts = {k: dict(v.d) for k, v in bayes.d.items()}
        totals = {k: int(v.getsum()) for k, v in bayes.d.items()}
        return cls(counts, totals)

    def prob(self, tokens: list[str], label: str) -> float:
        logp: dict[str, float] = {}
        for k in self.classes:
            d, n = self.counts[k], self.totals[k]
            logp[k] = math.log(n) - math.log(self.total) + sum(math.log(d.get(t, 1) / n) for t in tokens)
        top = max(logp.values())
        z = sum(math.exp(v - top) for v in logp.values())
        return math.exp(logp[label] - top) / z

    def save(self, path: Path) -> None:
        with gzip.open(path, "wb") as f:
            f.write(marshal.dumps({"counts": self.counts, "totals": self.totals}))

    @classmethod
    def load(cls, path: Path) -> TokenBayes:
        with gzip.open(path, "rb") as f:
            d = marshal.loads(f.read())
        return cls(d["counts"], d["totals"])


def is_praise(title: str, content: str) -> bool:
    """Thanks or praise as the main intent: praise words in the title (or the opening of a
    title-less post) and no complaint or request in the title."""
    head = title or content[:60]
    return bool(PRAISE.search(head)) and not COMPLAINT.search(head)

"""Model features from the one tokenisation: title tokens (prefixed ``T``), body tokens, the
body's opening tokens again (prefixed ``L``: citizens state their problem first, then the
details), and character bigrams of the title (prefixed ``C``; robust to segmentation of rare
names). The opening length was chosen by cross-validation on the training split (20/40/60/80)."""

from __future__ import annotations

LEAD_TOKENS = 60


def topic_features(title: str, title_tokens: list[str], body_tokens: list[str]) -> list[str]:
    feats = ["T" + t for t in title_tokens]
    feats += body_tokens
    feats += ["L" + t for t in body_tokens[:LEAD_TOKENS]]
    feats += ["C" + title[i : i + 2] for i in range(len(title) - 1)]
    return feats


sentiment_features = topic_features

"""Model features from the one tokenisation: title tokens (prefixed ``T``), body tokens, and
character bigrams of the title (prefixed ``C``; robust to segmentation of rare names)."""

from __future__ import annotations


def topic_features(title: str, title_tokens: list[str], body_tokens: list[str]) -> list[str]:
    feats = ["T" + t for t in title_tokens]
    feats += body_tokens
    feats += ["C" + title[i : i + 2] for i in range(len(title) - 1)]
    return feats


sentiment_features = topic_features

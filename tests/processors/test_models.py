"""Model artefacts: numpy inference equals scikit-learn's, snownlp parity, reproducible training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from processors import train
from processors.model import ModelBundle, Vectorizer
from processors.models import MODEL_DIR, Models
from processors.sentiment import TokenBayes, is_praise

ROWS = train.load_rows()[:400]


def test_numpy_inference_matches_scikit_learn() -> None:
    feats, _ = train.featurise(ROWS)
    y = np.array([r["topic"] for r in ROWS])
    vec, x = train._vectorizer(feats)
    clf = train._fit(x, y)
    head = train._head(clf)
    ours = Vectorizer(sorted(vec.vocabulary_, key=vec.vocabulary_.__getitem__), vec.idf_)
    expected = train._decision(clf, vec.transform(feats[:50]))
    got = np.array([head.scores(ours.transform(f)) for f in feats[:50]])
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_saved_bundle_round_trips(tmp_path: Path) -> None:
    bundle = ModelBundle.load(MODEL_DIR / "classifier.npz")
    bundle.save(tmp_path / "b.npz")
    again = ModelBundle.load(tmp_path / "b.npz")
    assert again.meta == bundle.meta and again.heads["topic"].labels == bundle.heads["topic"].labels
    f = ["T拖欠", "工资", "农民工"]
    np.testing.assert_allclose(
        again.heads["topic"].scores(again.vectorizer.transform(f)), bundle.heads["topic"].scores(bundle.vectorizer.transform(f)), atol=1e-3
    )


def test_token_bayes_equals_snownlp() -> None:
    from snownlp.classification.bayes import Bayes

    docs = [(["拖欠", "工资", "投诉"], "negative"), (["请问", "办理", "医保"], "neutral"), (["投诉", "噪音"], "negative")]
    ours = TokenBayes.train(docs)
    theirs = Bayes()
    theirs.train([[t, lbl] for t, lbl in docs])
    for tokens in (["投诉", "工资"], ["请问", "未见过"], ["医保"]):
        label, prob = theirs.classify(tokens)
        assert ours.prob(tokens, label) == pytest.approx(prob, abs=1e-12)


def test_praise_rule() -> None:
    assert is_praise("感谢马当镇派出所民警", "")
    assert not is_praise("感谢领导，为什么拖欠工资还不解决", "")
    assert not is_praise("投诉噪音扰民", "感谢")


def test_missing_models_fall_back_to_the_lexicon(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    m = Models.load(tmp_path)
    assert "no trained models" in caplog.text
    p = m.predict("拖欠农民工工资", "包工头拖欠工资讨薪无果", ["拖欠", "农民工", "工资"], ["包工头", "拖欠", "工资", "讨薪", "无果"])
    assert p.topic == "工资拖欠"


@pytest.mark.slow
def test_training_is_reproducible(tmp_path: Path) -> None:
    """`yuqing train` rebuilds models whose dev metrics equal the committed ones exactly."""
    committed = json.loads((MODEL_DIR / "metrics.json").read_text(encoding="utf-8"))
    metrics = train.main(ship="train", out=tmp_path, echo=lambda _: None)
    for key in ("labelled", "train", "dev", "topic_dev", "sentiment_dev"):
        assert metrics[key] == committed[key], key
    assert (tmp_path / "classifier.npz").stat().st_size < 2_000_000
    assert metrics["topic_dev"]["per_class"]["其他"]["recall"] >= 0.85
    assert metrics["sentiment_dev"]["accuracy"] >= 0.85

"""Model artefacts: numpy inference equals scikit-learn's, snownlp parity, reproducible training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from processors import train
from processors.linear import ModelBundle, Vectorizer
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


def test_bootstrap_intervals_match_scikit_learn_and_bracket_the_point() -> None:
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(3)
    y = rng.choice(["a", "b", "c", "d"], 600, p=[0.7, 0.2, 0.08, 0.02])
    p = np.where(rng.random(600) < 0.8, y, rng.choice(["a", "b", "c", "d"], 600))
    b = train.bootstrap_f1(y, p, n=400)
    assert b["macro_f1"] == pytest.approx(f1_score(y, p, average="macro"), abs=1e-3)
    for label, f1 in zip(["a", "b", "c", "d"], f1_score(y, p, average=None, labels=["a", "b", "c", "d"]), strict=True):
        v = b["per_class"][label]
        assert v["f1"] == pytest.approx(f1, abs=1e-3)
        assert v["ci95"][0] <= v["f1"] <= v["ci95"][1]
    lo, hi = b["macro_f1_ci95"]
    assert lo < b["macro_f1"] < hi
    # the rarest class (about 12 posts) is far less certain than the commonest
    width = {k: v["ci95"][1] - v["ci95"][0] for k, v in b["per_class"].items()}
    assert width["d"] > 3 * width["a"]
    assert train.bootstrap_f1(y, p, n=400) == b  # fixed seed: reproducible


def test_rows_from_other_corpora_train_topics_only() -> None:
    rows = train.load_rows()
    other = [r for r in rows if not train.is_board(r)]
    assert other, "the labelled set carries examples from the other corpora"
    assert all(r["batch"].startswith("external_") and r["corpus"] for r in other)
    assert not any(train.is_dev(r) for r in other)
    # cross-validation scores the board posts only; the others sit on every fold's training side
    board = [r for r in rows if train.is_board(r)]
    sample = [r for t in sorted({r["topic"] for r in board}) for r in [r for r in board if r["topic"] == t][:8]] + other
    feats, _ = train.featurise(sample)
    y = np.array([r["topic"] for r in sample])
    scored = np.array([train.is_board(r) for r in sample])
    scores, labels = train._cv_decisions(feats, y, scored)
    assert labels == sorted(set(y.tolist()))
    assert scores.shape == (len(sample) - len(other), len(labels))


def test_hashed_features_give_the_dict_lookups_answer() -> None:
    """``Vectorizer.transform_post`` (features hashed with numpy, found by binary search) returns
    exactly what looking the feature strings up in the vocabulary does, on real posts and on the
    edge cases (empty title, one-character title, tokens with Latin letters and digits)."""
    from processors.features import LEAD_TOKENS, topic_features
    from yuqing.text import tokenize

    vz = Models.load().bundle.vectorizer  # type: ignore[union-attr]
    cases = [(r["title"], r.get("content", "")) for r in ROWS] + [
        ("", "只有正文"),
        ("工", ""),
        ("", ""),
        ("A-3栋 3.5米", "wifi 5g 12345热线"),
    ]
    hashed = 0
    for title, content in cases:
        tt, bt = tokenize(title), tokenize(content)
        want = vz.transform(topic_features(title, tt, bt))
        got = vz.transform_post(title, tt, bt, LEAD_TOKENS)
        assert got is not None
        hashed += 1
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1]), title
    assert hashed == len(cases)


def test_batched_features_give_each_posts_own_answer() -> None:
    """``transform_posts`` over a batch (hashed together, split per post) returns, for every
    post, exactly the vector of the dict lookups, whatever its neighbours in the batch: empty and
    one-character titles, title-less posts and empty posts among real ones."""
    from processors.features import LEAD_TOKENS, topic_features
    from yuqing.text import tokenize

    vz = Models.load().bundle.vectorizer  # type: ignore[union-attr]
    cases = [(r["title"], r.get("content", "")) for r in ROWS[:40]]
    cases[3:3] = [("", "只有正文"), ("工", ""), ("", ""), ("A-3栋 3.5米", "wifi 5g 12345热线"), ("", "")]
    cases.append(("工", "资"))
    posts = [(t, tokenize(t), tokenize(c)) for t, c in cases]
    got = vz.transform_posts(posts, LEAD_TOKENS)
    assert len(got) == len(posts)
    for (title, tt, bt), (idx, w) in zip(posts, got, strict=True):
        want = vz.transform(topic_features(title, tt, bt))
        assert np.array_equal(idx, want[0]) and np.array_equal(w, want[1]), title
    assert vz.transform_posts([], LEAD_TOKENS) == []


def test_batch_with_a_token_the_hashes_cannot_take_is_still_answered() -> None:
    from processors.features import LEAD_TOKENS, topic_features

    vz = Models.load().bundle.vectorizer  # type: ignore[union-attr]
    long = "长" * 5000  # beyond the table of powers: this batch goes post by post
    posts = [("工资", ["工资"], ["拖欠", long]), ("环境", ["环境"], ["污染"])]
    got = vz.transform_posts(posts, LEAD_TOKENS)
    for (title, tt, bt), (idx, w) in zip(posts, got, strict=True):
        want = vz.transform(topic_features(title, tt, bt))
        assert np.array_equal(idx, want[0]) and np.allclose(w, want[1]), title


def test_vocabulary_lookup_table_finds_every_entry_and_nothing_else() -> None:
    from processors.linear import feature_hashes

    words = [f"词{i}" for i in range(5000)]
    vz = Vectorizer(words, np.ones(len(words)))
    h = feature_hashes(words)
    assert h is not None
    assert list(vz._lookup(h)) == list(range(len(words)))
    other = feature_hashes([f"外{i}" for i in range(5000)])
    assert other is not None and (vz._lookup(other) == -1).all()


def test_vocabulary_with_unhashable_entries_falls_back_to_the_dict() -> None:
    vz = Vectorizer(["a", "", "b"], np.ones(3))  # an empty feature cannot be hashed here
    assert vz.transform_post("t", ["a"], ["b"], 60) is None
    idx, _ = vz.transform(["a", "b", "zz"])
    assert list(idx) == [0, 2]


def test_fast_macro_f1_is_scikit_learns() -> None:
    """The offset search's macro-F1 by counting equals scikit-learn's, including a class that is
    never predicted and one that is neither true nor predicted (left out of the average)."""
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(5)
    for k, present in ((4, 4), (6, 4)):
        y = rng.integers(0, present, 500)
        p = np.where(rng.random(500) < 0.7, y, rng.integers(0, present - 1, 500))
        assert train._fast_macro_f1(y, p, k) == pytest.approx(f1_score(y, p, average="macro"), abs=1e-12)


def test_offsets_are_the_same_with_the_fast_f1(monkeypatch: pytest.MonkeyPatch) -> None:
    """tune_offsets picks the same offsets and boosts with the counting macro-F1 as with
    scikit-learn's, and they do not lower macro-F1."""
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(9)
    labels = ["a", "其他", "z"]
    y = rng.choice(labels, 400, p=[0.15, 0.75, 0.1])
    scores = rng.normal(size=(400, 3)).astype(np.float32) + (y[:, None] == np.array(labels)) * 1.2
    priors = (rng.random((400, 3)) < 0.1).astype(np.float32)
    fast = train.tune_offsets(scores, y, labels, priors)
    monkeypatch.setattr(train, "_fast_macro_f1", lambda yi, pi, k: float(f1_score(yi, pi, average="macro")))
    slow = train.tune_offsets(scores, y, labels, priors)
    np.testing.assert_array_equal(fast[0], slow[0])
    np.testing.assert_array_equal(fast[1], slow[1])
    pred = np.array(labels)[(scores + fast[0] + priors * fast[1]).argmax(1)]
    assert train._macro_f1(y, pred) >= train._macro_f1(y, np.array(labels)[scores.argmax(1)])


def test_heads_score_a_batch_as_they_score_each_post() -> None:
    """``Head.scores_batch`` (one gather and one segmented sum for the batch) gives each post's
    ``scores`` up to float32 rounding, empty posts included, and ``predict_many`` over a batch
    gives every post the labels it gets alone."""
    from processors.features import LEAD_TOKENS
    from yuqing.text import tokenize

    models = Models.load()
    bundle = models.bundle
    assert bundle is not None
    cases = [(r["title"], r.get("content", "")) for r in ROWS[:60]]
    cases[5:5] = [("", ""), ("工", ""), ("", "只有正文")]
    posts = [(t, tokenize(t), tokenize(c)) for t, c in cases]
    batch = bundle.vectorizer.transform_batch(posts, LEAD_TOKENS)
    vecs = bundle.vectorizer.transform_posts(posts, LEAD_TOKENS)
    for head in bundle.heads.values():
        got = head.scores_batch(batch)
        want = np.array([head.scores(v) for v in vecs])
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    many = models.predict_many([(t, c, tt, bt) for (t, c), (_, tt, bt) in zip(cases, posts, strict=True)])
    alone = [models.predict(t, c, tt, bt) for (t, c), (_, tt, bt) in zip(cases, posts, strict=True)]
    assert [(p.topic, p.sentiment) for p in many] == [(p.topic, p.sentiment) for p in alone]
    assert np.allclose([p.topic_confidence for p in many], [p.topic_confidence for p in alone], atol=1e-5)
    assert np.allclose([p.negativity for p in many], [p.negativity for p in alone], atol=1e-5)


def test_vocabulary_hashes_in_one_pass_equal_each_features_own() -> None:
    """``feature_hashes`` hashes the whole vocabulary in one vectorised pass; each hash must be
    the one the post side computes for that feature alone (kind + polynomial hash of its text),
    and the strings ``_poly`` cannot take give None."""
    from processors.linear import _KINDS, _PLAIN, _mix, _poly, feature_hashes

    def alone(f: str) -> int:
        kind = _KINDS.get(f[:1], _PLAIN)
        text = f[1:] if f[:1] in _KINDS else f
        h = _poly([text])
        assert h is not None
        return int(_mix(h + kind)[0])

    feats = ["工资", "T工资", "L拖", "C工资", "a", "TT", "LLx", "3.5", "Twifi", "x" * 4096, "T" + "y" * 4096]
    got = feature_hashes(feats)
    assert got is not None and got.tolist() == [alone(f) for f in feats]
    for bad in (["工资", ""], ["T"], ["工资", "L"], ["a\x00b"], ["z" * 4097]):
        assert feature_hashes(bad) is None, bad
    assert feature_hashes([]) is not None and feature_hashes([]).size == 0  # type: ignore[union-attr]


def test_the_shipped_bundle_stores_todays_hashes_of_its_vocabulary() -> None:
    """The bundle stores its vocabulary's hashes (loading need not hash 67,000 features again):
    they must be what ``feature_hashes`` gives today, or every post's features would be missed."""
    from processors.linear import HASH_PROBE, feature_hashes

    with np.load(MODEL_DIR / "classifier.npz", allow_pickle=False) as z:
        assert "hashes" in z.files, "classifier.npz has no hashes: run `yuqing train` (or load and save the bundle)"
        stored, probe, words = z["hashes"], z["hash_probe"], str(z["vocabulary"]).split("\n")
    assert np.array_equal(probe, feature_hashes(HASH_PROBE))
    assert np.array_equal(stored, feature_hashes(words)), "the feature hashes changed: run `yuqing train`"


def test_a_bundle_without_todays_hashes_hashes_its_vocabulary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bundle saved without hashes, or with hashes of another hash function (its probe's differ),
    is read as before: the vocabulary is hashed at load."""
    from processors import linear
    from processors.features import LEAD_TOKENS
    from yuqing.text import tokenize

    bundle = ModelBundle.load(MODEL_DIR / "classifier.npz")
    with np.load(MODEL_DIR / "classifier.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    np.savez_compressed(tmp_path / "old.npz", **{k: v for k, v in arrays.items() if k not in ("hashes", "hash_probe")})  # type: ignore[arg-type]
    np.savez_compressed(tmp_path / "other.npz", **arrays | {"hashes": arrays["hashes"] + np.uint64(1)})  # type: ignore[arg-type]
    hashed: list[int] = []
    real = linear.feature_hashes
    monkeypatch.setattr(linear, "feature_hashes", lambda fs: hashed.append(len(fs)) or real(fs))
    posts = [(r["title"], tokenize(r["title"]), tokenize(r.get("content", ""))) for r in ROWS[:20]]
    want = bundle.vectorizer.transform_posts(posts, LEAD_TOKENS)
    assert ModelBundle.load(MODEL_DIR / "classifier.npz") and max(hashed) == len(linear.HASH_PROBE)  # the probe only
    for name, probe in (("old.npz", None), ("other.npz", arrays["hash_probe"] + np.uint64(1))):
        if probe is not None:
            np.savez_compressed(tmp_path / name, **arrays | {"hashes": arrays["hashes"] + np.uint64(1), "hash_probe": probe})  # type: ignore[arg-type]
        hashed.clear()
        again = ModelBundle.load(tmp_path / name).vectorizer
        assert max(hashed) == bundle.vectorizer.size, name  # the vocabulary was hashed
        for (i, w), (j, v) in zip(again.transform_posts(posts, LEAD_TOKENS), want, strict=True):
            assert np.array_equal(i, j) and np.array_equal(w, v), name


def test_the_lookup_table_placed_by_one_sort_answers_as_insertion_does() -> None:
    rng = np.random.default_rng(7)
    for n in (1, 2, 17, 3000):
        hashes = np.unique(rng.integers(0, 1 << 63, n, dtype=np.uint64))
        rng.shuffle(hashes)
        size = 1 << max(4, (4 * hashes.size - 1).bit_length())
        # every hash on the last slot: the run wraps around the end of the table
        crowded = np.arange(1, hashes.size + 1, dtype=np.uint64) * np.uint64(size) + np.uint64(size - 1)
        for hs in (hashes, crowded):
            table = Vectorizer._build_table(hs)
            if hs is crowded and hs.size > 1:
                assert table[1][0] >= 0  # wrapped around to the first slot
            rounds = Vectorizer._build_table_in_rounds(hs)
            vz = Vectorizer(["x"], np.ones(1))
            probe = np.concatenate([hs, rng.integers(0, 1 << 63, 500, dtype=np.uint64)])
            vz._table = table
            got = vz._lookup(probe)
            vz._table = rounds
            assert np.array_equal(got, vz._lookup(probe))
            assert np.array_equal(got[: hs.size], np.arange(hs.size)) and (got[hs.size :] == -1).all()

"""``yuqing train``: rebuild the topic and sentiment models from ``data/labels/labelled.jsonl``.

Reproducible: the split is a hash of each post's text (duplicates land on the same side), the
learners are deterministic, and the artefacts (a few hundred KB) are versioned in the repo.

1. Split: dev = posts whose sha1(title + content) % 5 == 0 (about 20%); the rest is train.
2. Topic: TF-IDF (sublinear tf, min_df 2) over ``processors.features`` and a linear SVM with
   balanced class weights; then per-class score offsets chosen by 5-fold cross-validation on
   *train* to maximise macro-F1 while keeping 其他 recall >= 0.87 (rare classes need a push).
3. Sentiment: the same features and learner for negative vs neutral, averaged with snownlp's
   Bayes retrained on our tokens, the weight chosen on train folds; praise by rule.
4. Dev metrics come from models fitted on train only; the shipped models are then refitted on
   all labelled posts with the same settings (``--ship train`` ships the train-only ones).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from processors.features import topic_features
from processors.keywords import learn_idf
from processors.linear import Head, ModelBundle, Vectorizer
from processors.models import Models
from processors.priors import prior_matrix
from processors.sentiment import TokenBayes
from yuqing.text import tokenize

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "data" / "labels" / "labelled.jsonl"
MODELS = Path(__file__).resolve().parent / "models"
OTHER = "其他"
MIN_OTHER_RECALL = 0.87


def is_board(row: dict[str, Any]) -> bool:
    """A message-board post (the population the models serve and are scored on). Rows from the
    other corpora (``corpus`` set: news headlines, Weibo, reviews) only add training examples of
    rare topics: never dev, never scored in cross-validation, not used for sentiment or keywords."""
    return "corpus" not in row


def is_dev(row: dict[str, Any]) -> bool:
    return is_board(row) and int(hashlib.sha1((row["title"] + row["content"]).encode("utf-8")).hexdigest(), 16) % 5 == 0


def load_rows(path: Path = LABELS) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def add_corrections(rows: list[dict[str, Any]], corrections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` with the corrections' rows (``corrections.export``) appended, one row per post id:
    a correction replaces the labelled row of the same post."""
    fixed = {r["id"]: r for r in corrections}
    return [r for r in rows if r.get("id") not in fixed] + list(fixed.values())


def _split_tokens(row: dict[str, Any]) -> tuple[list[str], list[str]]:
    return tokenize(row["title"]), tokenize(row["content"])


def featurise(rows: list[dict[str, Any]]) -> tuple[list[list[str]], list[list[str]]]:
    feats, tokens = [], []
    for r in rows:
        tt, bt = tokenize(r["title"]), tokenize(r["content"])
        feats.append(topic_features(r["title"], tt, bt))
        tokens.append(tt + bt)
    return feats, tokens


def _vectorizer(feats: list[list[str]], min_df: int = 2) -> tuple[Any, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer=_identity, min_df=min_df, sublinear_tf=True, dtype=np.float32)
    return vec, vec.fit_transform(feats)


def _identity(x: list[str]) -> list[str]:
    return x


def _fit(x: Any, y: np.ndarray) -> Any:
    from sklearn.svm import LinearSVC

    return LinearSVC(C=1.0, class_weight="balanced", random_state=0).fit(x, y)


def _decision(clf: Any, x: Any) -> np.ndarray:
    """Scores per class in ``clf.classes_`` order, as ``Head.scores`` computes them."""
    d = clf.decision_function(x)
    return np.column_stack([-d / 2, d / 2]) if d.ndim == 1 else d


def _head(clf: Any, prior: np.ndarray | None = None) -> Head:
    coef, intercept = clf.coef_, clf.intercept_
    if coef.shape[0] == 1:  # binary: one score for classes_[1]; two symmetric columns
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    return Head([str(c) for c in clf.classes_], coef.T, intercept, np.zeros(0, np.float32) if prior is None else prior)


def _folds(y: np.ndarray, k: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import StratifiedKFold

    return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))


def _cv_decisions(
    feats: list[list[str]],
    y: np.ndarray,
    scored: np.ndarray | None = None,
    *,
    fit: Callable[[Any, np.ndarray], Any] = _fit,
    seed: int = 0,
    min_df: int = 2,
) -> tuple[np.ndarray, list[str]]:
    """Out-of-fold scores for the ``scored`` rows (default: all); the other rows are added to the
    training side of every fold and never scored. Returns scores for the scored rows, in order.
    ``fit``, the fold ``seed`` and ``min_df`` are for experiments (``scripts/topic_experiments.py``)."""
    idx_s = np.arange(len(y)) if scored is None else np.where(scored)[0]
    idx_x = np.zeros(0, np.int64) if scored is None else np.where(~scored)[0]
    labels = sorted(set(y.tolist()))
    scores = np.zeros((len(idx_s), len(labels)), np.float32)
    for tr, dv in _folds(y[idx_s], seed=seed):
        fit_idx = np.concatenate([idx_s[tr], idx_x])
        vec, x = _vectorizer([feats[i] for i in fit_idx], min_df)
        clf = fit(x, y[fit_idx])
        assert [str(c) for c in clf.classes_] == labels
        scores[dv] = _decision(clf, vec.transform([feats[i] for i in idx_s[dv]]))
    return scores, labels


def _macro_f1(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y, p, average="macro"))


def _fast_macro_f1(yi: np.ndarray, pi: np.ndarray, k: int) -> float:
    """scikit-learn's macro-F1 on label indices (classes neither true nor predicted left out), by
    counting: the offset search evaluates it thousands of times."""
    tp = np.bincount(yi[yi == pi], minlength=k)
    denom = np.bincount(yi, minlength=k) + np.bincount(pi, minlength=k)
    present = denom > 0
    return float((2 * tp[present] / denom[present]).mean())


def tune_offsets(scores: np.ndarray, y: np.ndarray, labels: list[str], priors: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Coordinate ascent on per-class score offsets and title-prior boosts: macro-F1 up while
    其他 recall stays >= MIN_OTHER_RECALL. Returns (offsets, boosts)."""
    lab = np.array(labels)
    other = labels.index(OTHER)
    m = np.zeros_like(scores) if priors is None else priors
    index = {lbl: k for k, lbl in enumerate(labels)}
    yi = np.array([index[v] for v in y.tolist()], np.int64) if set(y.tolist()) <= set(index) else None
    mask = y == OTHER

    def evaluate(b: np.ndarray, w: np.ndarray) -> float:
        pi = (scores + b + m * w).argmax(1)
        if mask.any() and (pi[mask] == other).mean() < MIN_OTHER_RECALL:
            return -1.0
        return _fast_macro_f1(yi, pi, len(labels)) if yi is not None else _macro_f1(y, lab[pi])

    b = np.zeros(len(labels), np.float32)
    w = np.zeros(len(labels), np.float32)
    best = evaluate(b, w)
    for _ in range(3):
        for k in range(len(labels)):
            if k == other:
                continue
            for d in np.linspace(-0.6, 0.6, 25):
                cand = b.copy()
                cand[k] = d
                f = evaluate(cand, w)
                if f > best + 1e-9:
                    best, b = f, cand
            if m[:, k].any():
                for d in np.linspace(0, 1.2, 13):
                    cand = w.copy()
                    cand[k] = d
                    f = evaluate(b, cand)
                    if f > best + 1e-9:
                        best, w = f, cand
    return b, w


def bootstrap_f1(y: np.ndarray, p: np.ndarray, n: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Macro-F1 and per-class F1 of predictions ``p`` for labels ``y``, each with a 95% percentile
    bootstrap interval: the posts are resampled with replacement ``n`` times (fixed seed, so the
    figures are reproducible). A class absent from a resample (neither true nor predicted) is left
    out of that resample's macro average, as scikit-learn's ``f1_score`` does."""
    labels = sorted(set(y.tolist()) | set(p.tolist()))
    index = {lbl: k for k, lbl in enumerate(labels)}
    yi = np.array([index[v] for v in y.tolist()])
    pi = np.array([index[v] for v in p.tolist()])
    k = len(labels)

    def f1s(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        tp = np.bincount(a[a == b], minlength=k).astype(float)
        true = np.bincount(a, minlength=k).astype(float)
        pred = np.bincount(b, minlength=k).astype(float)
        denom = true + pred
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(denom > 0, 2 * tp / denom, np.nan)

    point = f1s(yi, pi)
    rng = np.random.default_rng(seed)
    samples = np.empty((n, k))
    for b in range(n):
        idx = rng.integers(0, len(yi), len(yi))
        samples[b] = f1s(yi[idx], pi[idx])
    macro = np.nanmean(samples, axis=1)

    def ci(v: np.ndarray) -> list[float]:
        v = v[~np.isnan(v)]
        return [round(float(np.percentile(v, 2.5)), 3), round(float(np.percentile(v, 97.5)), 3)]

    support = np.bincount(yi, minlength=k)
    return {
        "n": len(yi),
        "resamples": n,
        "macro_f1": round(float(np.nanmean(point)), 3),
        "macro_f1_ci95": ci(macro),
        "per_class": {
            lbl: {"f1": round(float(np.nan_to_num(point[j])), 3), "ci95": ci(samples[:, j]), "support": int(support[j])}
            for j, lbl in enumerate(labels)
        },
    }


def format_bootstrap(title: str, b: dict[str, Any]) -> list[str]:
    lo, hi = b["macro_f1_ci95"]
    lines = [f"{title}: macro-F1 {b['macro_f1']:.3f} [95% CI {lo:.3f}-{hi:.3f}], {b['n']} posts, {b['resamples']} bootstrap resamples"]
    for k, v in b["per_class"].items():
        lines.append(f"  {k:<10} F1 {v['f1']:.3f} [{v['ci95'][0]:.3f}-{v['ci95'][1]:.3f}]  n={v['support']}")
    return lines


def report(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, classification_report

    rep = classification_report(y, p, output_dict=True, zero_division=0)
    per_class = {
        k: {
            "precision": round(v["precision"], 3),
            "recall": round(v["recall"], 3),
            "f1": round(v["f1-score"], 3),
            "support": int(v["support"]),
        }
        for k, v in rep.items()
        if isinstance(v, dict) and k not in ("macro avg", "weighted avg")
    }
    return {"accuracy": round(float(accuracy_score(y, p)), 3), "macro_f1": round(_macro_f1(y, p), 3), "per_class": per_class, "n": len(y)}


def cv_topic_predictions(
    feats: list[list[str]],
    yt: np.ndarray,
    titles: list[str],
    scored: np.ndarray | None = None,
    cv: tuple[np.ndarray, list[str]] | None = None,
) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    """5-fold cross-validated topic predictions on the scored posts (default: all), with the
    per-class offsets and title-prior boosts tuned on those same folds (so slightly optimistic).
    ``cv``: the out-of-fold scores of ``_cv_decisions`` if already computed.
    Returns (predictions for the scored posts, labels, offsets, boosts)."""
    scored = np.ones(len(yt), bool) if scored is None else scored
    cv_topic, topic_labels = cv or _cv_decisions(feats, yt, scored)
    priors = prior_matrix([t for t, s in zip(titles, scored, strict=True) if s], topic_labels)
    ys = yt[scored]
    offsets, boosts = tune_offsets(cv_topic, ys, topic_labels, priors)
    cv_pred = np.array(topic_labels)[(cv_topic + offsets + priors * boosts).argmax(1)]
    return cv_pred, topic_labels, offsets, boosts


def nested_topic_predictions(
    feats: list[list[str]],
    yt: np.ndarray,
    titles: list[str],
    scored: np.ndarray | None = None,
    cv: tuple[np.ndarray, list[str]] | None = None,
) -> np.ndarray:
    """Like ``cv_topic_predictions``, but each fold's offsets and boosts are tuned on the other
    four folds' out-of-fold scores only, so no post helps choose the offsets it is scored with.
    The honest estimate of the whole recipe (the in-fold figure is optimistic because the rare
    topics' offsets are fitted to a handful of posts)."""
    scored = np.ones(len(yt), bool) if scored is None else scored
    cv_topic, topic_labels = cv or _cv_decisions(feats, yt, scored)
    priors = prior_matrix([t for t, s in zip(titles, scored, strict=True) if s], topic_labels)
    ys = yt[scored]
    lab = np.array(topic_labels)
    pred = np.empty(len(ys), dtype=lab.dtype)
    for rest, fold in _folds(ys):
        offsets, boosts = tune_offsets(cv_topic[rest], ys[rest], topic_labels, priors[rest])
        pred[fold] = lab[(cv_topic[fold] + offsets + priors[fold] * boosts).argmax(1)]
    return pred


def fit_bundle(
    feats: list[list[str]],
    tokens: list[list[str]],
    yt: np.ndarray,
    ys: np.ndarray,
    titles: list[str],
    board: np.ndarray | None = None,
    cv: tuple[np.ndarray, list[str]] | None = None,
) -> tuple[ModelBundle, TokenBayes, np.ndarray]:
    """Topic head with CV-tuned offsets; sentiment head (negative vs not) combined with snownlp's
    Bayes retrained on our tokens, weight and threshold chosen by CV accuracy. Rows outside
    ``board`` (other corpora) only add topic training examples. Also returns the cross-validated
    topic predictions on the board rows the offsets were tuned on."""
    board = np.ones(len(yt), bool) if board is None else board
    cv_pred, topic_labels, offsets, boosts = cv_topic_predictions(feats, yt, titles, board, cv)
    cv_macro = report(yt[board], cv_pred)["macro_f1"]
    all_feats, all_yt = feats, yt
    keep = np.where(board)[0]
    feats, tokens, ys = [feats[i] for i in keep], [tokens[i] for i in keep], ys[keep]
    yb = np.where(ys == "negative", "negative", "neutral")
    cv_sent, sent_labels = _cv_decisions(feats, yb)
    cv_lin = _softmax(cv_sent)[:, sent_labels.index("negative")]
    cv_bay = np.zeros(len(yb))
    for tr, dv in _folds(yb):
        b = TokenBayes.train([(tokens[i], str(yb[i])) for i in tr])
        cv_bay[dv] = [b.prob(tokens[i], "negative") for i in dv]
    best = (-1.0, 0.0, 0.5)
    for w in np.linspace(0, 1, 11):  # w = weight of the Bayes model
        p = (1 - w) * cv_lin + w * cv_bay
        for t in np.linspace(0.3, 0.7, 41):
            acc = float(((p >= t) == (yb == "negative")).mean())
            if acc > best[0] + 1e-9:
                best = (acc, float(w), float(t))
    _, weight, threshold = best
    vec, x_all = _vectorizer(all_feats)
    x = x_all[keep]
    bundle = ModelBundle(
        Vectorizer(sorted(vec.vocabulary_, key=vec.vocabulary_.__getitem__), vec.idf_),
        {"topic": _head(_fit(x_all, all_yt), offsets), "sentiment": _head(_fit(x, yb))},
        {
            "bayes_weight": f"{weight:.2f}",
            "threshold": f"{threshold:.4f}",
            "topic_cv_macro_f1": f"{cv_macro:.3f}",
            "title_prior_boosts": json.dumps(
                {k: round(float(v), 3) for k, v in zip(topic_labels, boosts, strict=True)}, ensure_ascii=False
            ),
        },
    )
    return bundle, TokenBayes.train([(tokens[i], str(yb[i])) for i in range(len(yb))]), cv_pred


def _softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def cv_only(echo: Callable[[str], None] = print, resamples: int = 1000, labels: Path = LABELS) -> dict[str, Any]:
    """The cross-validated topic report on the training split with bootstrap intervals (in-fold
    and nested offsets); writes nothing. ``labels`` may point at another labelled file, e.g. an
    earlier commit's (``git show REV:data/labels/labelled.jsonl``), to compare label sets."""
    rows = load_rows(labels)
    echo(f"labelled posts: {len(rows)} ({labels})")
    feats, _ = featurise(rows)
    tr = np.array([i for i, r in enumerate(rows) if not is_dev(r)])
    yt = np.array([r["topic"] for r in rows])
    board = np.array([is_board(rows[i]) for i in tr])
    args = ([feats[i] for i in tr], yt[tr], [rows[i]["title"] for i in tr], board)
    cv = _cv_decisions(args[0], args[1], board)
    cv_pred, *_ = cv_topic_predictions(*args, cv=cv)
    b = bootstrap_f1(yt[tr][board], cv_pred, n=resamples)
    for line in format_bootstrap("topic 5-fold CV on train (offsets and priors tuned on the same folds)", b):
        echo(line)
    nb = bootstrap_f1(yt[tr][board], nested_topic_predictions(*args, cv=cv), n=resamples)
    for line in format_bootstrap("topic 5-fold CV on train, nested (offsets tuned without the scored fold)", nb):
        echo(line)
    return {"in_fold": b, "nested": nb}


def main(
    ship: str = "all",
    out: Path = MODELS,
    echo: Callable[[str], None] = print,
    resamples: int = 1000,
    labels: Path = LABELS,
    corrections: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    t0 = time.monotonic()
    rows = load_rows(labels)
    echo(f"labelled posts: {len(rows)} ({labels})")
    if corrections:
        rows = add_corrections(rows, corrections)
        echo(f"with {len(corrections)} corrected posts (纠错): {len(rows)} posts")
    feats, tokens = featurise(rows)
    dev = np.array([is_dev(r) for r in rows])
    board = np.array([is_board(r) for r in rows])
    yt = np.array([r["topic"] for r in rows])
    ys = np.array([r["sentiment"] for r in rows])
    tr, dv = np.where(~dev)[0], np.where(dev)[0]
    echo(f"split: train {len(tr)} ({int((~board).sum())} of them from other corpora, topic only), dev {len(dv)}")

    echo("fitting on train (5-fold CV inside for offsets and the sentiment blend) ...")
    cv = _cv_decisions([feats[i] for i in tr], yt[tr], board[tr])  # out-of-fold topic scores, computed once
    bundle, bayes, cv_pred = fit_bundle(
        [feats[i] for i in tr], [tokens[i] for i in tr], yt[tr], ys[tr], [rows[i]["title"] for i in tr], board[tr], cv
    )
    cv_boot = bootstrap_f1(yt[tr][board[tr]], cv_pred, n=resamples)
    nested_boot = bootstrap_f1(
        yt[tr][board[tr]],
        nested_topic_predictions([feats[i] for i in tr], yt[tr], [rows[i]["title"] for i in tr], board[tr], cv),
        n=resamples,
    )
    bundle_cv = bundle.meta["topic_cv_macro_f1"]
    models = Models(bundle, bayes)
    preds = [models.predict(rows[i]["title"], rows[i]["content"], *_split_tokens(rows[i])) for i in dv]
    topic_dev = report(yt[dv], np.array([p.topic for p in preds]))
    sent_dev = report(ys[dv], np.array([p.sentiment for p in preds]))
    ys_bin = np.where(ys[dv] == "negative", "negative", "neutral")
    lin_only = np.array(
        [
            "negative"
            if bundle.heads["sentiment"].proba(bundle.vectorizer.transform(feats[i]))[bundle.heads["sentiment"].labels.index("negative")]
            >= 0.5
            else "neutral"
            for i in dv
        ]
    )
    bayes_only = np.array(["negative" if bayes.prob(tokens[i], "negative") >= 0.5 else "neutral" for i in dv])

    if ship == "all":
        echo("refitting on all labelled posts for shipping ...")
        bundle, bayes, _ = fit_bundle(feats, tokens, yt, ys, [r["title"] for r in rows], board)
    out.mkdir(parents=True, exist_ok=True)
    n_idf = learn_idf([t for t, b in zip(tokens, board, strict=True) if b], out / "keywords_idf.npz")
    echo(f"keyword IDF: {n_idf} words")
    bundle.meta.update(trained_on=ship, labelled=str(len(rows)))
    out.mkdir(parents=True, exist_ok=True)
    bundle.save(out / "classifier.npz")
    if float(bundle.meta["bayes_weight"]) > 0:
        bayes.save(out / "sentiment_bayes.marshal.gz")
    else:
        (out / "sentiment_bayes.marshal.gz").unlink(missing_ok=True)
    metrics: dict[str, Any] = {
        "labelled": len(rows),
        "corrections": len(corrections or []),
        "labelled_other_corpora": int((~board).sum()),
        "train": len(tr),
        "dev": len(dv),
        "shipped_models_trained_on": ship,
        "topic_cv_train_macro_f1": float(bundle_cv),
        "topic_cv_train": cv_boot,
        "topic_cv_train_nested": nested_boot,
        "topic_dev": topic_dev,
        "topic_dev_ci95": bootstrap_f1(yt[dv], np.array([p.topic for p in preds]), n=resamples),
        "sentiment_dev": sent_dev,
        "sentiment_dev_components": {
            "linear_only_accuracy": round(float((lin_only == ys_bin).mean()), 3),
            "snownlp_bayes_retrained_accuracy": round(float((bayes_only == ys_bin).mean()), 3),
            "bayes_weight": bundle.meta["bayes_weight"],
            "threshold": bundle.meta["threshold"],
        },
        "seconds": round(time.monotonic() - t0, 1),
    }
    (out / "metrics.json").write_text(json.dumps(metrics, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    for line in format_bootstrap("topic 5-fold CV on train (offsets and priors tuned on the same folds)", cv_boot):
        echo(line)
    for line in format_bootstrap("topic 5-fold CV on train, nested (offsets tuned without the scored fold)", nested_boot):
        echo(line)
    echo(
        f"topic dev: macro-F1 {topic_dev['macro_f1']}, accuracy {topic_dev['accuracy']}, 其他 recall {topic_dev['per_class'][OTHER]['recall']}"
    )
    for k, v in topic_dev["per_class"].items():
        echo(f"  {k:<10} P {v['precision']:.3f}  R {v['recall']:.3f}  F1 {v['f1']:.3f}  n={v['support']}")
    echo(
        f"sentiment dev: accuracy {sent_dev['accuracy']} (linear alone {metrics['sentiment_dev_components']['linear_only_accuracy']}, "
        f"snownlp Bayes retrained alone {metrics['sentiment_dev_components']['snownlp_bayes_retrained_accuracy']})"
    )
    echo(f"models written to {out} in {metrics['seconds']} s")
    return metrics


if __name__ == "__main__":
    main()

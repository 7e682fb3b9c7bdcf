"""Keywords on real posts (tests/data/keywords_posts.jsonl, copied from the shared 问政 data):
the junk a reader found in the first version (issue 15 and 14) is gone and whole names are kept."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from processors.classify import Classifier
from processors.keywords import LATIN_TERMS, STOP_WORDS, generic_words, keywords, pos
from yuqing.events import PostCollected, Source
from yuqing.text import tokenize
from yuqing.timeutil import now

POSTS = {
    (d := json.loads(line))["id"]: d
    for line in (Path(__file__).resolve().parents[1] / "data" / "keywords_posts.jsonl").read_text(encoding="utf-8").splitlines()
}


def kws(post_id: str, k: int = 8) -> list[str]:
    p = POSTS[post_id]
    title, body = tokenize(p["title"]), tokenize(p["content"])
    return keywords(title + body, k, len(title))


@pytest.mark.parametrize(
    ("post_id", "junk", "whole"),
    [
        # anonymised codes glued to names: A7县江背镇 → 县江 + 背镇; A市金茂府; A5区长郡; K9县龙盛矿业
        ("tipdm2020c_fj3:201016", {"县江", "背镇"}, "江背镇"),
        ("tipdm2020c_fj3:200316", {"市金茂府"}, "金茂府"),
        ("tipdm2020c_fj3:236926", {"区长"}, "长郡语外"),
        ("tipdm2020c_fj4:118365", {"县龙盛", "人吃人", "矿业"}, "龙盛矿业"),
        # a name cut in two: 船 + 山西路, 红星 + 美凯龙
        ("tipdm2020c_fj4:51576", {"山西路", "红星"}, "船山西路"),
        # names the tokeniser splits, repeated in the post: one phrase
        ("tipdm2020c_fj3:242106", {"海伦", "春天"}, "海伦春天"),
        ("tipdm2020c_fj3:191688", {"朝正", "美苑"}, "朝正美苑"),
        # filler
        ("tipdm2020c_fj3:190754", {"此处", "发生", "经过"}, None),
        ("tipdm2020c_fj3:192500", {"后来", "安排"}, None),
        ("tipdm2020c_fj3:198973", {"真的", "难道"}, None),
        ("tipdm2020c_fj2:155617", {"那种", "县巫"}, "巫水河"),
        # numbers: times and dates
        ("tipdm2020c_fj3:225004", {"13.00", "14.00", "22.40"}, "周楠中学"),
        ("tipdm2020c_fj3:192581", {"2019.7.21", "c2"}, None),
    ],
)
def test_reader_found_junk_is_gone_and_names_are_whole(post_id: str, junk: set[str], whole: str | None) -> None:
    got = kws(post_id)
    assert got, post_id
    assert not junk & set(got), (post_id, got)
    if whole:
        assert whole in got, (post_id, got)


def test_no_numbers_codes_or_stop_words_on_any_real_post() -> None:
    for post_id in POSTS:
        for w in kws(post_id):
            assert w not in STOP_WORDS and w not in generic_words(), (post_id, w)
            assert w in LATIN_TERMS or (re.search(r"[\u3400-\u9fff]", w) and not re.search(r"\d", w)), (post_id, w)
            assert "西地" not in w, (post_id, w)


def test_parts_of_speech_come_from_the_dictionary() -> None:
    assert pos("垃圾站") == "n" and pos("此处") == "r" and pos("后来") == "t"
    assert pos("县江") == "x"  # not a dictionary word: a guess of the tokeniser


def test_keyword_list_is_short_ordered_and_stable() -> None:
    got = kws("tipdm2020c_fj3:200316", 3)
    assert len(got) == 3 and got[0] == "金茂府"
    # a phrase and its parts are never listed together
    for a in kws("tipdm2020c_fj3:242106"):
        assert not any(a != b and a in b for b in kws("tipdm2020c_fj3:242106"))
    assert keywords([], 5) == [] and keywords(["垃圾站"], 0) == []


def test_classifier_uses_the_title_boundary() -> None:
    p = POSTS["tipdm2020c_fj4:51576"]
    post = PostCollected(id="t:1", title=p["title"], content=p["content"], published_at=now(), source=Source(id="t", kind="t", name="t"))
    c = Classifier().classify(post)
    assert c.keywords == kws("tipdm2020c_fj4:51576")


# -- the once-ok words, stored with the IDF table ---------------------------------------------
REGENERATE = "run `python scripts/keywords_read.py once-ok` (or `yuqing train`) to store them again"


def test_the_stored_once_ok_words_are_what_static_computes_today() -> None:
    """The shipped IDF file holds the words one mention is enough for, read at start-up instead of
    ~40 ms of part-of-speech look-ups. A change of the stop lists, the generic words or the
    dictionary that is not stored again would change keywords silently."""
    import numpy as np

    from processors import keywords as kw

    with np.load(kw.IDF_PATH, allow_pickle=False) as z:
        assert kw.ONCE_OK in z.files, f"{kw.IDF_PATH} has no once-ok words: {REGENERATE}"
        stored = z[kw.ONCE_OK]
    now_flags = kw.once_ok_flags()
    changed = sorted(w for w, a, b in zip(kw._idf()[0], stored.tolist(), now_flags.tolist(), strict=True) if a != b)
    assert not changed, f"the once-ok words changed ({len(changed)}: {changed[:10]}): {REGENERATE}"
    kw._once_ok.cache_clear()
    assert kw._once_ok() == frozenset(kw._once_ok_words(kw._idf()[0]))


def test_an_idf_file_without_once_ok_words_still_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    from processors import keywords as kw

    with np.load(kw.IDF_PATH, allow_pickle=False) as z:
        old = {k: z[k] for k in z.files if k != kw.ONCE_OK}
        expected = {w for w, ok in zip(str(z["words"]).split("\n"), z[kw.ONCE_OK].tolist(), strict=True) if ok}
    np.savez_compressed(tmp_path / "old.npz", **old)  # type: ignore[arg-type]
    before = [kws(p) for p in POSTS]
    monkeypatch.setattr(kw, "IDF_PATH", tmp_path / "old.npz")
    try:
        for cached in (kw._idf, kw._once_ok):
            cached.cache_clear()
        kw._cache.clear()
        assert kw._stored_once_ok(len(kw._idf()[0])) is None
        assert kw._once_ok() == expected
        assert [kws(p) for p in POSTS] == before
    finally:
        monkeypatch.undo()
        for cached in (kw._idf, kw._once_ok):
            cached.cache_clear()
        kw._cache.clear()


def test_learn_idf_stores_the_once_ok_words_with_the_table(tmp_path: Path) -> None:
    import numpy as np

    from processors import keywords as kw

    shipped = kw._idf()
    docs = [tokenize(p["title"] + "。" + p["content"]) for p in POSTS.values()] * 2
    n = kw.learn_idf(docs, tmp_path / "idf.npz")
    with np.load(tmp_path / "idf.npz", allow_pickle=False) as z:
        words, flags = str(z["words"]).split("\n"), z[kw.ONCE_OK]
    assert len(words) == n == flags.size and 0 < flags.sum() < n
    assert np.array_equal(flags, kw.once_ok_flags(tmp_path / "idf.npz"))
    assert kw._idf() == shipped  # the shipped table is still the one in use

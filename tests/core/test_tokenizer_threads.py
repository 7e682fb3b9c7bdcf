"""The tokeniser is built once however many threads ask for it first (web workers' thread pools:
the first 检索 of a fresh worker came from many requests at once)."""

from __future__ import annotations

import threading

from yuqing import text


def test_threads_asking_for_the_tokeniser_at_once_all_get_it() -> None:
    text._built.clear()  # as in a fresh process (the default tokeniser keeps its words: adding them again is harmless)
    posts = ["县人社局回应工资拖欠问题，农民工工资已于本周发放完毕" * 40] * 16
    start = threading.Barrier(len(posts))
    errors: list[BaseException] = []
    words: list[list[str]] = []

    def run(post: str) -> None:
        start.wait()
        try:
            for _ in range(5):
                words.append(text.tokenize(post))
        except BaseException as exc:  # any failure is the finding
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(p,)) for p in posts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(words) == 80 and all(w == words[0] for w in words) and "工资" in words[0]
    assert len(text._built) == 1

"""The keyword reading: 100 real posts, each keyword judged junk or not by a person.

    python scripts/keywords_read.py sample [PATH/TO/wenzheng_posts.jsonl]   # the posts and today's keywords, to read
    python scripts/keywords_read.py score                                  # the junk rates in data/labels/keywords_read.jsonl
    python scripts/keywords_read.py generic                                # relearn processors/keywords_generic.txt
    python scripts/keywords_read.py once-ok                                # recompute the once-ok words of the IDF file

The sample is fixed (``random.Random(SEED).sample`` of the 问政 posts). Each row of
``data/labels/keywords_read.jsonl`` is one keyword of one post in one version with the reader's
judgement ``junk``: ``before``, the first version (plain TF-IDF); ``after-1``, the filtered version
as first written, read before anything was tuned on these posts (the held-out figure); ``after``,
today's version, after the generic-word list and the tail cut were added with these posts in
view (so its figure is flattered) (what "junk" means is written down in docs/labelling.md, section "Keywords"). ``score``
also says whether today's code still gives the ``after`` keywords that were read; if not, the
changed posts must be read again.
"""

from __future__ import annotations

import json
import random
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
LABELS = ROOT / "data" / "labels" / "keywords_read.jsonl"
SOURCE = ROOT.parent.parent / "shared" / "data" / "wenzheng_posts.jsonl"
SEED = 20261204
N = 100


def sample_posts(source: Path) -> list[dict[str, str]]:
    with open(source, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return random.Random(SEED).sample(rows, N)


def current_keywords(post: dict[str, str]) -> list[str]:
    from processors.keywords import keywords
    from yuqing.text import tokenize

    title, body = tokenize(post["title"]), tokenize(post["content"])
    return keywords(title + body, 8, len(title))


def cmd_sample(source: Path) -> None:
    for i, p in enumerate(sample_posts(source)):
        print(f"{i} {p['id']} {p['title']}\n    {' '.join(current_keywords(p))}")


def cmd_score(source: Path | None) -> None:
    rows = [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines() if line.strip()]
    by: dict[tuple[str, str], list[dict[str, object]]] = defaultdict(list)
    for r in rows:
        by[str(r["version"]), str(r["post_id"])].append(r)
    posts = sorted({str(r["post_id"]) for r in rows})
    print(f"{len(posts)} posts read, {len(rows)} judgements")
    print(f"{'version':<8}{'keywords':>10}{'junk':>6}{'junk share':>12}{'posts with >=2 junk':>22}")
    for version in ("before", "after-1", "after"):
        kws = [r for r in rows if r["version"] == version]
        if not kws:
            continue
        junk = sum(1 for r in kws if r["junk"])
        two = sum(1 for p in posts if sum(1 for r in by[version, p] if r["junk"]) >= 2)
        print(f"{version:<8}{len(kws):>10}{junk:>6}{junk / len(kws):>12.1%}{two:>15} / {len(posts)}")
    if source is not None and source.exists():
        stale = []
        for p in sample_posts(source):
            read = [str(r["keyword"]) for r in sorted(by["after", p["id"]], key=lambda r: int(str(r["rank"])))]
            if read != current_keywords(p):
                stale.append(p["id"])
        print(
            f"today's code gives the keywords that were read for {N - len(stale)} of {N} posts"
            + (f"; read again: {stale}" if stale else "")
        )


def cmd_generic() -> None:
    from processors.keywords import GENERIC_PATH, learn_generic
    from yuqing.text import tokenize

    labelled = ROOT / "data" / "labels" / "labelled.jsonl"
    rows = [json.loads(line) for line in labelled.read_text(encoding="utf-8").splitlines() if line.strip()]
    words = learn_generic([(r["topic"], tokenize(r["title"]) + tokenize(r["content"])) for r in rows])
    GENERIC_PATH.write_text("".join(w + "\n" for w in words), encoding="utf-8")
    print(f"{len(words)} generic words from {len(rows)} labelled posts -> {GENERIC_PATH}")
    cmd_once_ok()  # a generic word is never a keyword: the stored once-ok words change with them


def cmd_once_ok() -> None:
    """The words of the IDF table one mention is enough for, stored in it (read at start-up by
    ``processors.keywords._once_ok``), after a change of the stop lists, the generic words or the
    dictionary; ``yuqing train`` stores them with a new table."""
    from processors.keywords import IDF_PATH, store_once_ok

    print(f"{store_once_ok()} once-ok words -> {IDF_PATH}")


def main() -> None:
    args = sys.argv[1:]
    if not args or args[0] not in ("sample", "score", "generic", "once-ok"):
        sys.exit(__doc__)
    if args[0] == "generic":
        cmd_generic()
        return
    if args[0] == "once-ok":
        cmd_once_ok()
        return
    source = Path(args[1]) if len(args) > 1 else SOURCE
    if args[0] == "sample":
        cmd_sample(source)
    else:
        cmd_score(source)


if __name__ == "__main__":
    main()

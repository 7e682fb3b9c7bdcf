"""Assemble data/labels/labelled.jsonl from the labellers' files in data/labels/raw/.

batch_*.jsonl are first-pass labels (each post read once); review_*.jsonl are second reads of
the posts where the first label and a cross-validated model disagreed (review_6: posts of other
topics found by keyword search for the rare topics), and override them. Texts are joined from
../shared/data/wenzheng_posts.jsonl by id. external_*.jsonl are real texts from the other corpora
in ../shared/data (TNEWS headlines, Weibo posts), labelled by reading; they carry their own text
and a ``corpus`` field, keep their batch name and are used for training only (never dev, never
scored in cross-validation: see processors/train.py).

    python scripts/build_labelled.py [PATH/TO/wenzheng_posts.jsonl]
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "data" / "labels" / "raw"


def main(source: str) -> None:
    texts = {}
    with open(source, encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            texts[d["id"]] = d
    labels: dict[str, dict[str, str]] = {}
    for f in sorted(RAW.glob("batch_*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            labels.setdefault(d["id"], {"topic": d["topic"], "sentiment": d["sentiment"], "batch": f.stem})
    changed: Counter[str] = Counter()
    for f in sorted(RAW.glob("review_*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            old = labels[d["id"]]
            changed["topic"] += old["topic"] != d["topic"]
            changed["sentiment"] += old["sentiment"] != d["sentiment"]
            labels[d["id"]] = {"topic": d["topic"], "sentiment": d["sentiment"], "batch": old["batch"], "reviewed": f.stem}
    external: list[dict[str, str]] = []
    for f in sorted(RAW.glob("external_*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            if d["id"] in labels or any(e["id"] == d["id"] for e in external):
                raise ValueError(f"{f.name}: duplicate id {d['id']}")
            external.append({**d, "batch": f.stem})
    out = ROOT / "data" / "labels" / "labelled.jsonl"
    with open(out, "w", encoding="utf-8") as fh:
        for pid, lab in labels.items():
            t = texts[pid]
            fh.write(json.dumps({"id": pid, "title": t["title"], "content": t["content"], **lab}, ensure_ascii=False) + "\n")
        for e in external:
            row = {k: e[k] for k in ("id", "title", "content", "topic", "sentiment", "batch", "corpus")}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(
        f"{len(labels)} board posts + {len(external)} from other corpora -> {out}; review changed {changed['topic']} topics, {changed['sentiment']} sentiments"
    )
    print(Counter(v["topic"] for v in labels.values()))
    print("other corpora:", Counter(e["topic"] for e in external))
    print(Counter(v["sentiment"] for v in labels.values()))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(ROOT.parent / "shared" / "data" / "wenzheng_posts.jsonl"))

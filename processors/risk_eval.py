"""Agreement of risk levels with a person's reading, before (the topic-led scoring that
``processors/risk.py`` replaced) and after (the incident-led scoring), on the hand-read set
``data/labels/risk.jsonl``.

    python -m processors.risk_eval            # tables on the held-out part and on all posts
    python -m processors.risk_eval --fit      # search the weights on the fitting part

The set is split deterministically by a hash of the post id: about 60 % to fit the weights and
thresholds on, 40 % held out. Topic, sentiment and tokens come from the trained models, as in
the processing worker; events are single posts (the set has no event context).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from processors import risk
from processors.models import Models
from yuqing.events import Risk
from yuqing.text import tokenize

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "data" / "labels" / "risk.jsonl"
ORDER = ("低", "中", "高", "重大")


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    person: str
    topic: str
    sentiment: str
    negativity: float
    tokens: list[str]
    fit: bool


def in_fit_part(post_id: str) -> bool:
    return int(hashlib.sha1(post_id.encode("utf-8")).hexdigest(), 16) % 10 < 6


def load_cases(path: Path = LABELS) -> list[Case]:
    models = Models.load()
    cases = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            title, content, level = row["title"], row["content"], row["level"]
        except (json.JSONDecodeError, KeyError) as e:
            raise SystemExit(f"{path}:{n}: not a risk label ({e})") from None
        if level not in ORDER:
            raise SystemExit(f"{path}:{n}: level {level!r} is not one of {ORDER}")
        tt, bt = tokenize(title), tokenize(content)
        p = models.predict(title, content, tt, bt)
        cases.append(Case(row["id"], f"{title}\n{content}", level, p.topic, p.sentiment, p.negativity, tt + bt, in_fit_part(row["id"])))
    return cases


# The scoring before issue 15, kept verbatim for the comparison: topic base + negative strength +
# danger words by token (capped at 40) + collective wage claims (+ event growth, absent here).
_LEGACY_TOPIC = {
    "安全生产": 25,
    "工资拖欠": 20,
    "食品药品安全": 20,
    "环境污染和生态破坏": 15,
    "房地产金融": 15,
    "困难群众生活": 15,
    "教育医疗养老": 10,
}
_LEGACY_DANGER = {
    "伤亡": (25, "伤亡"), "死亡": (25, "伤亡"), "身亡": (25, "伤亡"), "遇难": (25, "伤亡"), "死了": (25, "伤亡"),
    "受伤": (15, "伤亡"), "爆炸": (25, "爆炸"), "起火": (15, "火灾"), "火灾": (15, "火灾"), "坍塌": (20, "坍塌"),
    "倒塌": (20, "坍塌"), "中毒": (20, "中毒"), "跳楼": (25, "极端行为"), "自杀": (25, "极端行为"), "轻生": (20, "极端行为"),
    "自焚": (25, "极端行为"), "群体": (15, "群体性"), "群体性": (20, "群体性"), "集体": (10, "群体性"), "聚集": (15, "聚集"),
    "拉横幅": (15, "聚集"), "堵路": (20, "堵路"), "围堵": (15, "堵路"), "上访": (10, "上访"), "信访": (5, "上访"),
    "媒体": (5, "媒体关注"), "曝光": (5, "媒体关注"), "记者": (5, "媒体关注"),
}  # fmt: skip


def legacy_level(c: Case) -> str:
    score = _LEGACY_TOPIC.get(c.topic, 0)
    if c.sentiment == "negative":
        score += 10 + round(20 * max(0.0, c.negativity - 0.5))
    present, seen, danger = set(c.tokens), set(), 0
    for word, (pts, label) in _LEGACY_DANGER.items():
        if word in present and label not in seen and danger < 40:
            seen.add(label)
            pts = min(pts, 40 - danger)
            danger += pts
            score += pts
    if (
        c.topic == "工资拖欠"
        and {"农民工", "工人", "民工", "集体", "群体", "工友"} & present
        and {"讨薪", "欠薪", "拖欠", "讨要"} & present
    ):
        score += 10
    return risk.level_of(min(score, 100))


def new_risk(c: Case) -> Risk:
    return risk.assess(c.topic, c.sentiment, c.negativity, c.tokens, text=c.text)


def new_level(c: Case) -> str:
    return new_risk(c).level


@dataclass(frozen=True)
class Agreement:
    n: int
    exact: float
    within_one: float
    matrix: dict[tuple[str, str], int]

    def pr(self, levels: Sequence[str]) -> tuple[float, float, int, int]:
        """Precision and recall of the model for 'one of ``levels``', with the counts."""
        predicted = sum(v for (p, m), v in self.matrix.items() if m in levels)
        actual = sum(v for (p, m), v in self.matrix.items() if p in levels)
        hit = sum(v for (p, m), v in self.matrix.items() if p in levels and m in levels)
        return (hit / predicted if predicted else 0.0, hit / actual if actual else 0.0, predicted, actual)


def agreement(pairs: Sequence[tuple[str, str]]) -> Agreement:
    matrix = {(p, m): 0 for p in ORDER for m in ORDER}
    for p, m in pairs:
        matrix[(p, m)] += 1
    n = len(pairs)
    exact = sum(p == m for p, m in pairs) / n
    within = sum(abs(ORDER.index(p) - ORDER.index(m)) <= 1 for p, m in pairs) / n
    return Agreement(n, exact, within, matrix)


def table(a: Agreement) -> str:
    lines = ["| person \\ model | " + " | ".join(ORDER) + " | total |", "|---|" + "---:|" * (len(ORDER) + 1)]
    for p in ORDER:
        row = [a.matrix[(p, m)] for m in ORDER]
        lines.append(f"| {p} | " + " | ".join(str(v) for v in row) + f" | {sum(row)} |")
    lines.append(f"exact {a.exact:.1%}, within one level {a.within_one:.1%} (n={a.n})")
    for name, levels in (("重大", ("重大",)), ("高", ("高",)), ("高+重大", ("高", "重大"))):
        prec, rec, npred, nact = a.pr(levels)
        lines.append(f"{name}: precision {prec:.1%} ({npred} predicted), recall {rec:.1%} ({nact} read)")
    return "\n".join(lines)


def objective(cases: Sequence[Case], level: Callable[[Case], str]) -> float:
    a = agreement([(c.person, level(c)) for c in cases])
    p1, r1, _, _ = a.pr(("重大",))
    p2, r2, _, _ = a.pr(("高", "重大"))
    f1 = 2 * p1 * r1 / (p1 + r1) if p1 + r1 else 0.0
    f2 = 2 * p2 * r2 / (p2 + r2) if p2 + r2 else 0.0
    return a.exact + 0.5 * f1 + 0.5 * f2


# Factors a county must never see discounted by a small sample: the fit may raise them only.
FLOOR = ("death", "extreme", "serious_injury", "injury", "collective_strong", "accident", "violence")


def fit(cases: Sequence[Case], rounds: int = 2) -> dict[str, int]:
    """Coordinate search over the weights on the fitting part, each between half and twice its
    hand-set value (those in FLOOR not below it); the levels' thresholds stay at 25/50/75
    (scaling the weights is the same as moving them)."""
    part = [c for c in cases if c.fit]
    best = objective(part, new_level)
    hand = dict(risk.W)
    for _ in range(rounds):
        improved = False
        for key in list(risk.W):
            base = risk.W[key]
            for factor in (0.5, 0.75, 1.0, 1.25, 1.5, 2.0):
                if key in FLOOR and factor < 1.0:
                    continue
                risk.W[key] = round(hand[key] * factor)
                score = objective(part, new_level)
                if score > best + 1e-9:
                    best, base, improved = score, risk.W[key], True
            risk.W[key] = base
        if not improved:
            break
    print(f"objective on the fitting part: {best:.3f}")
    return dict(risk.W)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--labels", type=Path, default=LABELS)
    ap.add_argument("--fit", action="store_true", help="search the weights on the fitting part and print them")
    ap.add_argument(
        "--show", choices=ORDER, help="list the held-out and fitting posts a person put at this level, with the model's reasons"
    )
    args = ap.parse_args(argv)
    cases = load_cases(args.labels)
    if args.fit:
        print(json.dumps(fit(cases), ensure_ascii=False, indent=1))
    if args.show:
        for c in cases:
            if c.person == args.show:
                r = new_risk(c)
                print(f"{c.id} person={c.person} model={r.level} {r.score} {r.reasons} | {c.text[:80]!r}")
        return
    held = [c for c in cases if not c.fit]
    results = {}
    for part_name, part in (("held-out", held), ("all", cases)):
        for name, level in (("before", legacy_level), ("after", new_level)):
            a = agreement([(c.person, level(c)) for c in part])
            results[(part_name, name)] = a
            print(f"\n### {part_name} ({len(part)} posts), {name}\n\n{table(a)}")
    t0 = time.process_time()
    for c in cases:
        legacy_level(c)
    t1 = time.process_time()
    for c in cases:
        new_level(c)
    t2 = time.process_time()
    per = 1e6 / len(cases)
    print(f"\nscoring CPU time per post: before {(t1 - t0) * per:.0f} µs, after {(t2 - t1) * per:.0f} µs")
    h, al = results[("held-out", "after")], results[("all", "after")]
    hb, alb = results[("held-out", "before")], results[("all", "before")]
    print(
        f"RESULT heldout_exact_before={hb.exact:.3f} heldout_exact_after={h.exact:.3f} "
        f"heldout_within1_before={hb.within_one:.3f} heldout_within1_after={h.within_one:.3f} "
        f"all_exact_before={alb.exact:.3f} all_exact_after={al.exact:.3f} "
        f"all_major_precision_after={al.pr(('重大',))[0]:.3f} all_major_recall_after={al.pr(('重大',))[1]:.3f} "
        f"all_high_plus_precision_after={al.pr(('高', '重大'))[0]:.3f} all_high_plus_recall_after={al.pr(('高', '重大'))[1]:.3f}"
    )


if __name__ == "__main__":
    main()

"""The briefing's 回应效果 section: for each case answered (回复 or 公开) recently, whether its event
calmed down (``ledger.effect``).

Which cases: those with an event and a response time (the earliest of 实际回复时间 and the
commitments' 公开时间) in ``[period.since − window, period.until)`` — answered in the period, or
just before it so that their after-window ends in it. Each is judged at the end of the period (or
now, if earlier), so a case answered late in the period is 尚早.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, inspect, or_, select
from sqlalchemy.orm import Session

from briefings.model import Period
from ledger.effect import Effect, EffectConfig, case_effect, response_time
from yuqing.errors import BackendError

if TYPE_CHECKING:
    from briefings.word import _Writer

VERDICT_ORDER = ("升温", "持续", "平息", "尚早", "无数据")


@dataclass(frozen=True)
class EffectRow:
    case_number: str
    title: str
    unit: str
    effect: Effect


@dataclass(frozen=True)
class EffectFigures:
    available: bool  # False: no ledger database or no store
    rows: tuple[EffectRow, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)  # verdict -> cases
    total: int = 0  # cases judged (rows may be fewer: the table is cut at ``limit``)
    window_hours: float = 72.0


def effect_figures(
    engine: Engine | None, store: Any, period: Period, at: datetime, config: EffectConfig, *, limit: int = 10
) -> EffectFigures:
    from ledger.tables import Case, Commitment

    if engine is None or store is None or not inspect(engine).has_table(Case.__tablename__):
        return EffectFigures(available=False, window_hours=config.window_hours)
    start = period.since - timedelta(hours=config.window_hours)

    def within(col: Any) -> Any:
        return (col >= start) & (col < period.until)

    with Session(engine) as s:
        answered_ids = select(Commitment.case_id).where(within(Commitment.disclosed_at))
        cases = list(
            s.scalars(
                select(Case).where(Case.event_id.is_not(None), or_(within(Case.responded_at), Case.id.in_(answered_ids))).order_by(Case.id)
            )
        )
        judged: list[EffectRow] = []
        for case in cases:
            t = response_time(case)
            if t is None or not start <= t < period.until:
                continue  # an earlier reply counts, not a disclosure in the period
            try:
                effect = case_effect(case, store, at, config)
            except BackendError as exc:
                raise BackendError(f"回应效果：读取事件 {case.event_id} 的帖子失败：{exc}") from exc
            if effect is not None:
                judged.append(EffectRow(case.number or f"#{case.id}", case.title, case.unit.name if case.unit else "", effect))
    counts: Counter[str] = Counter(r.effect.verdict for r in judged)
    rank = {v: i for i, v in enumerate(VERDICT_ORDER)}
    judged.sort(key=lambda r: (rank[r.effect.verdict], -r.effect.after.posts, r.case_number))
    return EffectFigures(
        available=True,
        rows=tuple(judged[:limit]),
        counts={v: counts[v] for v in VERDICT_ORDER if counts[v]},
        total=len(judged),
        window_hours=config.window_hours,
    )


def write_section(w: _Writer, figures: EffectFigures | None) -> None:
    """The 回应效果 section of the Word document."""
    w.heading("回应效果")
    if figures is None or not figures.available:
        w.para("回应台账或帖子库尚未启用，本期无回应效果数据。")
        return
    if not figures.total:
        w.para("本期没有已回复或公开、且关联舆情事件的案件。")
        return
    hours = f"{figures.window_hours:g}"
    parts = "、".join(f"{v}{n}件" for v, n in figures.counts.items())
    w.para(
        f"本期跟踪已回复或公开的舆情事件{figures.total}件（比较回应前后各{hours}小时的帖文量和负面占比），其中{parts}。"
        + _rising_text(figures)
    )
    more = f"（共{figures.total}件，列出{len(figures.rows)}件）" if figures.total > len(figures.rows) else ""
    w.table(
        f"回应效果{more}",
        ["案件编号", "案件标题", "回应时间", "回应前（条/负面）", "回应后（条/负面）", "结论"],
        [
            [
                r.case_number,
                r.title,
                f"{r.effect.response_at:%m-%d %H:%M}" if r.effect.response_at else "—",
                f"{r.effect.before.posts}/{r.effect.before.negative}",
                f"{r.effect.after.posts}/{r.effect.after.negative}",
                r.effect.verdict,
            ]
            for r in figures.rows
        ],
        [2.6, 4.4, 2.2, 2.4, 2.4, 1.6],
    )


def _rising_text(figures: EffectFigures) -> str:
    rising = [r for r in figures.rows if r.effect.verdict == "升温"]
    if not rising:
        return ""
    names = "、".join(f"{r.case_number}（{r.title}）" for r in rising[:3])
    return f"回应后仍在升温的有{names}，建议承办单位进一步核实处置、加强解释说明。"

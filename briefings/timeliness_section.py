"""The briefing's 回复时效 section: reply timeliness per unit in the briefing's period, from the
same figures as the web page (:mod:`ledger.timeliness`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from briefings.model import Briefing, Period
from ledger.timeliness import TimelinessConfig, report
from ledger.timeliness.export import num, pct
from ledger.timeliness.figures import NO_UNIT, Report
from yuqing.store import Store

TOP_UNITS = 10


def timeliness_figures(store: Store | None, ledger_db: Engine | None, cfg: TimelinessConfig, period: Period, made_at: datetime) -> Report:
    return report(store, ledger_db, cfg, period.since, period.until, min(period.until, made_at))


def write(w: Any, b: Briefing) -> None:
    """Adds the section to the Word writer ``w`` (briefings.word._Writer)."""
    r: Report | None = getattr(b, "timeliness", None)
    if r is None:
        return
    w.heading("回复时效")
    t = r.total
    if r.empty:
        w.para("本期未收到需回复的网民留言或交办案件。")
        return
    w.para(
        f"本期收到需回复的留言和交办案件{t.received}条，已回复{t.replied}条，回复率{pct(t.rate)}；"
        f"回复用时中位数{num(t.median)}个工作日，90%的回复在{num(t.p90)}个工作日内；"
        f"超时回复{t.late}条，超期未回复{t.unanswered_overdue}条。"
    )
    if r.best and r.worst:
        best = "、".join(f"{f.key}（回复率{pct(f.rate)}）" for f in r.best)
        worst = "、".join(f"{f.key}（回复率{pct(f.rate)}，超期未回复{f.unanswered_overdue}条）" for f in r.worst)
        w.para(f"回复较好的单位：{best}。回复较差的单位：{worst}。")
    rows = [f for f in r.units if f.key != NO_UNIT][:TOP_UNITS]
    if rows:
        more = f"（收到最多的{len(rows)}个单位）" if len([f for f in r.units if f.key != NO_UNIT]) > len(rows) else ""
        w.table(
            f"各单位回复时效{more}",
            ["单位", "收到", "已回复", "回复率", "中位用时（工作日）", "超时回复", "超期未回复"],
            [[f.key, f.received, f.replied, pct(f.rate), num(f.median), f.late, f.unanswered_overdue] for f in rows],
            [4.5, 1.6, 1.8, 2, 2.6, 2, 2.4],
        )
    notes = []
    nobody = next((f for f in r.units if f.key == NO_UNIT), None)
    if nobody is not None and nobody.unanswered:
        notes.append(f"{nobody.unanswered}条未回复留言的来源未注明承办单位")
    if r.unattributed:
        notes.append(f"{len(r.unattributed)}条回复未能识别回复单位（未作推测）")
    if r.problems:
        notes.append(f"{len(r.problems)}条记录时间有误或缺失（回复早于留言、无回复时间等，计为已回复但不计用时）")
    if notes:
        w.para("另有" + "；".join(notes) + "，明细见台账系统“回复时效”页及其导出表。")

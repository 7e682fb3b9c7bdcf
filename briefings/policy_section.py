"""The briefing's 政策舆情 section: for each watched policy whose before/after window overlaps the
briefing's period, what was said about it before and after publication (the same figures as the
``/policies/{id}`` page: ``schemes.policy_report``) and the response cases linked to it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from briefings.model import Briefing, Period
from ledger.policy_links import LinkedCase, linked_cases
from schemes.policies import read_policies
from schemes.policy_report import AFTER_DAYS, BEFORE_DAYS, PolicyReport, report
from yuqing.store import Store


@dataclass(frozen=True)
class PolicyFigures:
    report: PolicyReport
    cases: list[LinkedCase]


def policy_figures(store: Store | None, ledger_db: Engine | None, period: Period, made_at: datetime) -> list[PolicyFigures]:
    """Watched policies published within ``BEFORE_DAYS`` after or ``AFTER_DAYS`` before the period."""
    if store is None or ledger_db is None:
        return []
    at = min(period.until, made_at)
    out: list[PolicyFigures] = []
    for p in read_policies(ledger_db, active_only=True):
        if p.start - timedelta(days=BEFORE_DAYS) >= period.until or p.start + timedelta(days=AFTER_DAYS) <= period.since:
            continue
        r = report(store, p, now=at, top=5)
        try:
            cases = linked_cases(ledger_db, r)
        except Exception:  # a store without the ledger's tables (a fresh install): no cases to link
            cases = []
        out.append(PolicyFigures(r, cases))
    return sorted(out, key=lambda f: f.report.start, reverse=True)


def _share(v: float | None) -> str:
    return f"{v * 100:.1f}%" if v is not None else "—"


def write(w: Any, b: Briefing) -> None:
    """Adds the section to the Word writer ``w`` (briefings.word._Writer); nothing when no
    policy is watched in the period."""
    figures: list[PolicyFigures] | None = getattr(b, "policies", None)
    if not figures:
        return
    w.heading("政策舆情")
    for f in figures:
        r, p = f.report, f.report.policy
        head = f"《{p.title.strip('《》')}》（{p.doc_number + '，' if p.doc_number else ''}{p.issuer}，{p.published:%Y年%m月%d日}发布）"
        before = f"发布前{BEFORE_DAYS}天有关信息{r.before.total}条，负面占比{_share(r.before.share)}"
        if r.upcoming:
            text = f"{head}尚未发布：{before}。"
        else:
            change = ""
            if r.share_change is not None:
                d = r.share_change * 100
                change = "，负面占比持平" if abs(d) < 0.05 else f"，负面占比{'上升' if d > 0 else '下降'}{abs(d):.1f}个百分点"
            text = f"{head}：{before}；发布后至{r.until:%m月%d日}{r.after.total}条，负面占比{_share(r.after.share)}{change}。"
        if r.concerns:
            text += "网民主要关注：" + "、".join(f"{c.word}（{c.before + c.after}条）" for c in r.concerns[:5]) + "。"
        if r.questions:
            asked = r.question_count[0] + r.question_count[1]
            text += f"提问{asked}条，如“{r.questions[0].sentence[:60]}”。"
        text += f"关联回应案件{len(f.cases)}件" + (
            "（" + "、".join(c.number or str(c.id) for c in f.cases[:5]) + ("等" if len(f.cases) > 5 else "") + "）。" if f.cases else "。"
        )
        w.para(text)

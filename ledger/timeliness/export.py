"""Reply timeliness to Excel (.xlsx), in the ledger export's layout: one sheet per view."""

from __future__ import annotations

from datetime import datetime
from io import BytesIO

from openpyxl import Workbook

from ledger.export import _sheet
from ledger.timeliness.figures import Figures, Report

FIGURE_COLUMNS: list[tuple[str, int]] = [
    ("收到", 8),
    ("已回复", 8),
    ("回复率", 9),
    ("中位用时（工作日）", 11),
    ("P90 用时（工作日）", 11),
    ("超时回复", 9),
    ("未回复", 8),
    ("超期未回复", 10),
    ("回复时间不明", 10),
]


def pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def num(x: float | None) -> object:
    if x is None:
        return "—"
    return int(x) if float(x).is_integer() else round(float(x), 1)


def figure_cells(f: Figures) -> list[object]:
    return [f.received, f.replied, pct(f.rate), num(f.median), num(f.p90), f.late, f.unanswered, f.unanswered_overdue, f.no_time]


def _t(dt: datetime | None) -> str:
    return f"{dt:%Y-%m-%d %H:%M}" if dt else ""


def export_xlsx(r: Report, at: datetime, period_label: str) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "按单位"
    title = f"回复时效统计（{period_label}）"
    rows = [[f.key, *figure_cells(f)] for f in r.units] + [[r.total.key, *figure_cells(r.total)]]
    _sheet(ws, title, at, [("单位", 22), *FIGURE_COLUMNS], rows)
    _sheet(
        wb.create_sheet("按渠道"), f"{title}·按渠道", at, [("渠道", 22), *FIGURE_COLUMNS], [[f.key, *figure_cells(f)] for f in r.channels]
    )
    _sheet(
        wb.create_sheet("单位×渠道"),
        f"{title}·单位×渠道",
        at,
        [("单位", 22), ("渠道", 22), *FIGURE_COLUMNS],
        [[u, c, *figure_cells(f)] for u, c, f in r.unit_channels],
    )
    month_rows = [[f.key, "合计", *figure_cells(f)] for f in r.months]
    for unit, months in r.unit_months.items():
        month_rows.extend([f.key, unit, *figure_cells(f)] for f in months)
    _sheet(wb.create_sheet("月度趋势"), f"{title}·月度趋势", at, [("月份", 10), ("单位", 22), *FIGURE_COLUMNS], month_rows)
    ranking = [["较好", i, f.key, *figure_cells(f)] for i, f in enumerate(r.best, 1)]
    ranking += [["较差", i, f.key, *figure_cells(f)] for i, f in enumerate(r.worst, 1)]
    _sheet(wb.create_sheet("排名"), f"{title}·排名", at, [("类别", 8), ("名次", 6), ("单位", 22), *FIGURE_COLUMNS], ranking)
    _sheet(
        wb.create_sheet("未归属回复"),
        f"{title}·未能归属单位的回复",
        at,
        [("编号", 28), ("渠道", 18), ("标题", 30), ("留言时间", 17), ("回复时间", 17), ("原因", 40)],
        [[i.ref, i.channel, i.title, _t(i.received_at), _t(i.replied_at), i.how] for i in r.unattributed],
    )
    _sheet(
        wb.create_sheet("数据问题"),
        f"{title}·数据问题",
        at,
        [("编号", 28), ("渠道", 18), ("标题", 30), ("留言时间", 17), ("回复时间", 17), ("问题", 40)],
        [[p.item.ref, p.item.channel, p.item.title, _t(p.item.received_at), _t(p.item.replied_at), p.problem] for p in r.problems],
    )
    out = BytesIO()
    wb.save(out)
    return out.getvalue()

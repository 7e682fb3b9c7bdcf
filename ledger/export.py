"""Export of the ledger to Excel (.xlsx) in the layout offices file their 舆情回应台账 in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from ledger.states import CaseStatus, CommitmentStatus, is_overdue
from ledger.tables import Case

# (header, width). The order is the one 台账 templates use: identification, what, who, when, outcome.
CASE_COLUMNS: list[tuple[str, int]] = [
    ("序号", 6),
    ("编号", 16),
    ("来源", 10),
    ("原始编号", 14),
    ("类型", 8),
    ("标题", 30),
    ("摘要", 40),
    ("主题", 12),
    ("风险等级", 8),
    ("原帖链接", 30),
    ("交办单位", 18),
    ("协办单位", 18),
    ("交办时间", 17),
    ("办理时限（工作日）", 10),
    ("规定回复时间", 17),
    ("实际回复时间", 17),
    ("回应内容", 40),
    ("状态", 10),
    ("是否超期", 8),
    ("督办次数", 8),
    ("已延期（工作日）", 10),
    ("承诺事项", 40),
    ("落实情况", 40),
    ("公开情况", 30),
    ("回访及满意度", 20),
    ("办结时间", 17),
]
COMMITMENT_COLUMNS: list[tuple[str, int]] = [
    ("案件编号", 16),
    ("序号", 6),
    ("承诺内容", 40),
    ("责任单位", 18),
    ("承诺时限", 17),
    ("落实状态", 10),
    ("落实情况", 40),
    ("落实时间", 17),
    ("佐证材料", 30),
    ("公开渠道", 16),
    ("公开链接", 30),
    ("公开时间", 17),
    ("回访情况", 24),
    ("满意度", 10),
    ("督办次数", 8),
    ("是否超期", 8),
]
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
# Titles and summaries come from public posts: a value starting with one of these would be a formula
# (or be taken for one when the cell is edited) in Excel, WPS and LibreOffice. They are written as text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def as_text(cell: Any) -> None:
    """Makes a string cell that looks like a formula plain text (string type, quote prefix)."""
    if isinstance(cell.value, str) and cell.value.startswith(FORMULA_START):
        cell.data_type = "s"
        cell.quotePrefix = True


def _t(dt: datetime | None) -> str:
    return f"{dt:%Y-%m-%d %H:%M}" if dt else ""


def case_row(i: int, c: Case, at: datetime) -> list[object]:
    from ledger.service import view_of

    coms = c.commitments
    return [
        i,
        c.number,
        c.source,
        c.source_ref,
        c.case_type,
        c.title,
        c.summary,
        c.topic,
        c.risk_level,
        "\n".join(c.post_urls),
        c.unit.name if c.unit else "",
        "、".join(u.name for u in c.co_units),
        _t(c.assigned_at),
        c.time_limit_days,
        _t(c.due_at),
        _t(c.responded_at),
        c.response,
        CaseStatus(c.status).label,
        "是" if is_overdue(view_of(c), at) else "否",
        c.supervise_count,
        c.extended_days,
        "\n".join(f"{m.seq}. {m.content}（{m.unit.name}，{m.due_at:%Y-%m-%d}前）" for m in coms),
        "\n".join(f"{m.seq}. {CommitmentStatus(m.status).label}：{m.fulfilment}" for m in coms if m.fulfilment),
        "\n".join(f"{m.seq}. {m.disclosure_channel} {_t(m.disclosed_at)} {m.disclosure_url}".strip() for m in coms if m.disclosed_at),
        "\n".join(f"{m.seq}. {m.satisfaction} {m.revisit_result}".strip() for m in coms if m.satisfaction),
        _t(c.closed_at),
    ]


def export_xlsx(cases: Sequence[Case], at: datetime, *, title: str = "政务舆情回应台账") -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "台账"
    _sheet(ws, title, at, CASE_COLUMNS, [case_row(i, c, at) for i, c in enumerate(cases, 1)])
    ws2 = wb.create_sheet("承诺事项")
    rows: list[list[object]] = []
    for c in cases:
        for m in c.commitments:
            late = m.status == CommitmentStatus.OPEN.value and at > m.due_at
            evidence = [*m.evidence_links, *(a.filename for a in m.attachments)]
            rows.append(
                [
                    c.number,
                    m.seq,
                    m.content,
                    m.unit.name,
                    _t(m.due_at),
                    CommitmentStatus(m.status).label,
                    m.fulfilment,
                    _t(m.fulfilled_at),
                    "\n".join(evidence),
                    m.disclosure_channel,
                    m.disclosure_url,
                    _t(m.disclosed_at),
                    m.revisit_result,
                    m.satisfaction,
                    m.supervise_count,
                    "是" if late else "否",
                ]
            )
    _sheet(ws2, f"{title}（承诺事项）", at, COMMITMENT_COLUMNS, rows)
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def _sheet(ws, title: str, at: datetime, columns: list[tuple[str, int]], rows: list[list[object]]) -> None:  # type: ignore[no-untyped-def]
    ws.append([title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(columns))
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append([f"导出时间：{at:%Y-%m-%d %H:%M}"])
    ws.append([h for h, _ in columns])
    for i, (_, width) in enumerate(columns, 1):
        cell = ws.cell(row=3, column=i)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(i)].width = width
    for row in rows:
        ws.append(row)
    for r in ws.iter_rows(min_row=4):
        for cell in r:
            cell.alignment = Alignment(vertical="top", wrap_text=True)
            as_text(cell)
    ws.freeze_panes = "C4"

"""Server-rendered SVG for the 政策舆情 page: posts per day and negative share per day, with the
publication day marked on both (no script, no inline style: colours are SVG attributes)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape

from schemes.policy_report import Day

LEFT = 44
TOP = 40
HEIGHT = 150
BOTTOM = 34
BEFORE = "#90a4ae"
AFTER = "#1565c0"
NEGATIVE = "#c62828"
MARK = "#ef6c00"


def _col(n: int) -> float:
    return max(6.0, min(26.0, 760 / max(n, 1)))


def _frame(days: Sequence[Day], label: str) -> tuple[list[str], float, int]:
    col = _col(len(days))
    width = int(LEFT + col * len(days) + 20)
    height = TOP + HEIGHT + BOTTOM
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="{escape(label)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-size="11">',
        f'<line x1="{LEFT}" y1="{TOP + HEIGHT}" x2="{width - 10}" y2="{TOP + HEIGHT}" stroke="#555"/>',
    ]
    step = max(1, len(days) // 8)
    for i, d in enumerate(days):
        if i % step == 0 or i == len(days) - 1:
            x = LEFT + col * i + col / 2
            out.append(f'<text x="{x:.1f}" y="{TOP + HEIGHT + 14}" text-anchor="middle">{d.day[5:]}</text>')
    return out, col, width


def _marker(out: list[str], days: Sequence[Day], col: float, published: date) -> None:
    """The publication day: a dashed line at the start of its column (or at the right edge when
    it is still ahead)."""
    idx = next((i for i, d in enumerate(days) if d.after), None)
    x = LEFT + col * (idx if idx is not None else len(days))
    ahead = idx is None
    text = f"{'将于 ' if ahead else ''}{published:%Y-%m-%d} 发布"
    anchor = "end" if ahead or x > LEFT + col * len(days) - 80 else "start"
    tx = x - 4 if anchor == "end" else x + 4
    out.append(
        f'<line class="published" x1="{x:.1f}" y1="{TOP - 6}" x2="{x:.1f}" y2="{TOP + HEIGHT}" stroke="{MARK}" '
        f'stroke-width="2" stroke-dasharray="5 3"><title>政策发布日 {published:%Y-%m-%d}</title></line>'
    )
    out.append(f'<text x="{tx:.1f}" y="{TOP - 10}" text-anchor="{anchor}" fill="{MARK}" font-weight="bold">{text}</text>')


def volume_svg(days: Sequence[Day], published: date) -> str:
    """Columns per day (grey before publication, blue after), the negative part red."""
    if not days:
        return ""
    out, col, _ = _frame(days, "每日信息量（发布日前后）")
    most = max((d.total for d in days), default=0) or 1
    out.append(f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end">{most}</text>')
    out.append(f'<text x="{LEFT - 6}" y="{TOP + HEIGHT}" text-anchor="end">0</text>')
    for i, d in enumerate(days):
        if not d.total:
            continue
        x = LEFT + col * i + 1
        h = HEIGHT * d.total / most
        hn = HEIGHT * d.negative / most
        color = AFTER if d.after else BEFORE
        out.append(
            f'<rect x="{x:.1f}" y="{TOP + HEIGHT - h:.1f}" width="{col - 2:.1f}" height="{h:.1f}" fill="{color}">'
            f"<title>{d.day} 共 {d.total} 条，负面 {d.negative} 条</title></rect>"
        )
        if hn:
            out.append(f'<rect x="{x:.1f}" y="{TOP + HEIGHT - hn:.1f}" width="{col - 2:.1f}" height="{hn:.1f}" fill="{NEGATIVE}"/>')
    _marker(out, days, col, published)
    legend = ((BEFORE, "发布前"), (AFTER, "发布后"), (NEGATIVE, "其中负面"))
    for j, (color, what) in enumerate(legend):
        lx = LEFT + j * 70
        out.append(f'<rect x="{lx}" y="2" width="10" height="10" fill="{color}"/><text x="{lx + 14}" y="11">{what}</text>')
    out.append("</svg>")
    return "".join(out)


def share_svg(days: Sequence[Day], published: date, before: float | None, after: float | None) -> str:
    """Negative share per day (days with posts), with the before and after averages as lines."""
    if not days:
        return ""
    out, col, width = _frame(days, "每日负面占比（发布日前后）")
    for v in (0, 50, 100):
        y = TOP + HEIGHT - HEIGHT * v / 100
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{v}%</text>')
        if v:
            out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" stroke="#ddd"/>')
    for i, d in enumerate(days):
        if d.share is None:
            continue
        x = LEFT + col * i + col / 2
        y = TOP + HEIGHT - HEIGHT * d.share
        out.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{AFTER if d.after else BEFORE}">'
            f"<title>{d.day} 负面 {d.negative}/{d.total} 条（{d.share:.0%}）</title></circle>"
        )
    idx = next((i for i, d in enumerate(days) if d.after), len(days))
    for lo, hi, value, color, name in ((0, idx, before, BEFORE, "发布前"), (idx, len(days), after, AFTER, "发布后")):
        if value is None or hi <= lo:
            continue
        y = TOP + HEIGHT - HEIGHT * value
        out.append(
            f'<line x1="{LEFT + col * lo:.1f}" y1="{y:.1f}" x2="{LEFT + col * hi:.1f}" y2="{y:.1f}" stroke="{color}" stroke-width="2">'
            f"<title>{name}负面占比 {value:.0%}</title></line>"
        )
    _marker(out, days, col, published)
    out.append("</svg>")
    return "".join(out)

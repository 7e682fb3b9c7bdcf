"""Server-rendered SVG charts for the timeliness page (no script, no external assets)."""

from __future__ import annotations

from html import escape

from ledger.timeliness.figures import Figures

BAR_H = 22
LABEL_W = 170
BAR_W = 380


def units_svg(units: list[Figures]) -> str:
    """Horizontal bars: reply rate per unit (green replied in time, orange late, grey unknown, red
    unanswered), with the median working days at the end."""
    rows = [f for f in units if f.received]
    if not rows:
        return ""
    width = LABEL_W + BAR_W + 150
    height = BAR_H * len(rows) + 30
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="各单位回复情况" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-size="12">'
    ]
    for i, f in enumerate(rows):
        y = 20 + i * BAR_H
        out.append(f'<text x="{LABEL_W - 6}" y="{y + 14}" text-anchor="end">{escape(f.key[:14])}</text>')
        x = float(LABEL_W)
        on_time = len(f.timed) - f.late
        for n, color, what in (
            (on_time, "#2e7d32", "按时回复"),
            (f.late, "#ef6c00", "超时回复"),
            (f.no_time, "#90a4ae", "回复时间不明"),
            (f.unanswered, "#c62828", "未回复"),
        ):
            if not n:
                continue
            w = BAR_W * n / f.received
            out.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{BAR_H - 6}" fill="{color}"><title>{escape(f.key)} {what} {n} 条</title></rect>'
            )
            x += w
        rate = f"{f.rate * 100:.0f}%" if f.rate is not None else "—"
        med = f"，中位 {f.median:g} 个工作日" if f.median is not None else ""
        out.append(f'<text x="{LABEL_W + BAR_W + 6}" y="{y + 14}">{rate}{med}</text>')
    legend = (("#2e7d32", "按时回复"), ("#ef6c00", "超时回复"), ("#90a4ae", "回复时间不明"), ("#c62828", "未回复"))
    for j, (color, what) in enumerate(legend):
        lx = LABEL_W + j * 100
        out.append(f'<rect x="{lx}" y="2" width="10" height="10" fill="{color}"/><text x="{lx + 14}" y="11">{what}</text>')
    out.append("</svg>")
    return "".join(out)


def months_svg(months: list[Figures]) -> str:
    """Columns per month: posts received, the replied part darker; median working days as a label."""
    if not months:
        return ""
    col = 46
    width = max(300, col * len(months) + 40)
    height = 170
    top = max(f.received for f in months) or 1
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="月度趋势" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-size="11">'
    ]
    for i, f in enumerate(months):
        x = 20 + i * col
        h_all = 110 * f.received / top
        h_rep = 110 * f.replied / top
        out.append(
            f'<rect x="{x}" y="{130 - h_all:.1f}" width="{col - 12}" height="{h_all:.1f}" fill="#ffcdd2"><title>{f.key} 收到 {f.received} 条</title></rect>'
        )
        out.append(
            f'<rect x="{x}" y="{130 - h_rep:.1f}" width="{col - 12}" height="{h_rep:.1f}" fill="#1565c0"><title>{f.key} 已回复 {f.replied} 条</title></rect>'
        )
        out.append(f'<text x="{x + (col - 12) / 2}" y="145" text-anchor="middle">{f.key[2:]}</text>')
        if f.median is not None:
            out.append(f'<text x="{x + (col - 12) / 2}" y="160" text-anchor="middle" fill="#555">中位{f.median:g}</text>')
        out.append(f'<text x="{x + (col - 12) / 2}" y="{126 - h_all:.1f}" text-anchor="middle">{f.received}</text>')
    out.append("</svg>")
    return "".join(out)

"""Charts of a briefing as PNG: matplotlib figures drawn by the Agg canvas directly, without
pyplot (no display, no global figure registry, so the scheduled job can draw in its thread).

Chinese needs a CJK font that matplotlib knows; without one every character is a box, so a
missing font is an error that names it rather than an ugly briefing.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from briefings.model import Briefing, BriefingError

# rcParams are global: two threads drawing with different settings must take turns.
_LOCK = threading.Lock()
DPI = 200
CURRENT, PREVIOUS, NEGATIVE = "#c0392b", "#95a5a6", "#2c3e50"


@dataclass(frozen=True)
class Chart:
    title: str
    png: bytes
    font_family: str  # the family matplotlib actually resolved for the text


def resolve_font(family: str) -> str:
    """The file matplotlib will draw ``family`` from; BriefingError naming the font when it has none."""
    from matplotlib import font_manager

    if not any(f.name == family for f in font_manager.fontManager.ttflist):
        raise BriefingError(
            f"图表需要中文字体“{family}”，但 matplotlib 未找到该字体（Debian/Ubuntu：apt-get install fonts-noto-cjk，"
            f"然后删除 matplotlib 字体缓存 ~/.cache/matplotlib；或在 ledger.briefing.font 中指定已安装的中文字体）"
        )
    path = font_manager.findfont(font_manager.FontProperties(family=[family]), fallback_to_default=False)
    return str(font_manager.get_font(path).family_name)


def _rc(family: str) -> Any:  # rcParams keys are Literal-typed in matplotlib's stubs
    return {
        "font.family": "sans-serif",
        "font.sans-serif": [family],
        "axes.unicode_minus": False,  # U+2212 is missing from some CJK fonts
        "axes.spines.top": False,
        "axes.spines.right": False,
        "font.size": 10,
    }


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return buf.getvalue()


def topic_chart(b: Briefing, family: str) -> Chart:
    resolved = resolve_font(family)
    title = "重点领域帖文数（本期与上期对比）"
    topics = list(reversed(b.topics))  # barh draws bottom-up; keep the work plan's order top-down
    names = [t.topic for t in topics]
    y = list(range(len(topics)))
    h = 0.38
    with _LOCK, matplotlib.rc_context(_rc(family)):
        fig = _figure(6.4, 3.8)
        ax = fig.subplots()
        cur = ax.barh([i + h / 2 for i in y], [t.posts.current for t in topics], h, color=CURRENT, label="本期")
        ax.barh([i - h / 2 for i in y], [t.posts.previous for t in topics], h, color=PREVIOUS, label="上期")
        ax.bar_label(cur, padding=2, fontsize=8)
        ax.set_yticks(y, names)
        ax.set_xlabel("帖文数（条）")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # posts are counted, never halved
        ax.set_title(title)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)  # outside: never over a bar
        ax.margins(x=0.12)
        return Chart(title, _png(fig), resolved)


def trend_chart(b: Briefing, family: str) -> Chart:
    resolved = resolve_font(family)
    title = "每日帖文数走势"
    labels = [f"{d.day.month}月{d.day.day}日" for d in b.days]
    x = list(range(len(b.days)))
    with _LOCK, matplotlib.rc_context(_rc(family)):
        fig = _figure(6.4, 3.0)
        ax = fig.subplots()
        ax.plot(x, [d.total for d in b.days], marker="o", color=CURRENT, label="全部帖文")
        ax.plot(x, [d.negative for d in b.days], marker="s", color=NEGATIVE, linestyle="--", label="负面帖文")
        step = max(1, len(x) // 10)  # at most ~10 date labels, however long the period
        ax.set_xticks(x[::step], labels[::step], rotation=30 if len(x) > 7 else 0)
        ax.set_ylabel("帖文数（条）")
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(frameon=False)
        if len(x) == 1:
            ax.set_xlim(-0.5, 0.5)
        return Chart(title, _png(fig), resolved)


def charts(b: Briefing, family: str) -> tuple[Chart, Chart] | None:
    """The topic bar chart and the daily trend, or None for a period without posts."""
    if b.empty:
        return None
    return topic_chart(b, family), trend_chart(b, family)

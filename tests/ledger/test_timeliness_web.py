"""The 回复时效 page and its Excel export, in-process on both databases, with a real SQLite store;
and one look at the page in chromium at 1366x768."""

from __future__ import annotations

import re
from datetime import timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from ledger.schemas import CaseAction
from tests.ledger.conftest import Env
from tests.ledger.test_browser import browser, shots, sign_in  # noqa: F401  (fixture)
from yuqing.events import PostClassified, Reply, Risk, Source
from yuqing.store.sqlite import SqliteStore
from yuqing.timeutil import now

HOTLINE = Source(id="hotline-12345", kind="hotline", name="12345 热线")
BOARD = Source(id="liuyan-pengze", kind="liuyan", name="领导留言板")
FEED = Source(id="news", kind="rss", name="新闻")


def post(
    key: str, source: Source, days_ago: float, *, reply: Reply | None = None, unit: str | None = None, title: str = ""
) -> PostClassified:
    at = now() - timedelta(days=days_ago)
    return PostClassified(
        id=f"{source.id}:{key}",
        title=title or f"留言{key}",
        content="龙城镇某小区污水外溢",
        published_at=at,
        collected_at=at,
        source=source,
        reply=reply,
        raw={"unit": unit} if unit else {},
        topic="环境污染和生态破坏",
        sentiment="negative",
        risk=Risk(score=40, level="中", reasons=[]),
        event_id=f"ev-{key}",
        region="彭泽县/龙城镇",
    )


def seed(env: Env, tmp_path: Path) -> SqliteStore:
    store = SqliteStore(f"sqlite:///{tmp_path}/store.db")
    ago = lambda d: now() - timedelta(days=d)  # noqa: E731
    store.write(
        [
            post(
                "1",
                HOTLINE,
                20,
                reply=Reply(content="已清理。", organization="彭泽县生态环境局", replied_at=ago(19)),
                unit="彭泽县生态环境局",
            ),
            post("2", HOTLINE, 20, unit="县生态环境局"),  # unanswered for 20 days: overdue
            post("3", BOARD, 15, reply=Reply(content="您好，经核查……特此回复。县人社局 2026年11月3日", replied_at=ago(14))),
            post("4", BOARD, 12, reply=Reply(content="已转有关部门办理。", replied_at=ago(11)), title='=HYPERLINK("http://x")'),
            post("5", BOARD, 10, reply=Reply(content="已办理。县人社局", replied_at=ago(12))),  # dated before the post
            post("6", FEED, 5),  # a news item without a reply: not a reply channel
        ]
    )
    env.app.state.store = store
    c = env.case("assigned", unit="unit", title="梅峰河黑臭")  # 县生态环境局, assigned now, unanswered
    env.svc.act(env.world.actors["unit"], c.id, CaseAction(action="accept", version=c.version))
    return store


def row(html: str, unit: str) -> list[str]:
    m = re.search(rf'<tr data-unit="{re.escape(unit)}"[^>]*>(.*?)</tr>', html, re.S)
    assert m, f"no row for {unit}"
    return re.findall(r"<td>(.*?)</td>", m.group(1))


def test_monitor_sees_every_unit_with_exact_counts(env: Env, tmp_path: Path) -> None:
    seed(env, tmp_path)
    r = env.client("monitor").get("/timeliness")
    assert r.status_code == 200, r.text
    html = r.text
    # 县生态环境局: posts 1 (replied next day) and 2 (unanswered 20 days: overdue) and the case (just assigned)
    eco = row(html, "县生态环境局")
    assert eco[1:4] == ["3", "1", "33.3%"] and eco[7:9] == ["2", "1"]
    # 县人社局 by its signature: post 3 (replied), post 5 (dated before the post: replied, no time)
    assert row(html, "县人力资源和社会保障局")[1:4] == ["2", "2", "100.0%"] and row(html, "县人力资源和社会保障局")[9] == "1"
    assert row(html, "（未归属单位）")[1:3] == ["1", "1"]
    assert "未能归属单位的回复" in html and "回复中未找到已配置的单位名称" in html
    assert "回复时间早于留言时间" in html
    assert "<svg" in html and "<script" not in html
    assert "新闻" not in html  # a feed post without a reply is not a reply channel
    assert "台账交办" in html


def test_unit_user_sees_only_own_unit(env: Env, tmp_path: Path) -> None:
    seed(env, tmp_path)
    html = env.client("unit").get("/timeliness").text
    assert "县生态环境局" in html and "县人力资源和社会保障局" not in html and "未能归属单位的回复" not in html
    assert 'id="ranking"' not in html


def test_period_filter_and_bad_dates(env: Env, tmp_path: Path) -> None:
    seed(env, tmp_path)
    c = env.client("leader")
    since = (now() - timedelta(days=13)).date().isoformat()
    html = c.get(f"/timeliness?since={since}").text
    assert row(html, "县人力资源和社会保障局")[1] == "1"  # only post 5
    r = c.get("/timeliness?since=2026-13-01")
    assert r.status_code == 422 and "不是日期" in r.text
    r = c.get("/timeliness?since=2026-11-02&until=2026-11-01")
    assert r.status_code == 422 and "早于" in r.text


def test_excel_export_keeps_formula_like_text_as_text(env: Env, tmp_path: Path) -> None:
    seed(env, tmp_path)
    r = env.client("monitor").get("/timeliness.xlsx?range=12m")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(BytesIO(r.content))
    assert wb.sheetnames == ["按单位", "按渠道", "单位×渠道", "月度趋势", "排名", "未归属回复", "数据问题"]
    units = {row[0]: row for row in wb["按单位"].iter_rows(min_row=4, values_only=True)}
    assert units["县生态环境局"][1:3] == (3, 1) and units["合计"][1] == 6
    cells = [c for row in wb["未归属回复"].iter_rows(min_row=4) for c in row if isinstance(c.value, str) and c.value.startswith("=")]
    assert cells and all(c.data_type == "s" and c.quotePrefix for c in cells)


@pytest.mark.browser
@pytest.mark.slow
def test_timeliness_page_in_chromium(env: Env, tmp_path: Path, live_server: str, browser: Any) -> None:  # noqa: F811
    seed(env, tmp_path)
    page = sign_in(browser, live_server, "lingdao")
    page.click("header a:has-text('回复时效')")
    page.wait_for_url("**/timeliness")
    assert page.locator("#units tbody tr").count() == 3
    assert page.locator("svg.chart").count() == 2
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366, f"the page scrolls sideways at 1366 px: {width}"
    page.click("#range-all")
    page.wait_for_url("**/timeliness?range=all")
    assert page.locator("#totals").inner_text().startswith("合计：收到 6 条")
    page.screenshot(path=str(shots(tmp_path) / "timeliness.png"), full_page=True)

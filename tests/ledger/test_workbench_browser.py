"""The 监测工作台 in a real browser (Debian chromium driven by Playwright) against a real server: a
monitor searches 工资, opens the event, opens a case from an alert in one click, and sees a newly
fired alert appear in the inbox without reloading; a unit user sees only their unit's alerts (live
too) and is refused another unit's. Screenshots of every workbench page at 1366×768
($LEDGER_SCREENSHOTS to keep them)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger.states import SYSTEM
from tests.ledger.conftest import Env
from tests.ledger.test_alert_link import Fired, _post, fired  # noqa: F401  (fixture)
from tests.ledger.test_browser import browser, shots, sign_in  # noqa: F401  (fixture)
from tests.ledger.test_workbench import ENV_TOPIC, WAGE_TOPIC, alert_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def watch_errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "favicon" not in m.text else None)
    return errors


def test_monitor_search_event_case_and_live_alert(env: Env, live_server: str, browser: Any, fired: Fired, tmp_path: Path) -> None:  # noqa: F811
    out = shots(tmp_path)
    for p in fired.posts:  # the posts, with their words indexed as the processors index them
        from yuqing.text import tokenize

        env.app.state.store.write([p.model_copy(update={"tokens": tokenize(f"{p.title} {p.content}")})])
    page = sign_in(browser, live_server, "jiance")
    errors = watch_errors(page)

    page.click("header a:has-text('总览')")
    page.wait_for_selector(".chart[data-drawn='1']")  # ECharts drew from the JSON endpoint under the CSP
    assert page.locator(".chart[data-drawn='1'] canvas").count() >= 1
    assert "近 24 小时" in page.locator("#window-1").inner_text()
    page.screenshot(path=str(out / "workbench-overview.png"), full_page=True)

    page.click("header a:has-text('检索')")
    page.fill("input[name=q]", "工资")
    page.click("#search-form button:has-text('检索')")
    page.wait_for_url("**/workbench/search?q=*")
    assert page.locator("#total").inner_text() == "3"  # every post of the event speaks of 工资
    assert page.locator("article.hit mark").first.inner_text() == "工资"
    assert "工资拖欠" in page.locator("#facets").inner_text()
    page.screenshot(path=str(out / "workbench-search.png"), full_page=True)

    page.locator("article.hit a:has-text('事件')").first.click()
    page.wait_for_url("**/events/ev-1")
    page.wait_for_selector(".chart[data-drawn='1']")
    assert "尚未立案" in page.locator("#event-cases").inner_text()
    assert fired.alert.id in page.locator("#event-alerts").inner_html()
    page.screenshot(path=str(out / "workbench-event.png"), full_page=True)

    page.click("header a:has-text('舆情预警')")
    page.click(f"tr[data-alert='{fired.alert.id}'] a")
    page.click("button:has-text('立案')")
    page.wait_for_url("**/cases/*")
    [case] = env.svc.list_cases(SYSTEM).items
    assert case.alert_id == fired.alert.id and case.event_id == "ev-1"

    page.goto("/events/ev-1")
    assert case.number in page.locator("#event-cases").inner_text()
    assert page.locator("#event-cases button:has-text('立案')").count() == 0  # no second case

    page.goto("/alerts")
    page.wait_for_selector("#live-status.on")  # the stream is open
    assert page.locator("#alerts tbody tr[data-alert]").count() == 1
    h = fired.h  # the engine fires a second alert: three posts about another event
    start = h.clock.now + timedelta(minutes=1)
    posts = [_post(f"杨梓镇工地欠薪第{i}次反映", i, 50, ["欠薪"], f"wzjx:20{i}", start) for i in range(3)]
    for p in posts:
        p = p.model_copy(update={"event_id": "ev-2"})
        h.at(p.published_at)
        h.feed(p)
    new = next(a for a in h.alerts() if a.labels.get("event_id") == "ev-2")
    row = page.wait_for_selector(f"#alerts tr[data-alert='{new.id}']", timeout=10_000)  # no reload
    assert row is not None and "杨梓镇工地欠薪" in row.inner_text()
    assert page.locator("#alerts tbody tr[data-alert]").first.get_attribute("data-alert") == new.id
    page.screenshot(path=str(out / "workbench-alerts-live.png"), full_page=True)

    page.goto("/workbench/regions")
    page.wait_for_selector(".chart[data-drawn='1']")
    assert "龙城镇" in page.locator("#towns").inner_text()
    page.screenshot(path=str(out / "workbench-regions.png"), full_page=True)
    page.context.close()  # ends the stream before the server stops
    assert errors == []


def test_a_unit_user_sees_only_their_units_alerts_live_too(env: Env, live_server: str, browser: Any, tmp_path: Path) -> None:  # noqa: F811
    mine = alert_for(env, ENV_TOPIC)
    theirs = alert_for(env, WAGE_TOPIC)
    try:
        page = sign_in(browser, live_server, "sthj")  # 县生态环境局
        errors = watch_errors(page)
        assert page.locator("header a:has-text('总览')").count() == 0
        page.click("header a:has-text('舆情预警')")
        page.wait_for_selector("#live-status.on")
        rows = [r.get_attribute("data-alert") for r in page.locator("#alerts tbody tr[data-alert]").all()]
        assert rows == [mine]
        assert page.locator("#bulk").count() == 0  # reads, does not acknowledge
        later_theirs = alert_for(env, WAGE_TOPIC)
        later_mine = alert_for(env, ENV_TOPIC)  # written after theirs: once it shows, theirs was passed over
        page.wait_for_selector(f"#alerts tr[data-alert='{later_mine}']", timeout=10_000)
        assert page.locator(f"#alerts tr[data-alert='{later_theirs}']").count() == 0
        page.screenshot(path=str(shots(tmp_path) / "workbench-unit-alerts.png"), full_page=True)
        for url in (f"/alerts/{theirs}", "/workbench", "/workbench/search?q=工资", "/events/ev-1"):
            r = page.goto(url)
            assert r is not None and r.status in (403, 404), url
            assert page.locator("[role=alert]").count() == 1
        page.context.close()
        assert errors == [] or all("403" in e or "404" in e for e in errors)
    finally:
        env.app.state.alerts = None

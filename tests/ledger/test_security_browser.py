"""The Content-Security-Policy in a real browser (Debian chromium): the offline Swagger UI renders
under it, and a script link stored before links were checked neither renders nor runs."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from tests.ledger.conftest import Env
from tests.ledger.test_browser import browser, sign_in  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_swagger_ui_renders_offline_under_the_csp(env: Env, live_server: str, browser: Any) -> None:  # noqa: F811
    context = browser.new_context(base_url=live_server, locale="zh-CN")
    outside: list[str] = []
    context.route(
        "**/*",
        lambda route: (
            (outside.append(route.request.url), route.abort()) if not route.request.url.startswith(live_server) else route.continue_()
        ),
    )
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto("/api/docs")
    page.wait_for_selector(".opblock", timeout=20000)
    assert page.locator(".opblock").count() >= 8
    assert violations == [] and outside == []
    context.close()


def test_a_script_link_does_not_run_even_if_stored(env: Env, live_server: str, browser: Any) -> None:  # noqa: F811
    case = env.case("disclosed", title="脚本链接")
    with env.db.engine.begin() as conn:
        conn.execute(text("UPDATE ledger_commitments SET disclosure_url = 'javascript:document.title=\"pwned\"'"))
    page = sign_in(browser, live_server, "admin")
    for path in (f"/cases/{case.id}", "/public"):
        page.goto(path)
        assert page.locator("a[href^='javascript']").count() == 0
        assert page.title() != "pwned"
    page.context.close()

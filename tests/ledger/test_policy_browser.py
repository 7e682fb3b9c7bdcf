"""In chromium at 1366×768: a monitor registers a policy on the form (first with an expression
that does not parse), reads its page with both charts marking the publication day, and the page
runs without CSP violations. The screenshots are kept in ``shots`` for a person to look at."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ledger.conftest import Env
from tests.ledger.test_browser import browser, shots, sign_in  # noqa: F401  (fixture)
from tests.ledger.test_policy_pages import penv, policy_posts, published_day  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def live(penv: Env, live_server: str) -> Iterator[str]:  # noqa: F811
    yield live_server


def test_monitor_registers_a_policy_and_reads_its_page(penv: Env, live: str, browser: Any, tmp_path: Path) -> None:  # noqa: F811
    page = sign_in(browser, live, penv.world.actors["monitor"].username)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    penv.case(title="灵活就业人员缴存公积金咨询", summary="电话反映")
    page.click('header >> a[href="/policies"]')
    page.click("#new-policy")
    page.fill("input[name=title]", "九江市住房公积金缴存管理办法")
    page.fill("input[name=doc_number]", "长金管委【2018】1号")
    page.fill("input[name=issuer]", "九江市住房公积金管理委员会")
    page.fill("input[name=published]", published_day([]))
    page.fill("textarea[name=keywords]", "公积金 (提取")
    page.click("#save")
    assert "关键词: 第1行第5列" in page.inner_text("#policy-errors")
    page.screenshot(path=str(shots(tmp_path) / "policy-form-error.png"))
    page.fill("textarea[name=keywords]", "公积金")
    page.click("#save")
    page.wait_for_url("**/policies/*")
    assert page.locator("svg.chart").count() == 2
    assert page.locator("svg.chart line.published").count() == 2
    box = page.locator("#volume-chart svg").bounding_box()
    assert box is not None and box["width"] > 400 and box["height"] > 150  # drawn, not collapsed
    assert page.locator("#cases tr[data-case]").count() == 1
    page.screenshot(path=str(shots(tmp_path) / "policy.png"), full_page=True)
    page.screenshot(path=str(shots(tmp_path) / "policy-1366x768.png"))
    assert not [e for e in errors if "Content Security Policy" in e], errors

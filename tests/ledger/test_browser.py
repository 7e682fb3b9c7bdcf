"""In a real browser (Debian chromium driven by Playwright) against a real server: a unit user
signs in and records a commitment's fulfilment with evidence, the monitor sees it and discloses
it, and it appears, masked, on the public page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ledger.conftest import PASSWORD, Env
from tests.ledger.test_web import PDF

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def sign_in(browser: Any, base: str, username: str) -> Any:
    page = browser.new_context(base_url=base, locale="zh-CN").new_page()
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('登录')")
    page.wait_for_url("**/cases")
    return page


def test_fulfilment_with_evidence_reaches_the_public_page(env: Env, live_server: str, browser: Any, tmp_path: Path) -> None:
    case = env.case("fulfilling", title="龙城镇南岭社区污水外溢", petitioner="李建国")
    evidence = tmp_path / "整改照片.pdf"
    evidence.write_bytes(PDF)

    unit = sign_in(browser, live_server, "sthj")
    unit.click(f"a:has-text('{case.number}')")
    card = unit.locator(f"#commitment-{case.commitments[0].id}")
    form = card.locator("form[data-action=fulfil]")
    form.locator("textarea[name=fulfilment]").fill("已更换破损管道，李建国（13907921234）确认不再外溢")
    form.locator("textarea[name=evidence_links]").fill("https://www.pengze.gov.cn/zg/1")
    form.locator("input[type=file]").set_input_files(str(evidence))
    form.locator("button:has-text('登记落实')").click()
    unit.wait_for_selector("text=承诺已登记落实")
    assert unit.locator("#case-status").inner_text() == "已落实"
    assert unit.locator("a:has-text('整改照片.pdf')").count() == 1

    monitor = sign_in(browser, live_server, "jiance")
    row = monitor.locator(f"tr[data-case='{case.id}']")
    assert "已落实" in row.inner_text()
    row.locator("a").first.click()
    assert "已更换破损管道" in monitor.locator(".fulfilment").inner_text()
    with monitor.expect_download() as dl:
        monitor.click("a:has-text('整改照片.pdf')")
    assert Path(dl.value.path()).read_bytes() == PDF
    form = monitor.locator(f"#commitment-{case.commitments[0].id} form[data-action=disclose]")
    form.locator("input[name=disclosure_channel]").fill("彭泽县人民政府网站")
    form.locator("input[name=disclosure_url]").fill("https://www.pengze.gov.cn/gk/2")
    form.locator("button:has-text('登记公开')").click()
    monitor.wait_for_selector("text=承诺已登记公开")
    assert monitor.locator("#case-status").inner_text() == "已公开"

    public = browser.new_context(base_url=live_server).new_page()
    public.goto("/public")
    item = public.locator(f"[id='{case.number}-1']")
    text = item.inner_text()
    assert "已更换破损管道，李**（139****1234）确认不再外溢" in text and "彭泽县人民政府网站" in text
    assert "李建国" not in public.content() and "13907921234" not in public.content()
    public.screenshot(path=str(tmp_path / "public.png"), full_page=True)

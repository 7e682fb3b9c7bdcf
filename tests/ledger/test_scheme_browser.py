"""In chromium: a monitor creates a scheme, previews it, sees the per-day counts, saves it, and
finds it in the list; the page runs without CSP violations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from schemes.store import SchemeStore
from tests.ledger.conftest import Env
from tests.ledger.test_browser import browser, sign_in  # noqa: F401  (fixture)
from tests.ledger.test_scheme_pages import demo_posts, senv  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def live(senv: Env, live_server: str) -> Iterator[str]:  # noqa: F811
    yield live_server


def test_monitor_creates_previews_and_saves_a_scheme(senv: Env, live: str, browser: Any, tmp_path: Path) -> None:  # noqa: F811
    page = sign_in(browser, live, senv.world.actors["monitor"].username)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.click('header >> a[href="/schemes"]')
    page.click("#new-scheme")
    page.fill("input[name=name]", "噪音扰民")
    page.fill("input[name=team]", "县生态环境局")
    page.fill("textarea[name=include]", "噪音 噪声 (扰民")
    page.click("#preview")
    assert "has no closing ')'" in page.inner_text("#scheme-errors")
    page.fill("textarea[name=include]", "噪音 噪声 扰民")
    page.click("#preview")
    total = int(page.inner_text("#preview-total"))
    assert total > 0
    assert page.locator("#preview-days meter").count() >= 1
    assert page.locator("#preview-samples li").count() == min(10, total)
    page.click("#save")
    page.wait_for_url("**/schemes")
    assert page.locator('tr[data-scheme="噪音扰民"]').count() == 1
    page.screenshot(path=str(tmp_path / "schemes.png"))
    assert not [e for e in errors if "Content Security Policy" in e], errors
    assert SchemeStore(senv.url).get("噪音扰民") is not None

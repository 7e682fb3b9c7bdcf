"""In chromium at 1366×768: a monitor opens a post from its event page, corrects its topic (pick
the value, press 保存纠错), sees it marked 已纠错, applies a risk level to the whole event through
the confirmation page, and opens 模型质量; no CSP violations. Screenshots of the post page and
the quality page go to $LEDGER_SCREENSHOTS (or the test's tmp dir)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ledger.conftest import Env
from tests.ledger.test_browser import browser, shots, sign_in  # noqa: F401  (fixture)
from tests.ledger.test_corrections_web import cenv, other, posts  # noqa: F401  (fixtures)
from yuqing.events import PostClassified
from yuqing.store import Store

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def live(cenv: tuple[Env, Store], live_server: str) -> Iterator[str]:  # noqa: F811
    yield live_server


def test_monitor_corrects_a_post_in_the_browser(
    cenv: tuple[Env, Store],  # noqa: F811
    live: str,
    browser: Any,  # noqa: F811
    posts: list[PostClassified],  # noqa: F811
    tmp_path: Path,
) -> None:
    env, store = cenv
    if env.backend != "sqlite":
        pytest.skip("the pages are the same on PostgreSQL (test_corrections_web runs both)")
    post = posts[1]  # of the event of posts 0-2
    page = sign_in(browser, live, env.world.actors["monitor"].username)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"/events/{post.event_id}")
    page.click(f'a[href$="{post.id.split(":")[-1]}"]:has-text("纠错")')
    page.wait_for_selector("#correct-form")
    new = other(post.topic)
    page.select_option("select[name=topic]", new)
    page.click("button:has-text('保存纠错')")
    page.wait_for_selector("#corrected-badge")
    assert "已纠错：主题" in page.inner_text("#corrected")
    assert store.get(post.id).topic == new  # type: ignore[union-attr]

    page.select_option("select[name=risk_level]", "重大")
    page.check("input[name=scope][value=event]")
    page.click("button:has-text('保存纠错')")
    page.wait_for_selector("#confirm-form")
    assert page.locator("#plan tbody tr").count() == 3
    out = shots(tmp_path)
    page.screenshot(path=str(out / "post_confirm.png"), full_page=False)
    page.click("#confirm-form button")
    page.wait_for_selector("text=已将纠错应用到事件的 3 条帖子")
    assert all(store.get(p.id).risk.level == "重大" for p in posts[:3])  # type: ignore[union-attr]
    page.screenshot(path=str(out / "post.png"), full_page=False)

    page.click('header >> a[href="/quality"]')
    page.wait_for_selector("section.quality")
    # the post itself was judged on every field; the event's other posts on the risk level only
    assert page.locator('tr.field-row[data-field="topic"] td').nth(1).inner_text() == "1"
    assert page.locator('tr.field-row[data-field="risk_level"] td').nth(1).inner_text() == "3"
    page.screenshot(path=str(out / "quality.png"), full_page=False)
    assert not [e for e in errors if "Content Security Policy" in e], errors
    assert not errors, errors

"""In chromium: a monitor creates a scheme, previews it, sees the per-day counts, saves it, finds
it in the list, watches the background backfill's progress reach the end (the page's script polls
the JSON), and sees the workbench narrowed to it: 总览's counts and 检索's posts are the scheme's.
The pages run without CSP violations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ledger.conftest import Env
from tests.ledger.test_browser import browser, shots, sign_in  # noqa: F401  (fixture)
from tests.ledger.test_scheme_pages import _tagged, demo_posts, last_week, senv  # noqa: F401  (fixtures)
from yuqing.events import PostClassified

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def live(senv: Env, live_server: str) -> Iterator[str]:  # noqa: F811
    yield live_server


def _week(page: Any) -> int:
    """The 近 7 天 figure on 总览."""
    return int(page.inner_text("#window-2 .big b:first-child"))


def test_monitor_creates_previews_and_saves_a_scheme(
    senv: Env,  # noqa: F811
    live: str,
    browser: Any,  # noqa: F811
    tmp_path: Path,
    demo_posts: list[PostClassified],  # noqa: F811
) -> None:
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
    job = senv.app.state.scheme_backfill
    job.batch, job.pause = 20, 0.3  # slow enough to watch the bar move: 11 pages, ~3 s
    page.click("#save")
    page.wait_for_url("**/schemes")
    assert page.get_attribute("#backfill", "data-state") in ("waiting", "running")  # as loaded
    assert page.locator('tr[data-scheme="噪音扰民"]').count() == 1
    assert senv.app.state.schemes.get("噪音扰民") is not None
    out = shots(tmp_path)

    # the history is tagged in the background: the progress bar fills without a reload
    assert "历史信息正在后台补打标签" in page.inner_text(".flash")
    page.wait_for_selector('#backfill[data-state="running"]', timeout=30_000)
    page.screenshot(path=str(out / "schemes-backfilling.png"), full_page=True)
    page.wait_for_selector('#backfill[data-state="finished"]', timeout=60_000)  # no reload: the script polled
    assert page.get_attribute("#backfill-bar", "value") == "100"
    tagged = _tagged(demo_posts, "噪音 噪声 扰民")
    assert f"{len(demo_posts)} 条历史信息已按当前方案打标签（其中 {len(tagged)} 条标签有变化）" in page.inner_text("#backfill-text")
    page.screenshot(path=str(out / "schemes-backfilled.png"), full_page=True)

    # 总览: all posts, then narrowed to the scheme with its select
    page.click('header >> a[href="/workbench"]')
    everything = _week(page)
    page.select_option("#scheme-filter select[name=scheme]", "噪音扰民")
    page.click("#scheme-filter button[type=submit]")
    page.wait_for_url("**/workbench?scheme=*")
    assert "监测方案「噪音扰民」" in page.inner_text("h2")
    assert _week(page) == len(tagged & last_week(demo_posts)) < everything
    page.screenshot(path=str(out / "workbench-scheme.png"), full_page=True)

    # 检索 from there keeps the scheme: the scheme's posts only
    page.click('#scheme-filter a:has-text("检索")')
    page.wait_for_url("**/workbench/search?scheme=*")
    assert int(page.inner_text("#total")) == len(tagged)
    shown = set(page.locator("article.hit").evaluate_all("els => els.map(e => e.dataset.post)"))
    assert shown and shown <= tagged
    page.screenshot(path=str(out / "search-scheme.png"), full_page=True)
    assert not [e for e in errors if "Content Security Policy" in e], errors

"""监测方案 pages: a monitor previews, saves and edits a scheme; bad input comes back on the form;
units cannot reach the pages; the JSON preview."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from processors.classify import Classifier
from schemes.store import SchemeStore, schemes_table
from tests.core.test_store_contract import _collected
from tests.ledger.conftest import Env
from yuqing.events import PostClassified
from yuqing.store import open_store

DEMO = Path(__file__).resolve().parents[2] / "yuqing" / "demo" / "wenzheng.jsonl"


@pytest.fixture(scope="module")
def demo_posts() -> list[PostClassified]:
    rows = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines() if line.strip()]
    posts = Classifier().classify_many(_collected({"source": "demo"} | r) for r in rows)
    # one an hour over the last 9 days or so, as if collected now
    from yuqing.timeutil import now

    t = now()
    return [p.model_copy(update={"published_at": t - timedelta(hours=i + 1)}) for i, p in enumerate(posts)]


@pytest.fixture
def senv(env: Env, tmp_path: Path, demo_posts: list[PostClassified]) -> Iterator[Env]:
    table = SchemeStore(env.url)
    with table.engine.begin() as c:
        c.execute(schemes_table.delete())
    store = open_store(f"sqlite:///{tmp_path}/store.db")
    store.write(demo_posts)
    env.app.state.store = store
    env.app.state.schemes = table
    yield env
    env.app.state.store = None
    env.app.state.schemes = None
    store.close()
    table.close()


FORM = {
    "name": "噪音扰民",
    "team": "县生态环境局",
    "include": "噪音 噪声 扰民",
    "exclude": "",
    "regions": "",
    "sources": "",
    "active": "on",
    "days": "30",
}


def test_monitor_previews_saves_and_edits(senv: Env) -> None:
    c = senv.client("monitor")
    assert "新建方案" in c.get("/schemes").text
    r = c.form("/schemes/preview", FORM)
    assert r.status_code == 200, r.text
    total = int(re.search(r'id="preview-total">(\d+)<', r.text).group(1))  # type: ignore[union-attr]
    assert total > 0 and "<meter" in r.text and 'id="preview-samples"' in r.text
    assert SchemeStore(senv.url).get("噪音扰民") is None  # preview saves nothing

    r = c.form("/schemes/save", FORM)
    assert r.status_code == 303
    page = c.get("/schemes").text
    assert 'data-scheme="噪音扰民"' in page and "县生态环境局" in page

    edit = c.get("/schemes/edit?name=噪音扰民").text
    assert 'value="噪音扰民"' in edit and 'name="original" value="噪音扰民"' in edit
    r = c.form("/schemes/save", FORM | {"original": "噪音扰民", "name": "噪音", "include": "噪音 +扰民", "topics": ["环境污染和生态破坏"]})
    assert r.status_code == 303
    saved = SchemeStore(senv.url).list()
    assert [(s.name, s.include, s.topics) for s in saved] == [("噪音", "噪音 +扰民", ["环境污染和生态破坏"])]


def test_bad_input_comes_back_on_the_form_and_nothing_is_saved(senv: Env) -> None:
    c = senv.client("monitor")
    r = c.form("/schemes/save", FORM | {"include": "噪音 (扰民"})
    assert r.status_code == 422 and "line 1, column 4: &#39;(&#39; has no closing &#39;)&#39;" in r.text
    assert "噪音 (扰民" in r.text  # the form keeps what was typed
    r = c.form("/schemes/save", FORM | {"include": "  "})
    assert r.status_code == 422 and "include expression is empty" in r.text
    r = c.form("/schemes/save", FORM | {"include": "/(a+)+$/"})
    assert r.status_code == 422 and "exponential time" in r.text
    assert SchemeStore(senv.url).list() == []

    broad = FORM | {"name": "全部", "include": "!xyzzy"}
    r = c.form("/schemes/save", broad)
    assert r.status_code == 422 and "范围可能过宽" in r.text and 'id="confirm"' in r.text
    assert SchemeStore(senv.url).list() == []
    assert c.form("/schemes/save", broad | {"confirm": "on"}).status_code == 303
    assert [s.name for s in SchemeStore(senv.url).list()] == ["全部"]


def test_units_and_leaders_cannot_manage_schemes(senv: Env) -> None:
    assert senv.client("unit").get("/schemes").status_code == 403
    assert senv.client("leader").get("/schemes/new").status_code == 403
    assert "监测方案" not in senv.client("unit").get("/cases").text
    assert 'href="/schemes"' in senv.client("monitor").get("/cases").text


def test_json_preview(senv: Env) -> None:
    c = senv.client("admin")
    r = c.post("/api/v1/schemes/preview", json={"name": "x", "include": "噪音 噪声", "days": 30}, headers={"X-CSRF-Token": c.csrf})
    assert r.status_code == 200, r.text
    body = r.json()["preview"]
    assert body["total"] == sum(body["per_day"].values()) > 0 and body["samples"]
    r = c.post("/api/v1/schemes/preview", json={"name": "x", "include": "a )"}, headers={"X-CSRF-Token": c.csrf})
    assert r.status_code == 422 and "line 1, column 3" in r.json()["errors"][0]


def test_events_page_narrowed_to_a_scheme(senv: Env, demo_posts: list[PostClassified]) -> None:
    from schemes.matcher import Matcher
    from schemes.model import Scheme

    noise = Scheme(name="噪音扰民", include="噪音 噪声 扰民")
    SchemeStore(senv.url).save(noise)
    store = senv.app.state.store
    m = Matcher([noise.compiled()])
    store.write([p.model_copy(update={"schemes": m.match_post(p)}) for p in demo_posts])
    c = senv.client("monitor")
    everything = c.get("/events").text
    narrowed = c.get("/events?scheme=噪音扰民").text
    assert 'id="scheme-filter"' in everything and "<option selected>噪音扰民</option>" in narrowed
    rows_all, rows_noise = everything.count('name="post_id"'), narrowed.count('name="post_id"')
    assert 0 < rows_noise < rows_all
    tagged = {p.id for p in demo_posts if m.match_post(p)}
    shown = set(re.findall(r'name="post_id" value="([^"]+)"', narrowed))
    assert shown <= tagged
    assert c.get("/events?scheme=没有").text.count('name="post_id"') == rows_all  # unknown: not narrowed

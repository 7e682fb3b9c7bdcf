"""监测方案 pages: a monitor previews, saves and edits a scheme; bad input comes back on the form;
units cannot reach the pages; the JSON preview."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from processors.classify import Classifier
from schemes.backfill_job import BackfillJob
from schemes.store import SchemeStore, backfill_table, lease_table, meta_table, schemes_table
from tests.core.test_store_contract import _collected
from tests.ledger.conftest import Env
from yuqing.events import PostClassified
from yuqing.store import Query, open_store
from yuqing.timeutil import now

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
        for t in (schemes_table, meta_table, backfill_table, lease_table):
            c.execute(t.delete())
    store = open_store(f"sqlite:///{tmp_path}/store.db")
    store.write(demo_posts)
    env.app.state.store = store
    env.app.state.schemes = table
    # the app's background backfill, without the wait for the pipeline's taggers (there is none here)
    job = env.app.state.scheme_backfill = BackfillJob(table, lambda: env.app.state.store, settle=0.2, poll=60, batch=20, pause=0)
    yield env
    job.stop()
    env.app.state.scheme_backfill = None
    env.app.state.store = None
    env.app.state.schemes = None
    store.close()
    table.close()


def wait_backfilled(c: Any, timeout: float = 60) -> dict[str, Any]:
    """Poll the progress JSON as the page's script does, until the backfill has finished."""
    deadline = time.monotonic() + timeout
    while True:
        b = c.get("/api/v1/schemes/backfill").json()["backfill"]
        if b["state"] == "finished":
            return b  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, b
        time.sleep(0.05)


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
    assert senv.app.state.schemes.get("噪音扰民") is None  # preview saves nothing

    r = c.form("/schemes/save", FORM)
    assert r.status_code == 303
    page = c.get("/schemes").text
    assert 'data-scheme="噪音扰民"' in page and "县生态环境局" in page

    edit = c.get("/schemes/edit?name=噪音扰民").text
    assert 'value="噪音扰民"' in edit and 'name="original" value="噪音扰民"' in edit
    r = c.form("/schemes/save", FORM | {"original": "噪音扰民", "name": "噪音", "include": "噪音 +扰民", "topics": ["环境污染和生态破坏"]})
    assert r.status_code == 303
    saved = senv.app.state.schemes.list()
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
    assert senv.app.state.schemes.list() == []

    broad = FORM | {"name": "全部", "include": "!xyzzy"}
    r = c.form("/schemes/save", broad)
    assert r.status_code == 422 and "范围可能过宽" in r.text and 'id="confirm"' in r.text
    assert senv.app.state.schemes.list() == []
    assert c.form("/schemes/save", broad | {"confirm": "on"}).status_code == 303
    assert [s.name for s in senv.app.state.schemes.list()] == ["全部"]


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
    senv.app.state.schemes.save(noise)
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


def last_week(posts: list[PostClassified]) -> set[str]:
    """The posts 总览's 近 7 天 counts: they are one an hour back from "now" when the module began
    (less than an hour ago), so the one exactly 7 days before that has just left the window."""
    newest = max(p.published_at for p in posts)
    return {p.id for p in posts if p.published_at > newest + timedelta(hours=1) - timedelta(days=7)}


def _tagged(posts: list[PostClassified], include: str, name: str = "噪音扰民") -> set[str]:
    from schemes.model import Scheme

    m = Scheme(name=name, include=include)
    return {p.id for p in posts if m.matches(p)}


def test_saving_backfills_history_and_the_workbench_narrows_to_it(senv: Env, demo_posts: list[PostClassified]) -> None:
    """The form's save starts the background backfill: its progress is on the list page and in the
    JSON; once finished, 总览 and 检索 narrowed to the scheme count exactly the posts it matches."""
    c = senv.client("monitor")
    everything = int(re.search(r'id="total">(\d+)<', c.get("/workbench/search").text).group(1))  # type: ignore[union-attr]
    assert everything == len(demo_posts)
    assert 'id="total">0<' in c.get("/workbench/search?scheme=噪音扰民").text  # no post carries the tag yet
    assert c.get("/schemes").text.count('id="backfill"') == 0  # nothing ever saved: no progress shown

    r = c.form("/schemes/save", FORM)
    assert r.status_code == 303
    page = c.get("/schemes").text
    assert "历史信息正在后台补打标签" in page and 'id="backfill"' in page and '<progress id="backfill-bar"' in page
    assert '<script src="/static/schemes.js" defer></script>' in page
    done = wait_backfilled(c)
    tagged = _tagged(demo_posts, FORM["include"])
    assert done["done"] == done["total"] == len(demo_posts) and done["written"] == len(tagged) > 0 and done["percent"] == 100
    assert 'data-state="finished"' in c.get("/schemes").text
    assert "已完成" in c.get("/schemes/edit?name=噪音扰民").text

    search = c.get("/workbench/search?scheme=噪音扰民").text
    assert int(re.search(r'id="total">(\d+)<', search).group(1)) == len(tagged)  # type: ignore[union-attr]
    assert set(re.findall(r'data-post="([^"]+)"', search)) <= tagged
    week = last_week(demo_posts)
    home = c.get("/workbench?scheme=噪音扰民").text
    narrowed_week = re.findall(r"<b>(\d+)</b> 条 · 负面", home)[1]
    assert int(narrowed_week) == len(tagged & week), (narrowed_week, len(tagged & week))
    full_week = re.findall(r"<b>(\d+)</b> 条 · 负面", c.get("/workbench").text)[1]
    assert int(full_week) > int(narrowed_week)
    # the trend (posts per day, 30 days) and the towns, narrowed alike
    by_id = {p.id: p for p in demo_posts}
    trend = c.get("/workbench/data/volume.json?span=30d&scheme=噪音扰民").json()
    assert sum(trend["posts"]) == len(tagged) and sum(trend["negative"]) == sum(by_id[i].sentiment == "negative" for i in tagged)
    towns = c.get("/workbench/data/regions.json?scheme=噪音扰民").json()
    in_towns = [i for i in tagged if (by_id[i].region or "").count("/") >= 1 and by_id[i].region.startswith("彭泽县/")]  # type: ignore[union-attr]
    assert 0 < sum(towns["posts"]) == len(in_towns) < sum(c.get("/workbench/data/regions.json").json()["posts"])

    # an edit re-tags: the narrower expression leaves fewer posts in the scheme
    r = c.form("/schemes/save", FORM | {"original": "噪音扰民", "include": "噪音 +扰民"})
    assert r.status_code == 303
    wait_backfilled(c)
    fewer = _tagged(demo_posts, "噪音 +扰民")
    assert fewer < tagged
    search = c.get("/workbench/search?scheme=噪音扰民").text
    assert int(re.search(r'id="total">(\d+)<', search).group(1)) == len(fewer)  # type: ignore[union-attr]


def test_json_create_update_and_progress(senv: Env, demo_posts: list[PostClassified]) -> None:
    c = senv.client("admin")
    c.get("/schemes")
    h = {"X-CSRF-Token": c.csrf}
    body = {"name": "噪音扰民", "team": "县生态环境局", "include": "噪音 噪声 扰民"}
    r = c.post("/api/v1/schemes", json=body, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["scheme"]["name"] == "噪音扰民" and r.json()["backfill"]["state"] in ("waiting", "running", "finished")
    assert c.post("/api/v1/schemes", json=body, headers=h).status_code == 409
    bad = c.post("/api/v1/schemes", json=body | {"name": "x", "include": "噪音 (扰民"}, headers=h)
    assert bad.status_code == 422 and "line 1, column 4" in bad.json()["errors"][0]
    broad = c.post("/api/v1/schemes", json={"name": "全部", "include": "!xyzzy"}, headers=h)
    assert broad.status_code == 422 and "范围可能过宽" in broad.json()["errors"][0] and broad.json()["preview"]["total"] > 0
    assert [s.name for s in senv.app.state.schemes.list()] == ["噪音扰民"]  # nothing saved half-way
    assert c.post("/api/v1/schemes", json=body | {"name": "x", "days": 3}, headers=h).status_code == 422  # unknown field
    assert c.post("/api/v1/schemes", json=body | {"name": "y"}).status_code == 403  # a cookie without the CSRF token

    wait_backfilled(c)
    r = c.request("PUT", "/api/v1/schemes/噪音扰民", json={"name": "噪音", "include": "噪音 +扰民"}, headers=h)
    assert r.status_code == 200, r.text
    assert [(s.name, s.include) for s in senv.app.state.schemes.list()] == [("噪音", "噪音 +扰民")]
    assert c.request("PUT", "/api/v1/schemes/没有", json={"include": "a"}, headers=h).status_code == 404
    done = wait_backfilled(c)
    stored = senv.app.state.store.search(Query(scheme="噪音", limit=500)).hits
    assert {p.id for p in stored} == _tagged(demo_posts, "噪音 +扰民", "噪音") and done["done"] == len(demo_posts)
    assert not senv.app.state.store.search(Query(scheme="噪音扰民")).total  # the old name's tags are gone

    tok = senv.client("monitor", token=True)
    assert tok.post("/api/v1/schemes", json={"name": "t", "include": "噪声"}).status_code == 201  # bearer: no CSRF needed
    assert tok.post("/api/v1/schemes", json={"name": "噪音/夜间", "include": "夜间"}).status_code == 201
    r = tok.request("PUT", "/api/v1/schemes/噪音/夜间", json={"include": "夜间 +噪音"})
    assert r.status_code == 200 and senv.app.state.schemes.get("噪音/夜间").include == "夜间 +噪音"  # type: ignore[union-attr]
    assert senv.client("unit", token=True).post("/api/v1/schemes", json={"name": "u", "include": "噪声"}).status_code == 403
    assert senv.client("leader").get("/api/v1/schemes/backfill").status_code == 403


def test_firing_alerts_on_the_overview_narrowed_to_a_scheme(senv: Env, demo_posts: list[PostClassified]) -> None:
    """An alert is in a scheme when one of its posts carries the scheme's tag; one without posts is not."""
    from alerts.model import PostRef
    from alerts.store import AlertStore
    from tests.ledger.test_alert_link import make_alert

    c = senv.client("monitor")
    assert c.form("/schemes/save", FORM).status_code == 303
    wait_backfilled(c)
    tagged = _tagged(demo_posts, FORM["include"])
    inside = next(p for p in demo_posts if p.id in tagged)
    outside = next(p for p in demo_posts if p.id not in tagged)
    alerts = senv.app.state.alerts = AlertStore(senv.url)
    try:
        ts = now()
        made = {}
        for n, (key, posts) in enumerate({"in": [outside, inside], "out": [outside], "none": []}.items()):
            a = make_alert(9000 + n + int(ts.timestamp()) % 1000 * 10, {"topic": "工资拖欠"}, ts - timedelta(seconds=n))
            with alerts.begin() as conn:
                alerts.insert_in(conn, a)
                if posts:
                    alerts.attach_in(conn, a.id, [PostRef.of(p) for p in posts], ts)
            made[key] = a.id
        everything = c.get("/workbench").text
        assert all(f'href="/alerts/{i}"' in everything for i in made.values())
        narrowed = c.get("/workbench?scheme=噪音扰民").text
        assert f'href="/alerts/{made["in"]}"' in narrowed
        assert f'href="/alerts/{made["out"]}"' not in narrowed and f'href="/alerts/{made["none"]}"' not in narrowed
        assert "监测方案「噪音扰民」的信息所触发" in narrowed
    finally:
        with alerts.engine.begin() as conn:
            from alerts import db

            conn.execute(db.alert_posts.delete().where(db.alert_posts.c.alert_id.in_(list(made.values()))))
            conn.execute(db.alerts.delete().where(db.alerts.c.id.in_(list(made.values()))))
        senv.app.state.alerts = None

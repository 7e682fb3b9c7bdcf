"""纠错 in the web app: the post page, a monitor's correction in two clicks, the whole-event
correction with its confirmation step, the API, the quality page and its export; units and
leaders cannot correct (403); forms need the CSRF token. On SQLite and PostgreSQL (``env``)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from corrections.model import label, values_of
from corrections.table import CorrectionTable, corrections_table
from processors.classify import Classifier
from tests.corrections.test_corrections import _collected
from tests.ledger.conftest import Env
from tests.ledger.test_alert_link import Fired, fired  # noqa: F401  (fixture)
from yuqing.events import PostClassified
from yuqing.store import Query, Store, open_store


@pytest.fixture(scope="module")
def posts() -> list[PostClassified]:
    classified = Classifier().classify_many(_collected(12))
    event = classified[0].event_id  # posts 0-2 are one event
    return [p.model_copy(update={"event_id": event}) if i < 3 else p for i, p in enumerate(classified)]


@pytest.fixture
def cenv(env: Env, tmp_path: Path, posts: list[PostClassified]) -> Iterator[tuple[Env, Store]]:
    table = CorrectionTable(env.url)
    with table.engine.begin() as c:
        c.execute(corrections_table.delete())
    store = open_store(f"sqlite:///{tmp_path}/store.db")
    store.write(posts)
    env.app.state.store = store
    env.app.state.corrections = table
    yield env, store
    env.app.state.corrections = None
    store.close()
    table.close()


def url(post: PostClassified) -> str:
    return "/posts/" + quote(post.id, safe="")


def other(topic: str) -> str:
    return "工资拖欠" if topic != "工资拖欠" else "安全生产"


def form_of(post: PostClassified, **changes: str) -> dict[str, str]:
    v = values_of(post)
    return {
        "topic": v["topic"] or "",
        "sentiment": v["sentiment"] or "",
        "risk_level": v["risk_level"] or "",
        "region": v["region"] or "",
    } | changes


def test_a_monitor_corrects_a_post_and_sees_it_marked(cenv: tuple[Env, Store], posts: list[PostClassified]) -> None:
    env, store = cenv
    mon = env.client("monitor")
    post = posts[5]
    page = mon.get(url(post))
    assert page.status_code == 200 and post.title in page.text and 'id="correct-form"' in page.text
    assert "已纠错" not in page.text and "还没有纠错" in page.text
    new = other(post.topic)
    region = "彭泽县/龙城镇" if post.region != "彭泽县/龙城镇" else "彭泽县/马垱镇"
    r = mon.form(url(post) + "/corrections", form_of(post, topic=new, region=region))
    assert r.status_code == 303 and r.headers["location"] == url(post).replace("%3A", ":")
    page = mon.get(r.headers["location"])
    assert (
        "已纠错：主题" in page.text
        and f"主题 {post.topic} → {new}" in page.text
        and f"地区 {label('region', post.region)} → {region}" in page.text
    )
    assert "jiance" in page.text
    stored = store.get(post.id)
    assert stored is not None and (stored.topic, stored.region) == (new, region)
    assert post.id in [p.id for p in store.search(Query(topic=new, limit=50)).hits]
    # The event page marks it and links every post to its page.
    ev = mon.get(f"/events/{post.event_id}")
    assert f'href="{url(post)}"' in ev.text and "已纠错" in ev.text


def test_bad_values_come_back_on_the_page_and_nothing_is_saved(cenv: tuple[Env, Store], posts: list[PostClassified]) -> None:
    env, store = cenv
    mon = env.client("monitor")
    post = posts[6]
    r = mon.form(url(post) + "/corrections", form_of(post, topic="交通"))
    assert r.status_code == 422 and "主题「交通」无效" in r.text and 'id="correct-form"' in r.text
    assert store.get(post.id) == post and env.app.state.corrections.all() == []
    assert mon.get("/posts/no-such-post").status_code == 404
    # The store refuses the write (its full-text table is gone): the page says nothing was saved.
    with sqlite3.connect(Path(store.path)) as other_conn:  # type: ignore[attr-defined]
        other_conn.execute("DROP TABLE posts_fts")
    r = mon.form(url(post) + "/corrections", form_of(post, topic=other(post.topic)))
    assert r.status_code == 503 and "纠错未保存" in r.text
    api = env.client("monitor", token=True).post(f"/api/v1{url(post)}/corrections", json={"topic": other(post.topic)})
    assert api.status_code == 503 and api.headers["retry-after"] == "10"
    assert env.app.state.corrections.all() == []


def test_units_and_leaders_cannot_correct_and_forms_need_the_csrf_token(cenv: tuple[Env, Store], posts: list[PostClassified]) -> None:
    env, store = cenv
    post = posts[4]
    target = url(post) + "/corrections"
    unit = env.client("unit")
    assert unit.get(url(post)).status_code == 403
    assert unit.form(target, form_of(post, topic=other(post.topic))).status_code == 403
    leader = env.client("leader")
    page = leader.get(url(post))
    assert page.status_code == 200 and 'id="correct-form"' not in page.text  # leaders read, do not correct
    assert leader.form(target, form_of(post, topic=other(post.topic))).status_code == 403
    for role in ("unit", "leader"):
        api = env.client(role, token=True)
        assert api.post(f"/api/v1{target}", json={"topic": other(post.topic)}).status_code == 403
    assert env.client("unit", token=True).get(f"/api/v1{target}").status_code == 403
    mon = env.client("monitor")
    assert mon.post(target, data=form_of(post, topic=other(post.topic))).status_code == 403  # no CSRF token
    assert mon.post(target, data={**form_of(post, topic=other(post.topic)), "csrf_token": "forged"}).status_code == 403
    assert env.client(None).post(f"/api/v1{target}", json={"topic": "其他"}).status_code == 401
    assert store.get(post.id) == post and env.app.state.corrections.all() == []
    assert unit.get("/quality").status_code == 403 and leader.get("/quality").status_code == 200
    assert leader.get("/quality/corrections.jsonl").status_code == 403


def test_a_correction_applied_to_the_whole_event_after_confirmation(cenv: tuple[Env, Store], posts: list[PostClassified]) -> None:
    env, store = cenv
    mon = env.client("monitor")
    post, members = posts[0], posts[:3]
    page = mon.get(url(post))
    assert "应用到同一事件的全部 3 条帖子" in page.text
    data = form_of(post, risk_level="重大", scope="event")
    confirm = mon.form(url(post) + "/corrections", data)
    assert confirm.status_code == 200 and 'id="confirm-form"' in confirm.text and "确认应用到 3 条帖子" in confirm.text
    assert env.app.state.corrections.all() == []  # nothing saved before the confirmation
    assert all(store.get(p.id) == p for p in members)
    done = mon.form(url(post) + "/corrections", {**data, "confirm": "yes"})
    assert done.status_code == 303
    assert "已将纠错应用到事件的 3 条帖子" in mon.get(done.headers["location"]).text
    for p in members:
        got = store.get(p.id)
        assert got is not None and got.risk.level == "重大" and got.topic == p.topic
    assert store.get(posts[3].id) == posts[3]
    rows = env.app.state.corrections.all()
    assert sorted(r.post_id for r in rows) == sorted(p.id for p in members) and len({r.batch for r in rows}) == 1


def test_the_api_corrects_and_lists(cenv: tuple[Env, Store], posts: list[PostClassified]) -> None:
    env, _ = cenv
    post = posts[7]
    api = env.client("monitor", token=True)
    r = api.post(f"/api/v1{url(post)}/corrections", json={"sentiment": "positive", "region": "彭泽县/马垱镇"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["values"]["sentiment"] == "positive" and body["corrections"][0]["by"] == "jiance" and body["corrections"][0]["via"] == "api"
    bad = api.post(f"/api/v1{url(post)}/corrections", json={"region": "北京市"})
    assert bad.status_code == 422 and bad.json()["field"] == "region"
    listed = env.client("leader", token=True).get(f"/api/v1{url(post)}/corrections").json()
    assert listed["corrected"] == {"sentiment": "positive", "region": "彭泽县/马垱镇"} and len(listed["corrections"]) == 1
    # A session needs the CSRF header for the API too.
    mon = env.client("monitor")
    assert mon.post(f"/api/v1{url(post)}/corrections", json={"topic": "其他"}).status_code == 403
    ok = mon.post(f"/api/v1{url(post)}/corrections", json={"topic": "其他"}, headers={"X-CSRF-Token": mon.csrf})
    assert ok.status_code == 201
    assert "/api/v1/posts/{post_id}/corrections" in env.client(None).get("/api/openapi.json").json()["paths"]


def test_quality_page_and_export(cenv: tuple[Env, Store], posts: list[PostClassified]) -> None:
    env, _ = cenv
    mon = env.client("monitor")
    empty = mon.get("/quality")
    assert empty.status_code == 200 and 'id="no-corrections"' in empty.text
    a, b = posts[8], posts[9]
    assert mon.form(url(a) + "/corrections", form_of(a, topic=other(a.topic))).status_code == 303
    assert mon.form(url(b) + "/corrections", form_of(b)).status_code == 303  # confirmed as it was
    page = mon.get("/quality")
    assert "模型质量" in page.text and "共 2 条帖子" in page.text
    topic_row = page.text.split('data-field="topic"><td><b>主题</b></td>')[1].split("</tr>")[0]
    assert topic_row == "<td>2</td><td>1</td><td>50%</td>"
    sentiment_row = page.text.split('data-field="sentiment"><td><b>情感</b></td>')[1].split("</tr>")[0]
    assert sentiment_row == "<td>2</td><td>2</td><td>100%</td>"
    assert "按月" in page.text and mon.get("/quality?period=month").status_code == 200
    export = mon.get("/quality/corrections.jsonl")
    assert export.status_code == 200 and "attachment" in export.headers["content-disposition"]
    rows = [json.loads(line) for line in export.text.splitlines()]
    assert [(r["id"], r["topic"], r["corrected"]) for r in rows] == [(a.id, other(a.topic), ["topic"]), (b.id, b.topic, [])]


def test_the_alert_page_links_its_posts_to_their_pages(env: Env, fired: Fired) -> None:  # noqa: F811
    a = fired.alert
    mon = env.client("monitor").get(f"/alerts/{a.id}").text
    for p in fired.posts:
        assert f'<a href="/posts/{quote(p.id, safe="/")}" class="post-link">纠错</a>' in mon
    leader = env.client("leader").get(f"/alerts/{a.id}").text
    assert 'class="post-link">查看</a>' in leader

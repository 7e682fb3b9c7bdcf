"""The 监测工作台 over HTTP, on both ledger databases: search with facets, highlights, pages, saved
searches and exports; the event page (its cases queried by event) and one-click 立案 without
duplicates; regions; the alert inbox's filters and bulk acknowledgement; who sees what."""

from __future__ import annotations

import csv
import io
import itertools
from pathlib import Path

from openpyxl import load_workbook

from alerts.store import AlertStore
from ledger.states import SYSTEM
from tests.ledger.conftest import Env
from tests.ledger.test_alert_link import make_alert
from tests.ledger.test_web import seed_post, store_for
from yuqing.store.sqlite import SqliteStore
from yuqing.text import tokenize
from yuqing.timeutil import now

_n = itertools.count(1000)
ENV_TOPIC = "环境污染和生态破坏"  # goes to 县生态环境局 (the "unit" user, sthj)
WAGE_TOPIC = "工资拖欠"  # goes to 县人力资源和社会保障局 ("other_unit", rsj)


def indexed(store: SqliteStore, key: str, title: str, content: str, **changes: object) -> None:
    """A post as the processors write it: with its tokens (what search matches)."""
    post = seed_post(store, key, title=title, content=content)
    store.write([post.model_copy(update={"tokens": tokenize(f"{title} {content}"), **changes})])


def seeded_store(tmp_path: Path, n: int = 25) -> SqliteStore:
    store = store_for(tmp_path)
    for i in range(n):
        indexed(store, f"wb{i}", f"龙城镇工地拖欠工资第{i}起", f"工人反映拖欠工资{i}个月")
    indexed(store, "calm", "龙城镇新修公园开放", "市民点赞", sentiment="positive")
    return store


def alert_for(env: Env, topic: str, event: str | None = None) -> str:
    store = env.app.state.alerts
    if store is None:
        store = env.app.state.alerts = AlertStore(env.url)
    n = next(_n)
    ts = now()
    alert = make_alert(n, {"event_id": event or f"ev-wb-{n}", "topic": topic}, ts)
    with store.begin() as conn:
        store.insert_in(conn, alert)
    return alert.id


def test_search_facets_highlights_and_pages(env: Env, tmp_path: Path) -> None:
    env.app.state.store = seeded_store(tmp_path)
    mon = env.client("monitor")
    r = mon.get("/workbench/search", params={"q": "工资"})
    assert r.status_code == 200
    text = r.text
    assert '共 <b id="total">25</b> 条，第 1 / 2 页' in text
    assert "龙城镇工地拖欠<mark>工资</mark>第24起" in text  # newest first... all published now: by id within a time
    assert text.count('<article class="hit card"') == 20
    assert (
        '<a href="/workbench/search?q=%E5%B7%A5%E8%B5%84&amp;topic=%E5%B7%A5%E8%B5%84%E6%8B%96%E6%AC%A0">工资拖欠</a> <span class="n">25</span>'
        in text
    )
    assert '<span class="n">25</span>' in text and "负面" in text
    assert "龙城镇新修公园开放" not in text
    page2 = mon.get("/workbench/search", params={"q": "工资", "page": "2"}).text
    assert page2.count('<article class="hit card"') == 5 and "第 2 / 2 页" in page2
    ids1 = {line for line in text.split('data-post="')[1:]}
    ids2 = {line for line in page2.split('data-post="')[1:]}
    assert not ids1 & ids2
    # a facet narrows; an unknown sentiment is a clear error, not a crash
    assert '共 <b id="total">0</b> 条' in mon.get("/workbench/search", params={"q": "工资", "sentiment": "positive"}).text
    bad = mon.get("/workbench/search", params={"q": "工资", "sentiment": "angry"})
    assert bad.status_code == 422 and "情感须为" in bad.text
    bad = mon.get("/workbench/search", params={"since": "昨天下午"})
    assert bad.status_code == 422 and "起始时间「昨天下午」无法识别" in bad.text


def test_saved_searches_are_per_user(env: Env, tmp_path: Path) -> None:
    env.app.state.store = seeded_store(tmp_path, 2)
    mon, leader = env.client("monitor"), env.client("leader")
    name = f"欠薪{next(_n)}"
    r = mon.form("/workbench/saved", {"q": "工资", "risk": "高", "name": name})
    assert r.status_code == 303 and r.headers["location"] == "/workbench/search?q=%E5%B7%A5%E8%B5%84&risk=%E9%AB%98"
    page = mon.get("/workbench/search").text
    assert f'<a href="/workbench/search?q=%E5%B7%A5%E8%B5%84&amp;risk=%E9%AB%98">{name}</a>' in page
    assert name not in leader.get("/workbench/search").text
    again = mon.form("/workbench/saved", {"q": "工资", "name": name})
    assert again.status_code == 422 and f"已有名为「{name}」的检索" in again.text
    assert leader.form("/workbench/saved/delete", {"name": name}).status_code == 422  # not theirs: nothing deleted
    assert name in mon.get("/workbench/search").text
    assert mon.form("/workbench/saved/delete", {"name": name}).status_code == 303
    after = mon.get("/workbench/search").text
    assert f"已删除保存的检索「{name}」" in after and f">{name}</a>" not in after
    assert mon.post("/workbench/saved", data={"q": "工资", "name": "x"}).status_code == 403  # no CSRF token


def test_exports_hold_what_the_search_finds(env: Env, tmp_path: Path) -> None:
    env.app.state.store = seeded_store(tmp_path, 3)
    mon = env.client("monitor")
    r = mon.get("/workbench/search.csv", params={"q": "工资"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["编号", "发布时间", "标题"] and len(rows) == 4
    assert {row[2] for row in rows[1:]} == {f"龙城镇工地拖欠工资第{i}起" for i in range(3)}
    assert {row[5] for row in rows[1:]} == {"负面"}
    x = mon.get("/workbench/search.xlsx", params={"q": "工资", "region": "彭泽县/龙城镇"})
    ws = load_workbook(io.BytesIO(x.content)).active
    assert ws is not None
    values = list(ws.iter_rows(values_only=True))
    assert values[0][0] == "编号" and len(values) == 4 and {v[9] for v in values[1:]} == {"彭泽县/龙城镇"}
    assert mon.get("/workbench/search.csv", params={"risk": "极高"}).status_code == 422


def test_event_page_finds_its_case_among_many_and_opens_no_duplicate(env: Env, tmp_path: Path) -> None:
    store = env.app.state.store = store_for(tmp_path)
    post = seed_post(store, "old-event")
    mon = env.client("monitor")
    r = mon.form("/events/case", {"post_id": post.id})
    assert r.status_code == 303
    [case] = env.svc.list_cases(SYSTEM).items
    for i in range(101):  # more recent cases than the old page read (list_cases(limit=100))
        env.case("pending", title=f"其他案件{i}")
    page = mon.get(f"/events/{post.event_id}").text
    assert f'<a href="/cases/{case.id}">{case.number}</a>' in page
    assert 'action="/events/case"' not in page  # already open: no 立案 button
    again = mon.form("/events/case", {"post_id": post.id})  # the existing rule: no second case of an event
    assert again.status_code == 422 and f"该事件已立案，编号 {case.number}" in again.text
    assert env.svc.list_cases(SYSTEM, limit=500).total == 102
    data = mon.get(f"/workbench/data/event/{post.event_id}.json").json()
    assert sum(data["posts"]) == 1 and data["sources"] == {"hotline-12345": 1} and data["regions"] == {"彭泽县/龙城镇": 1}
    assert env.client("unit").get(f"/events/{post.event_id}").status_code == 403


def test_regions_count_posts_per_town(env: Env, tmp_path: Path) -> None:
    store = env.app.state.store = store_for(tmp_path)
    for key, region in (("r1", "彭泽县/马垱镇/马当街社区"), ("r2", "彭泽县/马垱镇"), ("r3", "彭泽县")):
        store.write([seed_post(store, key).model_copy(update={"region": region})])
    data = env.client("leader").get("/workbench/data/regions.json").json()
    i = data["labels"].index("马垱镇")
    assert data["posts"][i] == 2 and data["negative"][i] == 2 and data["share"][i] == 100.0
    j = data["labels"].index("龙城镇")
    assert data["posts"][j] == 0 and "太平关乡" in data["labels"]
    page = env.client("leader").get("/workbench/regions").text
    assert "马垱镇</a></td><td>2</td><td>2</td><td>100.0%</td>" in page
    assert "只写明“彭泽县”而未写乡镇的帖子 1 条" in page


def test_units_see_only_their_units_alerts_and_cases(env: Env) -> None:
    mine = alert_for(env, ENV_TOPIC)
    theirs = alert_for(env, WAGE_TOPIC)
    mine_case = env.case("assigned", unit="unit", title="本单位案件")
    their_case = env.case("assigned", unit="other_unit", title="他单位案件")
    try:
        unit = env.client("unit")
        page = unit.get("/alerts?status=").text
        assert f"/alerts/{mine}" in page and f"/alerts/{theirs}" not in page
        assert unit.get(f"/alerts/{theirs}").status_code == 404
        cases = unit.get("/cases").text
        assert mine_case.number in cases and their_case.number not in cases
        assert unit.get(f"/cases/{their_case.id}").status_code == 404
        api = env.client("unit", token=True)
        assert api.get(f"/api/v1/cases/{their_case.id}").status_code == 404
        assert [c["number"] for c in api.get("/api/v1/cases").json()["items"]] == [mine_case.number]
        # another unit's alert whose case was assigned to this unit: the unit sees it, as it sees the case
        assigned = alert_for(env, WAGE_TOPIC)
        assert unit.get(f"/alerts/{assigned}").status_code == 404
        env.case("assigned", unit="unit", title="交办给本单位的欠薪预警", alert_id=assigned)
        assert unit.get(f"/alerts/{assigned}").status_code == 200 and f"/alerts/{assigned}" in unit.get("/alerts?status=").text
        assert env.client("other_unit").get(f"/alerts/{assigned}").status_code == 200  # still its topic's unit's too
        assert unit.get("/workbench").status_code == 403 and unit.get("/workbench/search?q=工资").status_code == 403
        assert unit.form("/alerts/bulk-ack", {"alert_id": mine}).status_code == 403
    finally:
        env.app.state.alerts = None


def test_alert_filters_and_bulk_acknowledge(env: Env) -> None:
    a, b, c = (alert_for(env, t) for t in (ENV_TOPIC, WAGE_TOPIC, WAGE_TOPIC))
    try:
        mon = env.client("monitor")
        page = mon.get("/alerts").text
        assert all(f'value="{x}" form="bulk"' in page for x in (a, b, c))
        assert f"/alerts/{a}" in mon.get("/alerts?severity=高").text and f"/alerts/{a}" not in mon.get("/alerts?severity=低").text
        r = mon.form("/alerts/bulk-ack", {"alert_id": [a, b]})
        assert r.status_code == 303
        store: AlertStore = env.app.state.alerts
        assert (store.get(a).status, store.get(b).status, store.get(c).status) == ("acknowledged", "acknowledged", "firing")
        assert store.get(a).acked_by == "jiance"
        flash = mon.get("/alerts").text
        assert "已确认 2 条预警" in flash
        r = mon.form("/alerts/bulk-ack", {"alert_id": [a, c]})  # a again: skipped, named in the message
        assert "已确认 1 条预警；1 条未确认" in mon.get("/alerts").text and store.get(c).status == "acknowledged"
        assert mon.form("/alerts/bulk-ack", {}).status_code == 422
        assert mon.post("/alerts/bulk-ack", data={"alert_id": a}).status_code == 403  # CSRF
    finally:
        env.app.state.alerts = None


def test_overview_shows_windows_rising_events_and_firing_alerts(env: Env, tmp_path: Path) -> None:
    env.app.state.store = seeded_store(tmp_path, 4)
    fired = alert_for(env, WAGE_TOPIC)
    try:
        r = env.client("leader").get("/workbench")
        assert r.status_code == 200
        text = r.text
        assert "<h3>近 24 小时</h3>" in text and "<b>5</b> 条 · 负面 <b>4</b> 条（80.0%）" in text
        assert f'<a href="/alerts/{fired}">' in text
        assert 'data-chart="volume"' in text and '<script src="/static/vendor/echarts.min.js" defer></script>' in text
        assert "<script>" not in text and " style=" not in text
        vol = env.client("leader").get("/workbench/data/volume.json").json()
        assert len(vol["labels"]) == 24 and sum(vol["posts"]) == 5 and sum(vol["negative"]) == 4
    finally:
        env.app.state.alerts = None

"""政策舆情 pages and API, on both ledger databases: a monitor registers a policy on the form and
reads its page (figures, charts with the publication day, questions, linked cases); bad input
comes back with the field named and nothing saved; leaders read, units are refused; the page over
real HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from processors.classify import Classifier
from schemes.policies import PolicyStore, audit_table, policies_table
from schemes.store import SchemeStore, schemes_table
from tests.core.test_store_contract import _collected
from tests.ledger.conftest import PASSWORD, Env
from yuqing.events import PostClassified
from yuqing.store import open_store
from yuqing.timeutil import TZ, now

DEMO = Path(__file__).resolve().parents[2] / "yuqing" / "demo" / "wenzheng.jsonl"
TITLE = "九江市住房公积金缴存管理办法"


@pytest.fixture(scope="module")
def policy_posts() -> list[PostClassified]:
    """The demo's posts, classified, one every 3 hours back from an hour ago (about 27 days)."""
    rows = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines() if line.strip()]
    posts = Classifier().classify_many(_collected({"source": "demo"} | r) for r in rows)
    t = now()
    return [p.model_copy(update={"published_at": t - timedelta(hours=1 + 3 * i)}) for i, p in enumerate(posts)]


@pytest.fixture
def penv(env: Env, tmp_path: Path, policy_posts: list[PostClassified]) -> Iterator[Env]:
    table = PolicyStore(env.url)
    with table.engine.begin() as c:
        for t in (policies_table, audit_table, schemes_table):
            c.execute(t.delete())
    store = open_store(f"sqlite:///{tmp_path}/store.db")
    store.write(policy_posts)
    env.app.state.store = store
    env.app.state.policies = table
    yield env
    env.app.state.store = None
    env.app.state.policies = None
    store.close()
    table.close()


def published_day(posts: list[PostClassified]) -> str:
    """Ten days ago: posts on both sides."""
    return (now().astimezone(TZ) - timedelta(days=10)).date().isoformat()


FORM = {"title": TITLE, "doc_number": "长金管委【2018】1号", "issuer": "九江市住房公积金管理委员会", "keywords": "公积金", "active": "on"}


def test_monitor_registers_and_reads_a_policy(penv: Env, policy_posts: list[PostClassified]) -> None:
    about = [p for p in policy_posts if "公积金" in p.tokens]
    day = published_day(policy_posts)
    start = datetime.fromisoformat(day).replace(tzinfo=TZ)
    # cases: one registered from a post's event, one by hand whose title matches, one unrelated
    linked = penv.case(title="反映公积金异地转移慢", event_id=about[0].event_id, summary="见原帖")
    by_words = penv.case(title="灵活就业人员缴存公积金咨询", summary="电话反映")
    penv.case(title="梅峰河段黑臭水体")

    c = penv.client("monitor")
    assert 'href="/policies"' in c.get("/cases").text  # in the menu
    assert "还没有登记政策" in c.get("/policies").text
    r = c.form("/policies/save", FORM | {"published": day})
    assert r.status_code == 303, r.text
    pid = int(r.headers["location"].rsplit("/", 1)[1])
    page = c.get(r.headers["location"]).text
    assert f'<b id="published">{day}</b>' in page and "长金管委【2018】1号" in page

    before = [p for p in about if start - timedelta(days=30) <= p.published_at < start]
    after = [p for p in about if p.published_at >= start]
    assert before and after
    assert f'id="before-total">{len(before)}<' in page and f'id="after-total">{len(after)}<' in page
    # both charts mark the publication day
    assert page.count('class="published"') == 2 and page.count(f"{day} 发布") == 2
    # questions, sources, linked cases with how each is linked
    assert re.search(r"网民提问 <span class=\"muted\">发布前 \d+ 条，发布后 \d+ 条", page)
    assert "<td>demo</td>" in page
    rows = dict(re.findall(r'<tr data-case="(\d+)">.*?<td>(事件|原帖|关键词)</td></tr>', page, re.S))
    assert rows == {str(linked.id): "事件", str(by_words.id): "关键词"}
    # CSP: no inline script or style
    assert "<script" not in page and "style=" not in page

    # edit, then the list shows it; the change is audited
    r = c.form("/policies/save", FORM | {"published": day, "id": str(pid), "issuer": "九江市住房公积金管理中心"})
    assert r.status_code == 303
    assert "九江市住房公积金管理中心" in c.get("/policies").text
    assert [(a.action, a.by) for a in PolicyStore(penv.url).audit(pid)] == [("created", "jiance"), ("updated", "jiance")]

    # a leader reads the page but may not change it; a unit user may not see it
    assert penv.client("leader").get(f"/policies/{pid}").status_code == 200
    assert 'id="new-policy"' not in penv.client("leader").get("/policies").text
    assert penv.client("leader").form("/policies/save", FORM | {"published": day}).status_code == 403
    assert penv.client("unit").get(f"/policies/{pid}").status_code == 403
    assert penv.client("unit").get("/api/v1/policies").status_code == 403


def test_upcoming_policy_shows_only_before(penv: Env) -> None:
    c = penv.client("monitor")
    soon = (now().astimezone(TZ) + timedelta(days=20)).date().isoformat()
    r = c.form("/policies/save", FORM | {"published": soon})
    assert r.status_code == 303
    page = c.get(r.headers["location"]).text
    assert 'id="upcoming"' in page and f"将于 {soon} 发布" in page and 'id="after-total"' not in page


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"published": "2099-01-01"}, "发布日期: 2099-01-01 晚于今天一年以上"),
        ({"published": "明天"}, "发布日期: 「明天」不是日期"),
        ({"keywords": "公积金 +"}, "关键词: 第1行第5列：'+' must be followed by"),
        ({"keywords": ""}, "请选择监测方案或填写关键词（至少一项）"),
        ({"keywords": "", "scheme": "没有的方案"}, "监测方案: 没有名为「没有的方案」的监测方案"),
        ({"title": ""}, "标题: 必填"),
    ],
)
def test_bad_input_comes_back_on_the_form(penv: Env, change: dict[str, str], message: str) -> None:
    c = penv.client("monitor")
    r = c.form("/policies/save", FORM | {"published": "2026-11-01"} | change)
    assert r.status_code == 422
    assert message in re.sub(r"&#3[49];", lambda m: {"&#34;": '"', "&#39;": "'"}[m.group(0)], r.text)
    assert 'id="policy-errors"' in r.text and PolicyStore(penv.url).list() == []


def test_api(penv: Env) -> None:
    SchemeStore(penv.url).save_all([{"name": "公积金方案", "include": "公积金"}])
    api = penv.client("monitor", token=True)
    body = {"title": TITLE, "issuer": "九江市住房公积金管理委员会", "published": published_day([]), "scheme": "公积金方案"}
    r = api.post("/api/v1/policies", json=body)
    assert r.status_code == 201, r.text
    p = r.json()["policy"]
    assert p["scheme"] == "公积金方案" and p["keywords"] == "" and p["active"] is True
    r = api.request("PUT", f"/api/v1/policies/{p['id']}", json=body | {"doc_number": "长金管委【2018】1号"})
    assert r.status_code == 200 and r.json()["policy"]["doc_number"] == "长金管委【2018】1号"
    got = api.get(f"/api/v1/policies/{p['id']}").json()
    assert got["policy"]["id"] == p["id"] and len(got["report"]["days"]) == 41 and got["report"]["upcoming"] is False
    assert got["report"]["days"][30]["after"] is True and got["report"]["days"][29]["after"] is False
    # errors name the field; nothing saved
    r = api.post("/api/v1/policies", json=body | {"title": "另一项", "scheme": "", "keywords": "(公积金"})
    assert r.status_code == 422 and r.json() == {"errors": ["关键词: 第1行第1列：'(' has no closing ')'"]}
    r = api.post("/api/v1/policies", json=body)
    assert r.status_code == 422 and r.json()["errors"] == ["标题: 已有同名政策"]
    assert api.request("PUT", "/api/v1/policies/999", json=body).status_code == 404
    assert [x["title"] for x in api.get("/api/v1/policies").json()["policies"]] == [TITLE]
    # leaders read, may not write; cookie requests without the CSRF token are refused
    assert penv.client("leader", token=True).post("/api/v1/policies", json=body | {"title": "x"}).status_code == 403
    assert penv.client("monitor").post("/api/v1/policies", json=body | {"title": "x"}).status_code == 403
    assert api.request("DELETE", f"/api/v1/policies/{p['id']}").json() == {"deleted": p["id"]}
    assert api.get("/api/v1/policies").json() == {"policies": []}


def test_page_over_real_http(penv: Env, live_server: str) -> None:
    PolicyStore(penv.url).save(FORM | {"published": published_day([]), "active": True}, by="test")
    with httpx.Client(base_url=live_server) as http:
        r = http.get("/policies", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/login").text).group(1)  # type: ignore[union-attr]
        assert http.post("/login", data={"username": "jiance", "password": PASSWORD, "csrf_token": token}).status_code == 303
        listing = http.get("/policies")
        pid = re.search(r'href="/policies/(\d+)"', listing.text).group(1)  # type: ignore[union-attr]
        page = http.get(f"/policies/{pid}?days=7")
        assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
        assert "<b>7 天</b>" in page.text and page.text.count("<svg") == 2

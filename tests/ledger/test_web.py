"""The web service on both databases: sign-in, CSRF, optimistic concurrency, uploads, the public
page and feeds (masked), the Excel export, the API and the events on the bus."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import openpyxl
from sqlalchemy import select

from ledger.events import TOPIC, CaseEvent, CommitmentEvent, decode
from ledger.export import CASE_COLUMNS, COMMITMENT_COLUMNS
from ledger.schemas import CaseAction, CommitmentAction, NewCommitment
from ledger.states import SYSTEM
from ledger.tables import ApiToken, AuditEntry
from tests.ledger.conftest import PASSWORD, Env
from yuqing.events import PostClassified, Risk, Source
from yuqing.store.sqlite import SqliteStore
from yuqing.timeutil import now

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def store_for(tmp_path: Path) -> SqliteStore:
    return SqliteStore(f"sqlite:///{tmp_path}/store.db")


def seed_post(store: SqliteStore, key: str, **kw: Any) -> PostClassified:
    post = PostClassified(
        id=f"hotline-12345:{key}",
        title=kw.get("title", "某公司拖欠农民工工资三个月"),
        content=kw.get("content", "龙城镇某工地拖欠工资，联系电话13812345678"),
        url=f"https://wz.example.gov.cn/{key}",
        author="王小明",
        published_at=now(),
        collected_at=now(),
        source=Source(id="hotline-12345", kind="hotline", name="12345 热线"),
        raw={"category": "投诉"},
        topic="工资拖欠",
        sentiment="negative",
        risk=Risk(score=80, level="高", reasons=["工资拖欠"]),
        event_id=f"ev-{key}",
        region="彭泽县/龙城镇",
    )
    store.write([post])
    return post


# -- sign-in ---------------------------------------------------------------------------------------
def test_sign_in_out_and_wrong_password(env: Env) -> None:
    c = env.client(None)
    r = c.login("jiance", "wrong-password")
    assert r.status_code == 401 and "用户名或密码错误" in r.text
    r = c.login("nobody", PASSWORD)
    assert r.status_code == 401 and "用户名或密码错误" in r.text
    assert c.login("jiance").status_code == 303
    assert c.get("/cases").status_code == 200
    assert c.form("/logout").headers["location"] == "/login"
    assert c.get("/cases").headers["location"] == "/login?next=/cases"


def test_sign_in_is_rate_limited_per_user(env: Env) -> None:
    c = env.client(None)
    for _ in range(env.svc.config.login_max_failures):
        assert c.login("lingdao", "wrong-password").status_code == 401
    r = c.login("lingdao")  # the right password, but too late
    assert r.status_code == 429 and "登录失败次数过多，请 5 分钟后再试" in r.text
    assert env.client(None).login("jiance").status_code == 303  # other users are not locked out


def test_next_after_sign_in_stays_on_this_site(env: Env) -> None:
    c = env.client(None)
    c.get("/login")
    r = c.form("/login", {"username": "jiance", "password": PASSWORD, "next": "//evil.example/x"})
    assert r.headers["location"] == "/cases"


# -- CSRF --------------------------------------------------------------------------------------------
def test_state_changes_without_the_csrf_token_are_refused(env: Env) -> None:
    mon = env.client("monitor")
    form = {"title": "无令牌登记", "case_type": "投诉"}
    r = mon.post("/cases/new", data=form)
    assert r.status_code == 403 and "安全校验失败（CSRF）" in r.text
    r = mon.post("/cases/new", data={**form, "csrf_token": "forged"})
    assert r.status_code == 403
    r = mon.post("/api/v1/cases", json={"title": "无令牌登记"})  # the session cookie alone is not enough
    assert r.status_code == 403 and r.json() == {"detail": "安全校验失败（CSRF），请刷新页面后重试", "error": "CsrfRefused"}
    assert env.svc.list_cases(SYSTEM).total == 0
    assert mon.post("/api/v1/cases", json={"title": "带令牌登记"}, headers={"X-CSRF-Token": mon.csrf}).status_code == 201
    assert env.client("monitor", token=True).post("/api/v1/cases", json={"title": "接口令牌登记"}).status_code == 201
    assert mon.form("/cases/new", form).status_code == 303
    assert sorted(c.title for c in env.svc.list_cases(SYSTEM).items) == ["带令牌登记", "接口令牌登记", "无令牌登记"]
    anon = env.client(None)
    r = anon.post("/login", data={"username": "jiance", "password": PASSWORD})  # login CSRF
    assert r.status_code == 403


# -- optimistic concurrency through the forms ----------------------------------------------------------
def test_a_stale_form_gets_409_and_changes_nothing(env: Env) -> None:
    case = env.case("assigned")
    page = env.client("monitor").get(f"/cases/{case.id}")
    assert f'name="version" value="{case.version}"' in page.text
    env.client("unit").form(f"/cases/{case.id}/act", {"action": "accept", "version": case.version})
    r = env.client("monitor").form(f"/cases/{case.id}/act", {"action": "supervise", "version": case.version, "note": "请加快"})
    assert r.status_code == 409
    assert f"案件 {case.number}已被他人修改（您看到的是第 {case.version} 版，当前为第 {case.version + 1} 版），请刷新后重试" in r.text
    assert [a.action for a in env.svc.audit(SYSTEM, case.id)] == ["create", "assign", "accept"]


def test_refused_transition_via_api_is_409_with_reason(env: Env) -> None:
    case = env.case("closed")
    r = env.client("unit", token=True).post(f"/api/v1/cases/{case.id}/actions", json={"action": "accept", "version": case.version})
    assert r.status_code == 409
    assert r.json() == {"detail": "案件当前状态为「已办结」，不能执行「签收」（仅限：已交办）", "error": "TransitionError"}
    r = env.client("unit", token=True).post(f"/api/v1/cases/{case.id}/actions", json={"action": "fly", "version": 1})
    assert r.status_code == 422


# -- uploads -------------------------------------------------------------------------------------------
def test_uploads_are_checked_for_size_and_type(env: Env) -> None:
    case = env.case("fulfilling")
    com = case.commitments[0]
    unit = env.client("unit")

    def fulfil(name: str, data: bytes) -> Any:
        return unit.form(
            f"/commitments/{com.id}/act",
            {"action": "fulfil", "version": com.version, "fulfilment": "已整改"},
            files={"files": (name, data, "application/octet-stream")},
        )

    r = fulfil("setup.exe", b"MZ\x90\x00")
    assert r.status_code == 422 and "附件「setup.exe」的类型不允许（允许：pdf、jpg、jpeg、png、docx、xlsx、txt）" in r.text
    r = fulfil("photo.png", PDF)
    assert r.status_code == 422 and "附件「photo.png」的内容与扩展名 .png 不符" in r.text
    r = fulfil("big.pdf", PDF + b"0" * (64 * 1024))
    assert r.status_code == 422 and "附件「big.pdf」超过大小上限 64 KB" in r.text
    assert env.svc.get_case(SYSTEM, case.id).commitments[0].status == "open"  # nothing half-done
    r = unit.form(
        f"/commitments/{com.id}/act",
        {"action": "fulfil", "version": com.version, "fulfilment": "已完成清淤", "evidence_links": "https://www.pengze.gov.cn/a"},
        files=[("files", ("现场照片.png", PNG, "image/png")), ("files", ("整改报告.pdf", PDF, "application/pdf"))],
    )
    assert r.status_code == 303
    saved = env.svc.get_case(SYSTEM, case.id).commitments[0]
    assert [(a.filename, a.content_type, a.size, a.sha256) for a in saved.attachments] == [
        ("现场照片.png", "image/png", len(PNG), hashlib.sha256(PNG).hexdigest()),
        ("整改报告.pdf", "application/pdf", len(PDF), hashlib.sha256(PDF).hexdigest()),
    ]
    assert saved.evidence_links == ["https://www.pengze.gov.cn/a"]
    for role in ("unit", "monitor", "leader"):
        got = env.client(role).get(f"/attachments/{saved.attachments[1].id}")
        assert got.status_code == 200 and got.content == PDF and got.headers["content-type"] == "application/pdf"
        assert got.headers["content-disposition"] == "attachment; filename*=UTF-8''%E6%95%B4%E6%94%B9%E6%8A%A5%E5%91%8A.pdf"
    assert env.client("other_unit").get(f"/attachments/{saved.attachments[1].id}").status_code == 404


def test_an_oversized_request_is_refused_before_it_is_read(env: Env) -> None:
    r = env.client("unit").post("/commitments/1/act", content=b"x", headers={"content-length": str(10**9)})
    assert r.status_code == 413


# -- what units see ------------------------------------------------------------------------------------
def test_units_see_only_their_own_cases(env: Env) -> None:
    mine = env.case("assigned", title="生态环境局的案件")
    theirs = env.case("assigned", unit="other_unit", title="人社局的案件")
    env.case("pending", title="未交办的案件")
    page = env.client("unit").get("/cases")
    assert "生态环境局的案件" in page.text and "人社局的案件" not in page.text and "未交办的案件" not in page.text
    assert env.client("unit").get(f"/cases/{theirs.id}").status_code == 404
    api = env.client("other_unit", token=True).get("/api/v1/cases").json()
    assert (api["total"], [c["title"] for c in api["items"]]) == (1, ["人社局的案件"])
    assert env.client("leader", token=True).get("/api/v1/cases").json()["total"] == 3
    # A co-unit (协办单位) sees the case too, but may not act on it.
    case = env.case("pending", title="协办案件")
    env.svc.act(
        env.world.actors["monitor"],
        case.id,
        CaseAction(
            action="assign",
            version=case.version,
            unit_id=env.world.actors["unit"].unit_id,
            co_unit_ids=[env.world.actors["other_unit"].unit_id],
        ),
    )
    assert env.client("other_unit").get(f"/cases/{case.id}").status_code == 200
    r = env.client("other_unit").form(f"/cases/{case.id}/act", {"action": "accept", "version": case.version + 1})
    assert r.status_code == 403 and "只有交办单位可以执行「签收」" in r.text
    assert mine.unit is not None


# -- API -----------------------------------------------------------------------------------------------
def test_api_creates_and_updates_cases_with_tokens(env: Env) -> None:
    mon, unit = env.client("monitor", token=True), env.client("unit", token=True)
    unit_id = env.world.actors["unit"].unit_id
    r = mon.post(
        "/api/v1/cases",
        json={
            "title": "梅峰河黑臭",
            "source": "问政九江",
            "case_type": "咨询",
            "unit_id": unit_id,
            "petitioner_phone": "13812345678",
            "post_urls": ["https://wz.example/1"],
        },
    )
    assert r.status_code == 201
    body = r.json()
    assert {k: body[k] for k in ("number", "status", "status_label", "unit", "time_limit_days", "version", "overdue")} == {
        "number": f"YQ-{now().year}-00001",
        "status": "assigned",
        "status_label": "已交办",
        "unit": "县生态环境局",
        "time_limit_days": 3,
        "version": 2,
        "overdue": False,
    }
    cid = body["id"]
    assert unit.post(f"/api/v1/cases/{cid}/actions", json={"action": "accept", "version": 2}).json()["status"] == "in_progress"
    com = unit.post(f"/api/v1/cases/{cid}/commitments", json={"version": 3, "content": "两周内清淤", "due_workdays": 10})
    assert com.status_code == 201 and com.json()["status"] == "open" and com.json()["unit"] == "县生态环境局"
    r = unit.post(f"/api/v1/cases/{cid}/actions", json={"action": "respond", "version": 4, "response": "已安排"})
    assert r.json()["status"] == "responded"
    audit = unit.get(f"/api/v1/cases/{cid}/audit").json()
    assert [(a["event"], a["actor_name"], a["from_status"], a["to_status"]) for a in audit] == [
        ("case.created", "jiance", None, "pending"),
        ("case.assigned", "jiance", "pending", "assigned"),
        ("case.accepted", "sthj", "assigned", "in_progress"),
        ("commitment.created", "sthj", "in_progress", "in_progress"),
        ("case.responded", "sthj", "in_progress", "responded"),
    ]
    assert unit.post("/api/v1/cases", json={"title": "单位不能登记"}).status_code == 403
    r = mon.post("/api/v1/cases", json={"title": ""})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "title"]


def test_tokens_are_stored_hashed_and_can_be_revoked(env: Env) -> None:
    token = env.world.tokens["unit"]
    with env.db.read() as s:
        rows = s.scalars(select(ApiToken)).all()
        assert all(token not in (t.token_hash, t.prefix, t.name) for t in rows)
        assert hashlib.sha256(token.encode()).hexdigest() in {t.token_hash for t in rows}
    assert env.client(None).get("/api/v1/me", headers={"Authorization": "Bearer yql_not-a-token"}).status_code == 401
    fresh = env.svc.issue_token(SYSTEM, env.world.actors["leader"].user_id, "matrix-revoke")
    c = env.client(None)
    assert c.get("/api/v1/me", headers={"Authorization": f"Bearer {fresh}"}).json()["username"] == "lingdao"
    env.svc.revoke_token(SYSTEM, env.svc.list_tokens(SYSTEM)[-1].id)
    assert c.get("/api/v1/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 401


def test_openapi_documents_the_api(env: Env) -> None:
    doc = env.client(None).get("/api/openapi.json").json()
    assert set(doc["paths"]) == {
        "/api/v1/me",
        "/api/v1/units",
        "/api/v1/cases",
        "/api/v1/cases/{case_id}",
        "/api/v1/cases/{case_id}/actions",
        "/api/v1/cases/{case_id}/audit",
        "/api/v1/cases/{case_id}/commitments",
        "/api/v1/commitments/{commitment_id}/actions",
        "/api/v1/posts/{post_id}/corrections",  # 纠错 (web.post_pages)
    }
    assert doc["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "API token issued by an administrator (yuqing ledger token ...)",
    }
    assert "NewCase" in doc["components"]["schemas"] and "CaseAction" in doc["components"]["schemas"]


# -- public disclosure -----------------------------------------------------------------------------------
def test_public_page_and_feeds_show_disclosed_commitments_masked(env: Env) -> None:
    a = env.world.actors
    case = env.case("in_progress", title="王小明反映工资拖欠", petitioner="王小明", petitioner_phone="13812345678")
    env.svc.add_commitment(
        a["unit"], case.id, NewCommitment(version=case.version, content="联系王小明（13812345678）核实，15 日内结清", due_workdays=15)
    )
    case = env.svc.get_case(SYSTEM, case.id)
    case = env.svc.act(a["unit"], case.id, CaseAction(action="respond", version=case.version, response="已回复"))
    case = env.svc.act(a["unit"], case.id, CaseAction(action="track", version=case.version))
    m = case.commitments[0]
    m = env.svc.act_on_commitment(
        a["unit"],
        m.id,
        CommitmentAction(
            action="fulfil", version=m.version, fulfilment="已向王小明（身份证 36042819900101123X）足额发放工资，诉求人：王小明"
        ),
    )
    not_yet = env.case("fulfilled", title="尚未公开的承诺")
    anon = env.client(None)
    assert "王小明" not in anon.get("/public").text  # fulfilled but not disclosed: not public
    env.svc.act_on_commitment(
        a["monitor"],
        m.id,
        CommitmentAction(
            action="disclose", version=m.version, disclosure_channel="彭泽县人民政府网站", disclosure_url="https://www.pengze.gov.cn/gk/1"
        ),
    )
    response = anon.get("/public")
    assert (response.headers["x-frame-options"], response.headers["x-content-type-options"]) == ("DENY", "nosniff")
    page = response.text
    rss = anon.get("/public/feed.xml")
    feed = anon.get("/public/feed.json")
    for text in (page, rss.text, feed.text):
        assert "王小明" not in text and "13812345678" not in text and "36042819900101123X" not in text
        assert "王**" in text and "138****5678" in text and "360428************" in text
    assert "尚未公开的承诺" not in page and not_yet.number is not None
    assert rss.headers["content-type"] == "application/rss+xml; charset=utf-8"
    items = feed.json()["items"]
    assert len(items) == 1
    assert items[0]["id"] == f"{case.number}-1" and items[0]["title"] == f"{case.number} 王**反映工资拖欠"
    assert items[0]["_ledger"]["commitment"] == "联系王**（138****5678）核实，15 日内结清"
    assert items[0]["_ledger"]["fulfilment"] == "已向王**（身份证 360428************）足额发放工资，诉求人：王**"
    assert items[0]["url"] == "https://www.pengze.gov.cn/gk/1" and items[0]["_ledger"]["channel"] == "彭泽县人民政府网站"


# -- Excel -------------------------------------------------------------------------------------------------
def test_excel_export_has_the_office_columns_and_filters(env: Env) -> None:
    a = env.world.actors
    late = env.case("assigned", title="超期未回复")
    env.svc.clock = lambda: now() + timedelta(days=60)  # everything still open is now late
    env.case("pending", title="待交办")  # created "later", not assigned: never overdue
    env.case("assigned", unit="other_unit", title="人社局的")  # assigned "later" too: not overdue
    r = env.client("monitor").get(f"/export.xlsx?unit={a['unit'].unit_id}&status=assigned&overdue=1")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["台账", "承诺事项"]
    ws = wb["台账"]
    assert ws["A1"].value == "政务舆情回应台账"
    assert [c.value for c in ws[3]] == [h for h, _ in CASE_COLUMNS]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=4)]
    assert len(rows) == 1
    row = dict(zip([h for h, _ in CASE_COLUMNS], rows[0], strict=True))
    assert (
        row["编号"],
        row["标题"],
        row["来源"],
        row["类型"],
        row["交办单位"],
        row["办理时限（工作日）"],
        row["状态"],
        row["是否超期"],
    ) == (late.number, "超期未回复", "12345", "投诉", "县生态环境局", 13, "已交办", "是")
    assert row["规定回复时间"] == f"{late.due_at:%Y-%m-%d %H:%M}"
    assert [c.value for c in wb["承诺事项"][3]] == [h for h, _ in COMMITMENT_COLUMNS]
    # Without filters a unit exports its own cases only.
    ws = openpyxl.load_workbook(io.BytesIO(env.client("other_unit").get("/export.xlsx").content))["台账"]
    assert [r[5].value for r in ws.iter_rows(min_row=4)] == ["人社局的"]
    everything = openpyxl.load_workbook(io.BytesIO(env.client("leader").get("/export.xlsx?overdue=0").content))["台账"]
    assert [r[5].value for r in everything.iter_rows(min_row=4)] == ["待交办", "人社局的"]


def test_export_lists_commitments_with_fulfilment_and_disclosure(env: Env) -> None:
    case = env.case("disclosed")
    ws = openpyxl.load_workbook(io.BytesIO(env.client("leader").get("/export.xlsx").content))["承诺事项"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=4)]
    row = dict(zip([h for h, _ in COMMITMENT_COLUMNS], rows[0], strict=True))
    assert (
        row["案件编号"],
        row["承诺内容"],
        row["责任单位"],
        row["落实状态"],
        row["落实情况"],
        row["公开渠道"],
        row["公开链接"],
        row["是否超期"],
    ) == (
        case.number,
        "10 个工作日内完成清淤",
        "县生态环境局",
        "已公开",
        "已完成清淤，水质达标",
        "县政府网站",
        "https://www.pengze.gov.cn/x",
        "否",
    )


# -- events on the bus -------------------------------------------------------------------------------------
def test_every_change_is_published_on_the_bus(env: Env, tmp_path: Path) -> None:
    from yuqing.bus.sqlite import SqliteBus

    bus = SqliteBus(f"sqlite:///{tmp_path}/bus.db")
    env.svc.bus = bus
    case = env.case("disclosed")
    consumer = bus.consumer(TOPIC, "test")
    events = [decode(m.value) for m in sorted(consumer.poll(max_records=100, timeout=1), key=lambda m: m.offset)]
    assert [e.type for e in events] == [
        "case.created",
        "case.assigned",
        "case.accepted",
        "commitment.created",
        "case.responded",
        "case.tracking",
        "commitment.fulfilled",
        "case.fulfilled",
        "commitment.disclosed",
        "case.disclosed",
    ]
    assert all(e.case_id == case.id and e.case_number == case.number for e in events)
    fulfilled = events[6]
    assert isinstance(fulfilled, CommitmentEvent) and (
        fulfilled.actor,
        fulfilled.actor_role,
        fulfilled.from_status,
        fulfilled.to_status,
        fulfilled.commitment_unit,
    ) == ("sthj", "unit", "open", "fulfilled", "县生态环境局")
    assert isinstance(events[0], CaseEvent) and json.loads(events[0].to_bytes())["schema_version"] == 1
    with env.db.read() as s:
        audits = s.scalars(select(AuditEntry).where(AuditEntry.case_id == case.id).order_by(AuditEntry.id)).all()
    assert [a.event for a in audits] == [e.type for e in events]
    consumer.close()
    bus.close()


# -- one click from an event -----------------------------------------------------------------------------
def test_a_case_from_an_event_in_one_click(env: Env, tmp_path: Path) -> None:
    store = env.app.state.store = store_for(tmp_path)
    post = seed_post(store, "GD2026000045")
    mon = env.client("monitor")
    assert "某公司拖欠农民工工资三个月" in mon.get("/events").text
    r = mon.form("/events/case", {"post_id": post.id})
    assert r.status_code == 303
    case = env.svc.get_case(SYSTEM, int(r.headers["location"].rsplit("/", 1)[1]))
    assert (
        case.source,
        case.source_ref,
        case.case_type,
        case.topic,
        case.risk_level,
        case.event_id,
        case.post_urls,
        case.petitioner,
        case.status,
    ) == ("12345", "GD2026000045", "投诉", "工资拖欠", "高", "ev-GD2026000045", [post.url], "王小明", "pending")
    r = mon.form("/events/case", {"post_id": post.id})
    assert r.status_code == 422 and f"该事件已立案，编号 {case.number}" in r.text
    page = env.client("leader").get("/events/ev-GD2026000045")  # where alert notifications link to
    assert page.status_code == 200 and f">{case.number}</a>" in page.text and "某公司拖欠农民工工资三个月" in page.text

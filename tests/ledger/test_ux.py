"""The unit user's path and the lists (issue 13), in-process: the step indicator and the next action
for each role, the reply that registers a commitment and goes on to 承诺落实中 (both steps audited),
deadline sorting, what a unit sees on a case page, the alert list's order and titles, and the
public page's search, filters, paging and on-time statement."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from ledger.schemas import CaseAction, CommitmentAction, NewCommitment
from ledger.states import CaseStatus
from ledger.tables import Case
from tests.ledger.conftest import Env, at
from tests.ledger.test_alert_link import Fired, fired  # noqa: F401  (fixture)
from web import guide
from yuqing.timeutil import now


def current(case: Case) -> str:
    return next(s.label for s in guide.steps(case) if s.state == "current") if case.status != "closed" else ""


def test_step_indicator_follows_the_case(env: Env) -> None:
    expected = {
        "pending": "交办",
        "assigned": "签收",
        "in_progress": "回复",
        "responded": "落实",
        "fulfilling": "落实",
        "fulfilled": "公开",
        "disclosed": "办结",
    }
    for state, stage in expected.items():
        case = env.case(state)
        assert current(case) == stage, state
        states_ = [s.state for s in guide.steps(case)]
        assert states_.count("current") == 1 and states_.index("current") == [s.label for s in guide.steps(case)].index(stage)
        assert all(s == "done" for s in states_[: states_.index("current")])
    closed = env.case("closed")
    assert [s.state for s in guide.steps(closed)] == ["done"] * 6
    # replied without commitments: 落实 and 公开 are skipped, 办结 is next
    bare = env.case("responded", commitments=False)
    assert [(s.label, s.state) for s in guide.steps(bare)][3:] == [("落实", "skipped"), ("公开", "skipped"), ("办结", "current")]
    assert {s.label: s.note for s in guide.steps(env.case("fulfilling"))}["落实"] == "0/1"


def test_next_action_names_this_users_turn_or_whom_the_case_waits_for(env: Env) -> None:
    a = env.world.actors
    t = now()
    cases = {s: env.case(s) for s in ("pending", "assigned", "in_progress", "fulfilling", "fulfilled", "disclosed", "closed")}
    table = {
        ("pending", "monitor"): (True, "请选择交办单位并交办"),
        ("pending", "leader"): (False, "等待舆情监测员交办"),
        ("assigned", "unit"): (True, "请签收"),
        ("assigned", "monitor"): (False, "等待县生态环境局签收"),
        ("in_progress", "unit"): (True, "请填写回应内容并回复"),
        ("in_progress", "monitor"): (False, "等待县生态环境局回复"),
        ("fulfilling", "unit"): (True, "请登记第 1 项承诺的落实情况和佐证材料"),
        ("fulfilling", "monitor"): (False, "等待县生态环境局落实第 1 项承诺"),
        ("fulfilled", "monitor"): (True, "第 1 项承诺已落实：请核查后登记公开，或核查退回"),
        ("disclosed", "monitor"): (True, "承诺已全部落实并公开：请办结"),
        ("disclosed", "unit"): (False, "承诺已全部落实并公开，等待舆情监测员办结"),
        ("closed", "unit"): (False, "已办结"),
    }
    for (state, role), (mine, start) in table.items():
        text, turn = guide.next_action(cases[state], a[role], t)
        assert (turn, text.startswith(start)) == (mine, True), (state, role, text)
    # the reply clock shows in the sentence
    assert "还剩" in guide.next_action(cases["in_progress"], a["unit"], t)[0]
    # a pending extension is the office's next action
    c = cases["in_progress"]
    c = env.svc.act(a["unit"], c.id, CaseAction(action="request_extension", version=c.version, extension_days=5, note="需现场勘查"))
    assert guide.next_action(c, a["monitor"], t) == ("县生态环境局申请延期 5 个工作日：请批准或驳回", True)


def test_days_left_and_on_time() -> None:
    t = at("2026-03-10T15:00:00+08:00")
    assert guide.days_left(at("2026-03-10T23:59:59+08:00"), t) == 0
    assert guide.days_left_text(at("2026-03-10T23:59:59+08:00"), t) == "今天到期"
    assert guide.days_left_text(at("2026-03-13T09:00:00+08:00"), t) == "还剩 3 天"
    assert guide.days_left_text(at("2026-03-07T23:59:59+08:00"), t) == "已超期 3 天"
    assert guide.days_left_text(at("2026-03-10T09:00:00+08:00"), t) == "今天已超期"
    assert guide.days_left_text(None, t) == "—"

    class M:
        def __init__(self, due: str, done: str | None) -> None:
            self.due_at, self.fulfilled_at = at(due), at(done) if done else None

    assert guide.on_time(M("2026-03-10T23:59:59+08:00", "2026-03-10T20:00:00+08:00")) == (True, "按期落实（承诺时限 2026-03-10）")
    assert guide.on_time(M("2026-03-10T23:59:59+08:00", "2026-03-12T09:00:00+08:00")) == (False, "逾期 2 天落实（承诺时限 2026-03-10）")
    assert guide.on_time(M("2026-03-10T23:59:59+08:00", None))[0] is None


def test_alert_title_when_the_stored_one_is_only_punctuation() -> None:
    labels = {"topic": "劳动就业", "region": "彭泽县/龙城镇"}
    assert guide.alert_title("）", "欠薪群体诉求", labels) == "欠薪群体诉求（彭泽县/龙城镇·劳动就业）"
    assert guide.alert_title(" …！ ", "欠薪群体诉求", {}) == "欠薪群体诉求"
    assert guide.alert_title("", "", {}) == "未命名预警"
    assert guide.alert_title("龙城镇工地欠薪", "欠薪群体诉求", labels) == "龙城镇工地欠薪"


def test_reply_with_a_commitment_goes_on_to_fulfilment_and_audits_each_step(env: Env) -> None:
    case = env.case("in_progress")
    unit = env.client("unit")
    page = unit.get(f"/cases/{case.id}").text
    assert 'id="reply-commitment"' in page and "转入承诺落实" not in page
    r = unit.form(
        f"/cases/{case.id}/act",
        {"action": "respond", "version": case.version, "response": "已安排清淤", "content": "10 个工作日内完成清淤", "due_workdays": "10"},
    )
    assert r.status_code == 303
    after = env.svc.get_case(env.world.actors["monitor"], case.id)
    assert after.status == CaseStatus.FULFILLING.value and [m.content for m in after.commitments] == ["10 个工作日内完成清淤"]
    log = [(e.event, e.from_status, e.to_status) for e in env.svc.audit(env.world.actors["monitor"], case.id)][-3:]
    assert log == [
        ("commitment.created", "in_progress", "in_progress"),
        ("case.responded", "in_progress", "responded"),
        ("case.tracking", "responded", "fulfilling"),
    ]
    assert "已回复并登记承诺" in unit.get(f"/cases/{case.id}").text


def test_reply_without_a_commitment_stays_replied_and_can_be_closed(env: Env) -> None:
    case = env.case("in_progress")
    r = env.client("unit").form(f"/cases/{case.id}/act", {"action": "respond", "version": case.version, "response": "属咨询，已答复"})
    assert r.status_code == 303
    after = env.svc.get_case(env.world.actors["monitor"], case.id)
    assert after.status == "responded" and not after.commitments
    assert "已回复，没有承诺事项：可以办结" in env.client("monitor").get(f"/cases/{case.id}").text


def test_a_bad_reply_writes_nothing(env: Env) -> None:
    case = env.case("in_progress")
    unit = env.client("unit")
    for data, message in (
        ({"response": "已安排", "content": "清淤"}, "请填写承诺时限"),
        ({"response": "", "content": "清淤", "due_workdays": "5"}, "请填写回应内容"),
        ({"response": "已安排", "content": "清淤", "due_date": "2026-13-40"}, "承诺时限格式应为 YYYY-MM-DD"),
    ):
        r = unit.form(f"/cases/{case.id}/act", {"action": "respond", "version": case.version, **data})
        assert r.status_code == 422 and message in r.text, r.text[-500:]
    after = env.svc.get_case(env.world.actors["monitor"], case.id)
    assert after.status == "in_progress" and not after.commitments and after.version == case.version


def test_a_commitment_added_after_the_reply_starts_fulfilment(env: Env) -> None:
    case = env.case("responded", commitments=False)
    r = env.client("unit").form(f"/cases/{case.id}/commitments", {"version": case.version, "content": "设置警示牌", "due_workdays": "3"})
    assert r.status_code == 303
    after = env.svc.get_case(env.world.actors["monitor"], case.id)
    assert after.status == "fulfilling"
    assert [e.event for e in env.svc.audit(env.world.actors["monitor"], case.id)][-2:] == ["commitment.created", "case.tracking"]


def test_a_case_left_replied_with_commitments_still_offers_the_step(env: Env) -> None:
    """Through the API 回复 and 转入承诺落实 stay separate; the page then says what is left."""
    case = env.case("responded")
    page = env.client("unit").get(f"/cases/{case.id}").text
    assert "请转入承诺落实" in page and 'data-action="track"' in page
    assert "已登记，待转入承诺落实" in page and "回复后开始落实" not in page  # the case has replied already
    early = env.case("committed")
    assert "已登记，回复后开始落实" in env.client("unit").get(f"/cases/{early.id}").text
    # the list says the same: 落实中 only once fulfilment has started
    started = env.case("fulfilling")
    listing = env.client("unit").get("/cases").text
    for c, label in ((case, "1.已登记"), (early, "1.已登记"), (started, "1.落实中")):
        row = re.search(rf'data-case="{c.id}">(.*?)</tr>', listing, re.S)
        assert row is not None and label in row.group(1), (c.status, label)


def test_units_do_not_see_internal_fields(env: Env) -> None:
    case = env.case("fulfilling", event_id="ev-20260301-0007", alert_id="al-0badc0ffee", post_ids=["wzjx:991"], source_ref="wzjx:991")
    unit = env.client("unit").get(f"/cases/{case.id}").text
    for internal in ("ev-20260301-0007", "al-0badc0ffee", "wzjx:991", "版本", 'title="case.'):
        assert internal not in unit, internal
    monitor = env.client("monitor").get(f"/cases/{case.id}").text
    for shown in ("ev-20260301-0007", "al-0badc0ffee", "wzjx:991", "版本"):
        assert shown in monitor, shown
    # a human ticket number (no post behind it) stays visible to the unit
    ticket = env.case("assigned", source_ref="12345-2026-0311")
    assert "12345-2026-0311" in env.client("unit").get(f"/cases/{ticket.id}").text


def test_case_list_sorts_by_the_running_deadline(env: Env) -> None:
    a = env.world.actors
    soon = env.case("assigned", time_limit_days=1)
    later = env.case("in_progress", time_limit_days=20)
    fulfilling = env.case("fulfilling")  # commitment due in 10 working days
    closed = env.case("closed")
    pending = env.case("pending")
    page = env.svc.list_cases(a["monitor"], sort="deadline")
    ids = [c.id for c in page.items]
    assert ids[:3] == [soon.id, fulfilling.id, later.id]
    assert set(ids[3:]) == {closed.id, pending.id}
    deadlines = [guide.deadline_of(c) for c in page.items]
    assert deadlines[:3] == sorted(d for d in deadlines if d is not None) and deadlines[3:] == [None, None]
    # the page: units start with the soonest deadline; others with the newest case, and can switch
    rows = re.findall(r'data-case="(\d+)"', env.client("unit").get("/cases").text)
    assert rows[:3] == [str(soon.id), str(fulfilling.id), str(later.id)]
    rows = re.findall(r'data-case="(\d+)"', env.client("monitor").get("/cases").text)
    assert rows[0] == str(pending.id)
    rows = re.findall(r'data-case="(\d+)"', env.client("monitor").get("/cases?sort=deadline").text)
    assert rows[0] == str(soon.id)
    assert env.client("monitor").get("/cases?sort=nonsense").status_code == 422
    text = env.client("unit").get("/cases").text
    assert re.search(rf'data-case="{soon.id}">.*?还剩 \d+ 天', text, re.S)


def test_alerts_newest_first_highlighted_and_titled(env: Env, fired: Fired) -> None:  # noqa: F811
    store = env.app.state.alerts
    base = fired.alert
    t0 = base.fired_at or base.created_at
    made = {
        # created early but fired last: shown time is fired_at, so it comes first
        "al-late-fire": replace(
            base,
            id="al-late-fire",
            fingerprint="fp-1",
            created_at=t0 - timedelta(seconds=900),
            fired_at=t0 + timedelta(seconds=600),
            severity="重大",
            title="）",
        ),
        "al-middle": replace(
            base,
            id="al-middle",
            fingerprint="fp-2",
            created_at=t0 + timedelta(seconds=60),
            fired_at=t0 + timedelta(seconds=120),
            title="马当镇停水",
        ),
        "al-old": replace(
            base, id="al-old", fingerprint="fp-3", created_at=t0 - timedelta(seconds=3600), fired_at=None, status="pending", title="旧预警"
        ),
    }
    with store.begin() as conn:
        for alert in made.values():
            store.insert_in(conn, alert)
    html = env.client("monitor").get("/alerts?status=").text
    order = re.findall(r'<tr data-alert="([^"]+)"', html)
    assert order == ["al-late-fire", "al-middle", base.id, "al-old"]
    row = re.search(r'<tr data-alert="al-late-fire" class="([^"]+)">(.*?)</tr>', html, re.S)
    assert row is not None and row.group(1) == "sev-重大" and 'class="badge sev-重大"' in row.group(2)
    assert ">）<" not in html and base.rule in row.group(2)
    assert "）</a>" not in env.client("monitor").get("/alerts/al-late-fire").text


def _disclosed(env: Env, title: str, *, late: bool, unit: str = "unit", content: str = "完成整改", **fields: Any) -> Case:
    a = env.world.actors
    case = env.case("responded", unit=unit, title=title, commitments=False, **fields)
    env.svc.add_commitment(a[unit], case.id, NewCommitment(version=case.version, content=content, due_workdays=3))
    case = env.svc.act(a[unit], case.id, CaseAction(action="track", version=env.svc.get_case(a["monitor"], case.id).version))
    m = case.commitments[0]
    if late:
        env.svc.clock = lambda: m.due_at + timedelta(days=2)
    env.svc.act_on_commitment(a[unit], m.id, CommitmentAction(action="fulfil", version=m.version, fulfilment=f"{content}，已验收"))
    m = env.svc.get_case(a["monitor"], case.id).commitments[0]
    env.svc.act_on_commitment(a["monitor"], m.id, CommitmentAction(action="disclose", version=m.version, disclosure_channel="县政府网站"))
    env.svc.clock = now
    return env.svc.get_case(a["monitor"], case.id)


def test_public_page_search_filters_paging_and_on_time(env: Env) -> None:
    anon = env.client()
    on_time = _disclosed(env, "龙城镇路灯不亮", late=False, content="更换路灯")
    late = _disclosed(env, "马当镇自来水浑浊", late=True, unit="other_unit", content="更换水管")
    secret = _disclosed(env, "张德明反映噪音", late=False, petitioner="张德明", content="加装隔音板")
    html = anon.get("/public").text
    assert "共 3 项承诺，其中按期落实 2 项" in html
    assert re.search(rf'id="{on_time.number}-1".*?按期落实（承诺时限', html, re.S)
    assert re.search(rf'id="{late.number}-1".*?逾期 2 天落实（承诺时限', html, re.S)
    # search over what is shown
    html = anon.get("/public", params={"q": "水管"}).text
    assert f'id="{late.number}-1"' in html and f'id="{on_time.number}-1"' not in html
    html = anon.get("/public", params={"q": "马当镇 验收"}).text  # all words must match
    assert re.findall(r'class="card public-item" id="([^"]+)"', html) == [f"{late.number}-1"]
    # a masked name cannot be searched for: the page would otherwise say which item hides it
    html = anon.get("/public", params={"q": "张德明"}).text
    assert "没有符合条件的承诺事项" in html and f'id="{secret.number}-1"' not in html and "张德明" not in html.split("</form>")[1]
    # filters
    html = anon.get("/public", params={"ontime": "0"}).text
    assert re.findall(r'class="card public-item" id="([^"]+)"', html) == [f"{late.number}-1"]
    html = anon.get("/public", params={"unit": "县人力资源和社会保障局"}).text
    assert re.findall(r'class="card public-item" id="([^"]+)"', html) == [f"{late.number}-1"]
    assert anon.get("/public", params={"page": "x"}).status_code == 200


def test_public_page_pages(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from web import public

    monkeypatch.setattr(public, "PUBLIC_PAGE", 2)
    made = [_disclosed(env, f"第{i}件", late=False) for i in range(5)]
    anon = env.client()
    seen = []
    for p in (1, 2, 3):
        html = anon.get("/public", params={"page": str(p)}).text
        seen += re.findall(r'class="card public-item" id="([^"]+)"', html)
    assert sorted(seen) == sorted(f"{c.number}-1" for c in made) and len(seen) == 5
    html = anon.get("/public", params={"page": "9", "q": "件"}).text  # past the end: the last page
    assert len(re.findall(r'class="card public-item"', html)) == 1 and 'href="/public?q=%E4%BB%B6&page=1"' in html


def test_styles_come_from_a_file_and_pages_carry_no_inline_code(env: Env) -> None:
    r = env.client().get("/static/ledger.css")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/css") and "ol.steps" in r.text
    case = env.case("fulfilling")
    for role, url in (("unit", f"/cases/{case.id}"), ("monitor", "/cases"), ("monitor", "/alerts"), (None, "/public"), (None, "/login")):
        html = env.client(role).get(url).text
        assert '<link rel="stylesheet" href="/static/ledger.css">' in html, url
        assert not re.search(r"<style|<script(?![^>]*\bsrc=)|\sstyle=|\son[a-z]+=", html), url


def test_december_warning_when_next_years_holidays_are_unknown(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import datetime

    from yuqing import timeutil, workdays

    saved = workdays.calendar()
    monkeypatch.setattr(timeutil, "now", lambda: datetime(2026, 12, 4, 10, 0, tzinfo=timeutil.TZ))
    try:
        workdays.configure(workdays.CalendarConfig())
        assert "尚未录入2027年法定节假日" in env.client("monitor").get("/cases").text
        assert "尚未录入2027年法定节假日" not in env.client("unit").get("/cases").text  # units cannot act on it
        workdays.configure(workdays.CalendarConfig.model_validate({"years": {2027: {"holidays": ["2027-01-01"]}}}))
        assert "尚未录入2027年法定节假日" not in env.client("monitor").get("/cases").text
    finally:
        workdays._calendar = saved

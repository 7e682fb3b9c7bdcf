"""Policies (政策舆情): validation, the table on SQLite and PostgreSQL (all or nothing, audited),
YAML round trip, and the before/after report over classified demo posts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from processors.classify import Classifier
from schemes.policies import Policy, PolicyError, PolicyStore, dump_yaml, load_yaml, read_policies, validate_all
from schemes.policy_report import is_question, report, town_of
from schemes.store import SchemeStore
from tests.core.test_store_contract import _collected
from yuqing.events import PostClassified
from yuqing.store import open_store
from yuqing.timeutil import TZ, now

DEMO = Path(__file__).resolve().parents[2] / "yuqing" / "demo" / "wenzheng.jsonl"
GOOD = {
    "title": "九江市住房公积金缴存管理办法",
    "doc_number": "长金管委【2018】1号",
    "issuer": "九江市住房公积金管理委员会",
    "published": "2018-01-29",
    "keywords": "公积金",
}


def problems(data: dict) -> list[str]:
    with pytest.raises(PolicyError) as e:
        validate_all([data], where="政策")
    return e.value.problems


# -- validation -----------------------------------------------------------------------------------
def test_valid_policy_and_date_forms() -> None:
    p = Policy.model_validate(GOOD)
    assert p.published == date(2018, 1, 29) and p.start == datetime(2018, 1, 29, tzinfo=TZ)
    for typed in ("2018/1/29", "2018年1月29日", " 2018.01.29 "):
        assert Policy.model_validate(GOOD | {"published": typed}).published == date(2018, 1, 29)
    soon = now().date() + timedelta(days=30)
    upcoming = Policy.model_validate(GOOD | {"published": soon.isoformat()})
    assert upcoming.upcoming()  # an upcoming policy may be registered ("before" monitoring)


def test_bad_input_names_the_field_and_what_is_wrong() -> None:
    far = (now().date() + timedelta(days=400)).isoformat()
    assert problems(GOOD | {"published": far}) == [
        f"政策[0]（九江市住房公积金缴存管理办法） 发布日期: {far} 晚于今天一年以上，请检查年份（即将发布的政策可提前登记，但不超过 366 天）"
    ]
    assert problems(GOOD | {"published": "下个月"}) == [
        "政策[0]（九江市住房公积金缴存管理办法） 发布日期: 「下个月」不是日期，请用 2026-11-01 这样的格式"
    ]
    assert problems(GOOD | {"published": "2018-02-30"}) == ["政策[0]（九江市住房公积金缴存管理办法） 发布日期: 「2018-02-30」不是有效日期"]
    assert problems(GOOD | {"keywords": "公积金 (提取"}) == [
        "政策[0]（九江市住房公积金缴存管理办法） 关键词: 第1行第5列：'(' has no closing ')'"
    ]
    assert problems(GOOD | {"keywords": "  "}) == [
        "政策[0]（九江市住房公积金缴存管理办法） 政策: 请选择监测方案或填写关键词（至少一项），否则找不到与该政策有关的信息"
    ]
    assert problems(GOOD | {"scheme": "欠薪讨薪"}) == ["政策[0]（九江市住房公积金缴存管理办法） 政策: 监测方案和关键词只能填一项"]
    assert problems(GOOD | {"interpretation_url": "javascript:alert(1)"}) == [
        "政策[0]（九江市住房公积金缴存管理办法） 解读链接: 解读链接须以 http:// 或 https:// 开头"
    ]
    assert problems({"keywords": "公积金", "published": "2018-01-29"}) == ["政策[0] 标题: 必填", "政策[0] 发文机关: 必填"]


# -- the table, on both databases -----------------------------------------------------------------
@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def table(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PolicyStore]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else f"sqlite:///{tmp_path}/ledger.db"
    t = PolicyStore(url)
    with t.engine.begin() as c:  # the PostgreSQL database is shared by the session
        from schemes.policies import audit_table, policies_table
        from schemes.store import schemes_table

        c.execute(policies_table.delete())
        c.execute(audit_table.delete())
        c.execute(schemes_table.delete())
    yield t
    t.close()


def test_store_saves_edits_audits_and_deletes(table: PolicyStore) -> None:
    schemes = SchemeStore(table.url)
    schemes.save_all([{"name": "公积金", "include": "公积金 住房公积金"}])
    schemes.close()
    p = table.save(GOOD, by="jiance")
    assert p.id is not None and table.get(p.id) == p
    q = table.save({k: v for k, v in GOOD.items() if k != "keywords"} | {"title": "公积金提取新规", "scheme": "公积金"}, by="jiance")
    assert [x.title for x in table.list()] == ["九江市住房公积金缴存管理办法", "公积金提取新规"]  # by date, newest first... same day: by id
    r1 = table.revision()
    edited = table.save(GOOD | {"id": p.id, "issuer": "九江市住房公积金管理中心", "active": False}, by="admin")
    assert table.get(p.id) == edited and edited.issuer == "九江市住房公积金管理中心"
    assert table.revision() != r1
    assert [x.title for x in table.list(active_only=True)] == ["公积金提取新规"]
    assert [x.title for x in read_policies(table.engine)] == ["九江市住房公积金缴存管理办法", "公积金提取新规"]
    assert table.delete(q.id, by="admin") and not table.delete(q.id)  # type: ignore[arg-type]
    audit = table.audit()
    assert [(a.policy_id, a.action, a.by) for a in audit] == [
        (p.id, "created", "jiance"),
        (q.id, "created", "jiance"),
        (p.id, "updated", "admin"),
        (q.id, "deleted", "admin"),
    ]
    assert audit[2].before["issuer"] == "九江市住房公积金管理委员会" and audit[2].after["issuer"] == "九江市住房公积金管理中心"
    assert audit[0].at.tzinfo is not None


def test_nothing_is_saved_half_way(table: PolicyStore) -> None:
    rows = [GOOD, GOOD | {"title": "第二项", "keywords": "", "scheme": "没有这个方案"}]
    with pytest.raises(PolicyError) as e:
        table.save_all(rows, by="cli")
    assert e.value.problems == ["政策[1]（第二项） 监测方案: 没有名为「没有这个方案」的监测方案（先在“监测方案”中建立，或改填关键词）"]
    assert table.list() == [] and table.audit() == []
    table.save(GOOD)
    with pytest.raises(PolicyError, match="已有同名政策"):
        table.save(GOOD)  # a second policy with the same title
    with pytest.raises(PolicyError, match="编号 999 的政策不存在"):
        table.save(GOOD | {"id": 999})
    assert len(table.list()) == 1


def test_yaml_round_trip_and_import_updates_by_title(table: PolicyStore) -> None:
    text = dump_yaml([Policy.model_validate(GOOD | {"interpretation_url": "https://www.jiujiang.gov.cn/jd/1.html"})])
    assert "published: '2018-01-29'" in text and "scheme" not in text
    rows = load_yaml(text)
    assert table.save_all(rows, by="cli") == (1, 0)
    assert table.save_all([rows[0].model_copy(update={"issuer": "市公积金中心"})], by="cli") == (0, 1)
    [saved] = table.list()
    assert saved.issuer == "市公积金中心" and saved.interpretation_url == "https://www.jiujiang.gov.cn/jd/1.html"
    with pytest.raises(PolicyError, match=r"policies.yaml line 3, column 1: not valid YAML"):
        load_yaml("policies:\n  - title: [unclosed\n")
    with pytest.raises(PolicyError, match=r"policies.yaml\[0\] id: 导入按标题匹配"):
        load_yaml("policies:\n  - {id: 3, title: x}\n")


# -- the report -----------------------------------------------------------------------------------
def test_question_detection_and_towns() -> None:
    def post(title: str, content: str = "") -> PostClassified:
        return Classifier().classify_many(
            [_collected({"id": title, "source": "t", "title": title, "content": content, "published": "2026-11-01 10:00"})]
        )[0]

    assert is_question(post("公积金能否异地提取")) == "公积金能否异地提取"
    assert is_question(post("反映情况", "单位没有缴公积金。请问何时补缴？")) == "请问何时补缴？"
    assert is_question(post("可以提取吗", "")) == "可以提取吗"
    assert is_question(post("公积金中心服务很好", "感谢工作人员。")) is None
    assert town_of("彭泽县/芙蓉墩镇/某村") == "芙蓉墩镇" and town_of("彭泽县") == "彭泽县"


@pytest.fixture(scope="module")
def demo_posts() -> list[PostClassified]:
    rows = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines() if line.strip()]
    posts = Classifier().classify_many(_collected({"source": "demo"} | r) for r in rows)
    t0 = datetime(2026, 11, 20, 23, 0, tzinfo=TZ)
    return [p.model_copy(update={"published_at": t0 - timedelta(hours=3 * i)}) for i, p in enumerate(posts)]  # 3 hours apart


def test_report_before_and_after_publication(tmp_path: Path, demo_posts: list[PostClassified]) -> None:
    store = open_store(f"sqlite:///{tmp_path}/store.db")
    store.write(demo_posts)
    p = Policy.model_validate(GOOD | {"published": "2026-11-10"})
    about = [x for x in demo_posts if "公积金" in x.tokens]
    r = report(store, p, before_days=30, after_days=30, now=datetime(2026, 11, 25, tzinfo=TZ))
    start = datetime(2026, 11, 10, tzinfo=TZ)
    want_after = [x for x in about if x.published_at >= start]
    want_before = [x for x in about if start - timedelta(days=30) <= x.published_at < start]
    assert (r.after.total, r.before.total) == (len(want_after), len(want_before)) and r.total > 0
    assert r.after.negative == sum(1 for x in want_after if x.sentiment == "negative")
    assert r.days[0].day == "2026-10-11" and r.days[-1].day == "2026-11-24" and len(r.days) == 45
    assert all(d.after == (d.day >= "2026-11-10") for d in r.days)
    assert sum(d.total for d in r.days) == r.total
    assert {x.id for x in r.posts} == {x.id for x in want_after + want_before}
    assert r.concerns and r.concerns[0].word == "公积金" and r.concerns[0].before + r.concerns[0].after == r.total
    asked = [x for x in want_after + want_before if is_question(x)]
    assert sum(r.question_count) == len(asked) and {q.post.id for q in r.questions} <= {x.id for x in asked}
    assert sum(c.total for c in r.sources) == r.total
    # upcoming: only "before", nothing after
    up = report(store, Policy.model_validate(GOOD | {"published": "2026-11-30"}), now=datetime(2026, 11, 25, tzinfo=TZ))
    assert up.upcoming and up.after.total == 0 and all(not d.after for d in up.days) and up.days[-1].day == "2026-11-24"
    store.close()

"""Schemes: validation, the table (all or nothing), YAML round trip, preview and its warning."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from processors.classify import Classifier
from schemes.model import Scheme, SchemeError
from schemes.preview import preview
from schemes.store import SchemeStore
from schemes.yamlio import dump_yaml, load_yaml
from tests.core.test_store_contract import _collected
from yuqing.events import PostClassified
from yuqing.store import open_store
from yuqing.timeutil import TZ

DEMO = Path(__file__).resolve().parents[2] / "yuqing" / "demo" / "wenzheng.jsonl"
GOOD = """
schemes:
  - name: 农民工欠薪
    team: 县人社局
    include: |
      (欠薪 讨薪 拖欠工资) +农民工

      /拖欠.{0,4}工资/ 与 工地
    exclude: 已解决，测试
    regions: [彭泽县]
  - name: 噪音扰民
    include: 噪音 噪声 +扰民
    topics: [环境污染和生态破坏]
    active: false
"""


def test_yaml_round_trip_and_words_split() -> None:
    schemes = load_yaml(GOOD)
    assert [s.name for s in schemes] == ["农民工欠薪", "噪音扰民"]
    assert schemes[0].exclude == ["已解决", "测试"]
    assert load_yaml(dump_yaml(schemes)) == schemes


@pytest.mark.parametrize(
    ("yaml_text", "says"),
    [
        ("- {name: a, include: '欠薪 (讨薪'}", "schemes.yaml[0] (a) include: line 1, column 4: '(' has no closing ')'"),
        ("- {name: a, include: '   '}", "include expression is empty"),
        ("- {name: a, include: '/(x+)+y/'}", "exponential time"),
        ("- {name: a, include: x, topics: [天气]}", "unknown topic(s) 天气"),
        ("- {name: a, include: x}\n- {name: a, include: y}", "schemes.yaml[1] (a) name: duplicate of schemes.yaml[0]"),
        ("- {name: a, include: x, colour: red}", "colour: Extra inputs are not permitted"),
        ("- {include: x}", "schemes.yaml[0] name: Field required"),
        ("schemes: [\n", "schemes.yaml line 2, column 1: not valid YAML"),
        ("name: a\n", "expected a list of schemes"),
    ],
)
def test_bad_yaml_names_what_and_where(yaml_text: str, says: str) -> None:
    with pytest.raises(SchemeError) as err:
        load_yaml(yaml_text)
    assert says in str(err.value)


def test_table_saves_all_or_nothing(tmp_path: Path) -> None:
    table = SchemeStore(f"sqlite:///{tmp_path}/ledger.db")
    assert table.save_all(load_yaml(GOOD), by="张三") == (2, 0)
    r1 = table.revision()
    with pytest.raises(SchemeError):
        table.save_all([{"name": "新方案", "include": "停水"}, {"name": "坏", "include": "a )"}])
    assert [s.name for s in table.list()] == ["农民工欠薪", "噪音扰民"]  # 新方案 was not saved
    assert table.revision() == r1
    changed = load_yaml(GOOD)[0].model_copy(update={"include": "欠薪"})
    assert table.save_all([changed]) == (0, 1)
    assert table.get("农民工欠薪") == changed
    assert [s.name for s in table.list(active_only=True)] == ["农民工欠薪"]
    table.save(Scheme(name="欠薪监测", include="欠薪"), rename_from="农民工欠薪")
    assert table.get("农民工欠薪") is None and table.get("欠薪监测") is not None
    assert table.delete("欠薪监测") and not table.delete("欠薪监测")
    assert table.revision() > r1
    table.close()


@pytest.fixture(scope="module")
def demo_posts() -> list[PostClassified]:
    rows = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines() if line.strip()]
    return Classifier().classify_many(_collected({"source": "demo"} | r) for r in rows)


def test_preview_counts_per_day_samples_and_the_broad_warning(tmp_path: Path, demo_posts: list[PostClassified]) -> None:
    store = open_store(f"sqlite:///{tmp_path}/store.db")
    store.write(demo_posts)
    newest = max(p.published_at for p in demo_posts)
    days = (newest - min(p.published_at for p in demo_posts)).days + 2
    at = newest + timedelta(hours=1)
    narrow = Scheme(name="噪音", include="噪音 噪声 扰民")
    p = preview(store, narrow, days=days, now=at, samples=3)
    expected = [x for x in demo_posts if any(t in x.tokens for t in ("噪音", "噪声", "扰民"))]
    assert 0 < p.total == sum(p.per_day.values()) and p.window_total == len(demo_posts)
    assert p.total >= len(expected) * 0.8
    assert len(p.samples) == 3 and p.samples == sorted(p.samples, key=lambda s: s.published_at, reverse=True)
    assert list(p.per_day) == sorted(p.per_day)
    assert p.samples[0].published_at.astimezone(TZ).strftime("%Y-%m-%d") == max(p.per_day)  # newest first
    assert p.warning is None

    everything = Scheme(name="全部", include="!xyzzy")
    broad = preview(store, everything, days=days, now=at)
    assert broad.total == len(demo_posts)
    assert broad.warning is not None and f"（{len(demo_posts)}/{len(demo_posts)}条）" in broad.warning

    excluded = Scheme(name="噪音2", include="噪音 噪声 扰民", exclude=["小区"])
    assert preview(store, excluded, days=days, now=at).total < p.total
    topic = Scheme(name="噪音3", include="噪音 噪声 扰民", topics=["环境污染和生态破坏", "其他"])
    by_topic = preview(store, topic, days=days, now=at)
    assert 0 < by_topic.total <= p.total
    assert preview(store, narrow, days=1, now=at - timedelta(days=days)).total == 0
    store.close()

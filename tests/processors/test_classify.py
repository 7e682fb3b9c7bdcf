"""The classifier on real posts: labels, risk reasons, events, region, keywords."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from processors.classify import Classifier
from processors.gazetteer import Gazetteer
from processors.keywords import keywords
from yuqing.errors import ConfigError
from yuqing.events import TOPICS, PostCollected, Source
from yuqing.text import tokenize
from yuqing.timeutil import now

ROOT = Path(__file__).resolve().parents[2]
SRC = Source(id="t", kind="replay", name="test")


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier()


def post(pid: str, title: str, content: str, minutes: int = 0, source: Source = SRC) -> PostCollected:
    return PostCollected(id=pid, title=title, content=content, published_at=now() + timedelta(minutes=minutes), source=source)


WAGE = (
    "彭泽县马当镇某工地拖欠农民工工资",
    "我们二十多名农民工在马当镇工业园区工地干了八个月，包工头一直拖欠工资二十多万元，多次讨薪无果，请政府帮我们讨回血汗钱。",
)


def test_wage_arrears_post(classifier: Classifier) -> None:
    c = classifier.classify(post("t:1", *WAGE))
    assert (c.topic, c.sentiment) == ("工资拖欠", "negative")
    assert c.region == "彭泽县/马垱镇"
    assert "大规模欠薪「二十多名农民工」 +40" in c.risk.reasons and c.risk.level == "重大"
    assert c.tokens == tokenize(WAGE[0]) + tokenize(WAGE[1])
    assert c.event_id.startswith("ev-")


def test_consultation_is_neutral_and_praise_is_positive(classifier: Classifier) -> None:
    q = classifier.classify(post("t:2", "咨询新生儿医保办理流程", "请问新生儿办理城乡居民医保需要带哪些材料？在哪里办理？"))
    assert (q.topic, q.sentiment) == ("教育医疗养老", "neutral")
    p = classifier.classify(post("t:3", "感谢龙城镇南岭社区工作人员", "社区工作人员上门为我家老人办理了养老认证，服务热情周到，特此致谢！"))
    assert p.sentiment == "positive"
    assert p.region == "彭泽县/龙城镇/南岭社区"


def test_every_topic_label_is_valid_on_real_posts(classifier: Classifier) -> None:
    rows = [json.loads(line) for line in (ROOT / "yuqing" / "demo" / "wenzheng.jsonl").read_text(encoding="utf-8").splitlines()][:80]
    out = [classifier.classify(post(f"d:{i}", r["title"], r["content"])) for i, r in enumerate(rows)]
    assert {c.topic for c in out} <= set(TOPICS)
    assert len({c.topic for c in out}) >= 4  # real variety, not a constant
    assert {c.sentiment for c in out} >= {"negative", "neutral"}


def test_risk_reasons_add_up_to_the_score(classifier: Classifier) -> None:
    c = classifier.classify(
        post("t:4", "化工厂爆炸致多人伤亡", "今天上午定山镇一化工厂发生爆炸，现场有人员伤亡，周边群众聚集，请尽快处置。")
    )
    points = sum(int(r.rsplit("+", 1)[1]) for r in c.risk.reasons if "+" in r)
    assert points == c.risk.score or any(r.startswith("封顶") for r in c.risk.reasons)
    assert c.risk.level in ("高", "重大")
    assert any("爆炸" in r for r in c.risk.reasons) and any("伤亡" in r for r in c.risk.reasons)


def test_near_duplicates_share_an_event_and_redelivery_counts_once() -> None:
    c = Classifier()
    a = c.classify(post("t:a", *WAGE))
    b = c.classify(post("t:b", WAGE[0] + "！", WAGE[1] + "希望尽快解决。", minutes=5, source=Source(id="u", kind="rss", name="u")))
    other = c.classify(post("t:c", "小区门口路灯不亮", "龙城镇城东社区门口的路灯坏了一个月，晚上出行很不方便。", minutes=6))
    assert a.event_id == b.event_id != other.event_id
    assert any("2 个来源同时出现" in r for r in b.risk.reasons)
    again = c.classify(post("t:b", WAGE[0] + "！", WAGE[1] + "希望尽快解决。", minutes=5, source=Source(id="u", kind="rss", name="u")))
    assert again.event_id == b.event_id and again.risk == b.risk


def test_events_outside_the_window_do_not_merge() -> None:
    c = Classifier()
    a = c.classify(post("t:a", *WAGE))
    late = c.classify(post("t:z", *WAGE, minutes=60 * 24 * 4))
    assert late.event_id != a.event_id


def test_warm_up_restores_events_after_restart() -> None:
    first = Classifier()
    a = first.classify(post("t:a", *WAGE))
    restarted = Classifier()
    assert restarted.warm_up([a]) == 1
    b = restarted.classify(post("t:b", WAGE[0], WAGE[1] + "还是没人管。", minutes=30))
    assert b.event_id == a.event_id


def test_gazetteer_most_specific_place_wins(tmp_path: Path) -> None:
    g = Gazetteer.load()
    assert g.locate("芙蓉墩镇长山村的河道被污染") == "彭泽县/芙蓉墩镇/长山村"
    assert g.locate("马当的码头") == "彭泽县/马垱镇"
    assert g.locate("北京市朝阳区") is None
    bad = tmp_path / "g.yaml"
    bad.write_text("彭泽县: 12\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"g\.yaml"):
        Gazetteer.load(bad)


def test_keywords_skip_function_words_and_codes() -> None:
    kws = keywords(tokenize("A3区某小区门口的垃圾站臭气熏天，垃圾站离居民楼太近，请问什么时候搬迁垃圾站？"), 5)
    assert kws[0] == "垃圾站"
    assert not {"请问", "什么", "a3"} & set(kws)
    assert keywords([], 5) == [] and keywords(["垃圾站"], 0) == []

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from alerts.model import Clear, Hit, PostRef
from alerts.rules.base import Rule
from alerts.rules.registry import BUNDLED_RULES, build_rules, load_rules
from tests.alerts.conftest import T0, make_post
from yuqing.errors import ConfigError
from yuqing.events import PostClassified


def one(rule_yaml: dict) -> Rule:
    return build_rules([rule_yaml], "<test>")[0]


def feed(rule: Rule, post: PostClassified) -> list[Hit | Clear]:
    return rule.observe(post, PostRef.of(post)) if rule.matches(post) else []


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "rules.yaml"
    p.write_text(text, encoding="utf-8")
    return p


# -- validation ---------------------------------------------------------------------------
def test_bundled_and_example_rules_load() -> None:
    assert len(load_rules(BUNDLED_RULES)) == 7
    example = Path(__file__).resolve().parents[2] / "config" / "rules.example.yaml"
    assert {r.type for r in load_rules(example)} == {"any", "frequency", "spike", "negative_ratio", "new_event", "flatline", "rebound"}


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ("rules:\n  - {name: a, type: frequency, window: 1h}\n", "rules[0].threshold", "Field required"),
        ("rules:\n  - {name: a, type: frequency, threshold: 0, window: 1h}\n", "rules[0].threshold", "greater than or equal to 1"),
        ("rules:\n  - {name: a, type: frequency, threshold: 2, window: soon}\n", "rules[0].window", "not a duration"),
        ("rules:\n  - {name: a, type: any, match: {keywords: '/(/'}}\n", "rules[0].match.keywords", "invalid regular expression"),
        ("rules:\n  - {name: a, type: any, match: {topic: 天气}}\n", "rules[0].match.topic[0]", "Input should be"),
        ("rules:\n  - {name: a, type: any, match: {risk_level: 极高}}\n", "rules[0].match.risk_level", "Input should be"),
        ("rules:\n  - {name: a, type: any, colour: red}\n", "rules[0].colour", "unknown field"),
        ("rules:\n  - {name: a, type: telepathy}\n", "rules[0].type", "unknown rule type 'telepathy'"),
        ("rules:\n  - {name: a, type: any}\n  - {name: a, type: any}\n", "rules[1].name", "duplicate rule name 'a'"),
        ("rules:\n  - {name: a, type: new_event, group_by: [topic]}\n", "rules[0].group_by", "per event"),
        ("rules:\n  - {name: a, type: flatline, window: 1h, group_by: [source, topic]}\n", "rules[0]", "exactly one key"),
        ("rules:\n  - {name: a, type: spike, window: 1h, baseline: 1d, ratio: 0.5}\n", "rules[0].ratio", "greater than 1"),
        ("rules:\n  - {name: a, type: rebound, group_by: [topic]}\n", "rules[0].group_by", "per event"),
        ("rules:\n  - {name: a, type: rebound, min_count: 0}\n", "rules[0].min_count", "greater than or equal to 1"),
        ("rules:\n  - {name: a, type: rebound, watch: later}\n", "rules[0].watch", "not a duration"),
    ],
)
def test_errors_name_file_and_field_path(tmp_path: Path, text: str, key: str, message: str) -> None:
    f = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as err:
        load_rules(f)
    assert err.value.file == str(f)
    assert err.value.key == key
    assert str(f) in str(err.value) and key in str(err.value)


def test_bad_yaml_and_shape(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"not valid YAML at line 3, column 1"):
        load_rules(write(tmp_path, "rules:\n  - [unclosed\n"))
    with pytest.raises(ConfigError, match="a rules file is a list"):
        load_rules(write(tmp_path, "name: x\n"))
    with pytest.raises(ConfigError, match="cannot read rules"):
        load_rules(tmp_path / "missing.yaml")


def test_disabled_rules_are_validated_but_not_run(tmp_path: Path) -> None:
    assert load_rules(write(tmp_path, "- {name: a, type: any, enabled: false}\n- {name: b, type: any}\n"))[0].name == "b"


def test_dotted_path_rule_type() -> None:
    assert one({"name": "x", "type": "alerts.rules.any:AnyRule"}).type == "any"


# -- rule types ---------------------------------------------------------------------------
def test_match_conditions() -> None:
    rule = one(
        {
            "name": "r",
            "type": "any",
            "match": {
                "keywords": "讨薪 欠薪",
                "topic": "工资拖欠",
                "sentiment": ["negative"],
                "risk_level": "中",
                "region": ["彭泽县"],
                "source": ["wenzheng"],
            },
        }
    )
    assert rule.matches(make_post(content="多次讨薪"))
    assert not rule.matches(make_post(content="多次要钱"))  # keywords
    assert not rule.matches(make_post(content="多次讨薪", topic="其他"))
    assert not rule.matches(make_post(content="多次讨薪", sentiment="neutral"))
    assert not rule.matches(make_post(content="多次讨薪", level="低", score=10))
    assert rule.matches(make_post(content="多次讨薪", level="重大", score=90))  # at least 中
    assert not rule.matches(make_post(content="多次讨薪", region="彭泽县城"))  # prefix is by path segment
    assert rule.matches(make_post(content="多次讨薪", region="彭泽县"))
    assert not rule.matches(make_post(content="多次讨薪", region=None))
    assert not rule.matches(make_post(content="多次讨薪", source="weibo"))


def test_any_fires_per_post_and_ignores_duplicates() -> None:
    rule = one({"name": "r", "type": "any", "match": {"keywords": "讨薪"}})
    p = make_post(content="讨薪")
    [hit] = feed(rule, p)
    assert isinstance(hit, Hit) and hit.group == (("event_id", "ev-1"),) and hit.metric == "命中关键词「讨薪」"
    assert feed(rule, p) == []  # redelivered


def test_frequency_counts_within_the_window_per_group() -> None:
    rule = one({"name": "r", "type": "frequency", "threshold": 3, "window": "1h"})
    assert feed(rule, make_post(at=T0)) == []
    assert feed(rule, make_post(at=T0 + timedelta(minutes=30), event_id="ev-2")) == []  # another event
    assert feed(rule, make_post(at=T0 + timedelta(minutes=50))) == []
    assert feed(rule, make_post(at=T0 + timedelta(minutes=70))) == []  # the first one left the window
    [hit] = feed(rule, make_post(at=T0 + timedelta(minutes=80)))
    assert isinstance(hit, Hit) and hit.count == 3 and len(hit.posts) == 3 and hit.metric == "1 小时内 3 条（阈值 3 条）"


def test_spike_compares_with_the_trailing_baseline() -> None:
    rule = one({"name": "r", "type": "spike", "window": "1h", "baseline": "10h", "ratio": 3, "min_count": 3, "min_baseline": 2})
    # baseline: 5 posts over the previous 10 h = 0.5/h; 3 in the last hour = 3/h = 6x
    for h in range(1, 6):
        assert feed(rule, make_post(at=T0 - timedelta(hours=2 * h), event_id=f"b{h}")) == []
    assert feed(rule, make_post(at=T0 + timedelta(minutes=10))) == []
    assert feed(rule, make_post(at=T0 + timedelta(minutes=20))) == []
    [hit] = feed(rule, make_post(at=T0 + timedelta(minutes=30)))
    assert isinstance(hit, Hit) and hit.group == (("topic", "工资拖欠"),)
    assert hit.metric == "1 小时内 3 条，是此前 10 小时 平均水平的 6.0 倍（阈值 3 倍）"


def test_spike_needs_the_ratio_and_min_baseline() -> None:
    def run(**extra: object) -> list[int]:
        rule = one({"name": "r", "type": "spike", "window": "1h", "baseline": "2h", "ratio": 3, "min_count": 2, **extra})
        return [len(feed(rule, make_post(at=T0 + timedelta(minutes=30 * i), event_id=f"e{i}"))) for i in range(6)]

    # A steady 2 posts an hour: only the cold start (empty or thin baseline) looks like a spike.
    assert run() == [0, 1, 1, 0, 0, 0]
    assert run(min_baseline=3) == [0, 0, 0, 0, 0, 0]


def test_negative_ratio_counts_every_sentiment() -> None:
    # match.sentiment is ignored: the share needs the neutral posts too.
    rule = one(
        {"name": "r", "type": "negative_ratio", "window": "1h", "min_ratio": 0.75, "min_count": 4, "match": {"sentiment": "negative"}}
    )
    outs = [feed(rule, make_post(at=T0 + timedelta(minutes=i), sentiment="neutral" if i == 0 else "negative")) for i in range(4)]
    assert outs[:3] == [[], [], []]
    [hit] = outs[3]
    assert isinstance(hit, Hit) and hit.metric == "1 小时内 4 条中负面 3 条（75%，阈值 75%）" and len(hit.posts) == 3
    assert feed(rule, make_post(at=T0 + timedelta(minutes=5), sentiment="neutral")) == []  # 3/5 = 60 %


def test_new_event_fires_once_per_event_at_or_above_level() -> None:
    rule = one({"name": "r", "type": "new_event", "risk_level": "高"})
    assert feed(rule, make_post(level="中", score=40)) == []
    [hit] = feed(rule, make_post(level="高", score=60))
    assert isinstance(hit, Hit) and hit.metric == "新事件，风险等级高（60 分，阈值高）"
    assert feed(rule, make_post(level="重大", score=90)) == []  # same event
    assert len(feed(rule, make_post(level="重大", score=90, event_id="ev-2"))) == 1


def test_flatline_fires_on_silence_and_clears_when_posts_return() -> None:
    rule = one({"name": "r", "type": "flatline", "window": "2h", "keys": ["wenzheng", "hotline"]})
    assert rule.tick(T0) == []  # starts watching both
    feed(rule, make_post(at=T0, source="wenzheng"))
    assert rule.tick(T0 + timedelta(hours=1)) == []  # watched for less than the window
    outs = rule.tick(T0 + timedelta(hours=2, minutes=1))
    assert sorted(o.group for o in outs) == [(("source", "hotline"),), (("source", "wenzheng"),)]
    assert all(isinstance(o, Hit) for o in outs)
    assert rule.tick(T0 + timedelta(hours=3)) == []  # already alerting
    feed(rule, make_post(at=T0 + timedelta(hours=3), source="wenzheng"))
    [clear] = rule.tick(T0 + timedelta(hours=3, minutes=1))
    assert isinstance(clear, Clear) and clear.group == (("source", "wenzheng"),)
    assert feed(rule, make_post(source="weibo")) == []  # not watched


def test_window_state_round_trips() -> None:
    rule = one({"name": "r", "type": "frequency", "threshold": 2, "window": "1h"})
    feed(rule, make_post(at=T0, post_id="a:1"))
    state = {k: v for k, v in rule.dump().items() if v is not None}
    again = one({"name": "r", "type": "frequency", "threshold": 2, "window": "1h"})
    again.load(state)
    assert feed(again, make_post(at=T0, post_id="a:1")) == []  # still known
    assert len(feed(again, make_post(at=T0 + timedelta(minutes=5), post_id="a:2"))) == 1

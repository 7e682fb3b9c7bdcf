"""``policy_negative_rise`` on a synthetic stream, with its policy read from a real database."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from alerts.model import Hit, PostRef
from alerts.rules.base import Rule
from alerts.rules.registry import build_rules
from schemes.policies import PolicyStore
from tests.alerts.conftest import T0, clock, harness, make_post  # noqa: F401  (fixtures)
from yuqing.errors import ConfigError
from yuqing.events import PostClassified

TITLE = "九江市住房公积金缴存管理办法"


def feed(rule: Rule, post: PostClassified) -> list:
    return rule.observe(post, PostRef.of(post)) if rule.matches(post) else []


@pytest.fixture
def rule(tmp_path: Path) -> Rule:
    url = f"sqlite:///{tmp_path}/ledger.db"
    table = PolicyStore(url)
    table.save(
        {
            "title": TITLE,
            "doc_number": "九金管委〔2026〕1号",
            "issuer": "九江市住房公积金管理委员会",
            "published": "2026-03-02",
            "keywords": "公积金",
        }
    )
    table.save({"title": "停用的政策", "issuer": "县政府", "published": "2026-03-02", "keywords": "公积金", "active": False})
    table.close()
    [r] = build_rules(
        [
            {
                "name": "政策负面上升",
                "type": "policy_negative_rise",
                "before": "7d",
                "after": "3d",
                "min_before": 3,
                "min_after": 4,
                "min_rise": 0.3,
            }
        ],
        "<test>",
    )
    r.use_database(url)  # type: ignore[attr-defined]
    return r


def post(hours: float, sentiment: str, title: str = "公积金提取咨询", content: str = "想问一下公积金怎么提取？") -> PostClassified:
    # T0 is 2026-03-02 10:00 in Shanghai: publication (local midnight) is 10 hours earlier.
    return make_post(title=title, content=content, at=T0 - timedelta(hours=10) + timedelta(hours=hours), sentiment=sentiment)


def test_fires_when_the_negative_share_rises_after_publication(rule: Rule) -> None:
    assert [p.title for p in rule.policies] == [TITLE]  # type: ignore[attr-defined]
    assert feed(rule, post(-24 * 8, "negative")) == []  # before the "before" span: not counted
    for h, s in ((-48, "negative"), (-30, "neutral"), (-20, "neutral"), (-5, "positive")):  # 1 of 4 negative before (25 %)
        assert feed(rule, post(h, s)) == []
    assert feed(rule, post(-4, "negative", title="小区停车难", content="车位不够")) == []  # not about the policy
    after = [post(1, "negative"), post(2, "neutral"), post(3, "negative")]
    assert [feed(rule, p) for p in after] == [[], [], []]  # only 3 after: below min_after
    last = post(0, "negative")  # at midnight exactly: "after"
    [hit] = feed(rule, last)
    assert isinstance(hit, Hit)
    assert hit.rule == "政策负面上升"
    assert hit.group == (("policy", TITLE),)
    assert hit.metric == "发布后3 天内 4 条中负面 3 条（75%），发布前7 天内 4 条中负面 1 条（25%），上升 50 个百分点（阈值 30）"
    assert hit.count == 3
    assert [p.id for p in hit.posts] == [last.id, after[0].id, after[2].id]
    assert hit.extra_reasons == ("政策：九江市住房公积金缴存管理办法（九金管委〔2026〕1号），2026-03-02 发布",)
    assert feed(rule, post(24 * 3 + 1, "negative")) == []  # after the "after" span: not counted


def test_no_alert_when_the_share_does_not_rise_enough(rule: Rule) -> None:
    for h, s in ((-48, "negative"), (-30, "negative"), (-20, "neutral"), (-5, "neutral")):  # 50 % before
        feed(rule, post(h, s))
    outs = [feed(rule, post(h, s)) for h, s in ((1, "negative"), (2, "negative"), (3, "neutral"), (4, "positive"))]  # 50 % after
    assert outs == [[], [], [], []]


def test_rejects_bad_settings() -> None:
    with pytest.raises(ConfigError, match="min_rise"):
        build_rules([{"name": "r", "type": "policy_negative_rise", "min_rise": 20}], "<test>")


RULES = """
rules:
  - name: 政策负面上升
    type: policy_negative_rise
    before: 7d
    after: 3d
    min_before: 3
    min_after: 3
    min_rise: 0.3
"""


def test_on_the_real_engine_one_alert_per_policy_labelled_with_it(tmp_path: Path, harness: Any) -> None:  # noqa: F811
    from alerts.events import AlertFired

    table = PolicyStore(f"sqlite:///{tmp_path}/alerts.db")  # the harness's database
    table.save({"title": TITLE, "issuer": "九江市住房公积金管理委员会", "published": "2026-03-02", "keywords": "公积金"})
    table.close()
    h = harness(RULES)
    for hours, s in (
        (-50, "neutral"),
        (-40, "neutral"),
        (-30, "negative"),
        (1, "negative"),
        (2, "negative"),
        (3, "negative"),
        (4, "negative"),
    ):
        p = post(hours, s)
        h.at(p.published_at)
        h.feed(p)
    h.later(seconds=1)
    [alert] = h.alerts()
    h.svc.engine.publish_events()
    [fired] = [e for e in h.bus_events() if isinstance(e, AlertFired)]
    # fired at the third post after publication (3 of 3 negative against 1 of 3); the fourth joins it
    assert (fired.rule, fired.rule_type, fired.post_count) == ("政策负面上升", "policy_negative_rise", 3)
    assert (alert.post_count, alert.negative_count) == (4, 4)
    assert fired.labels == {"policy": TITLE, "topic": "工资拖欠", "region": "彭泽县/龙城镇", "source": "wenzheng"}
    assert len(h.deliveries()) == 1

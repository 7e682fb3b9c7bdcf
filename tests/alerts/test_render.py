"""What a notification says: the content every channel gets."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from alerts.render import Renderer
from tests.alerts.conftest import T0, Harness, make_post
from yuqing.errors import ConfigError

H = Callable[..., Harness]
RULES = """
rules:
  - name: 欠薪集中
    type: frequency
    description: 同一事件一小时内多次反映
    match: {topic: 工资拖欠, keywords: 讨薪 欠薪 拖欠}
    threshold: 4
    window: 1h
    group_wait: 0s
    unit: 县人社局
"""


def test_content_of_a_notification(harness: H) -> None:
    h = harness(RULES, web_base_url="https://yq.pengze.example/")
    titles = ["甲公司拖欠工资", "乙工地欠薪", "丙项目讨薪", "丁公司拖欠工钱"]
    scores = [40, 66, 52, 30]
    for i, (t, s) in enumerate(zip(titles, scores, strict=True)):
        h.at(T0 + timedelta(minutes=10 * i))
        level = "高" if s >= 50 else "中"
        h.feed(make_post(title=t, at=h.clock.now, score=s, level=level, post_id=f"wz:{i}", reasons=[f"原因{i}"]))
    [d] = h.deliveries()
    n = d.notification
    alert = h.alerts()[0]
    assert n["title"] == "【高】欠薪集中：乙工地欠薪等 4 条"
    assert n["url"] == f"https://yq.pengze.example/alerts/{alert.id}"
    assert n["key"] == f"{alert.id}:1" and n["severity"] == "高"
    assert n["text"] == (
        "【高】欠薪集中：乙工地欠薪等 4 条\n\n"
        "规则：欠薪集中（同一事件一小时内多次反映）\n"
        "条件：1 小时内 4 条（阈值 4 条）\n"
        "主题：工资拖欠　地区：彭泽县/龙城镇　责任单位：县人社局\n"
        "风险等级：高\n"
        "风险依据：原因1；原因2；原因0\n"
        "帖子：共 4 条（负面 4 条），首次 2026-03-02 10:00，最近 2026-03-02 10:30\n"
        "重点帖子：\n"
        "1. 乙工地欠薪（风险高 66 分，2026-03-02 10:10） https://wz.example.cn/post/1\n"
        "2. 丙项目讨薪（风险高 52 分，2026-03-02 10:20） https://wz.example.cn/post/2\n"
        "3. 甲公司拖欠工资（风险中 40 分，2026-03-02 10:00） https://wz.example.cn/post/0\n"
        f"详情：https://yq.pengze.example/alerts/{alert.id}\n"
        f"预警编号：{alert.id}\n"
    )
    md = n["markdown"]
    assert "1. [乙工地欠薪](https://wz.example.cn/post/1)（风险高 66 分，2026-03-02 10:10）" in md
    assert f"[查看预警详情](https://yq.pengze.example/alerts/{alert.id})" in md
    assert '<a href="https://wz.example.cn/post/1">乙工地欠薪</a>' in n["html"]
    assert f'<a href="https://yq.pengze.example/alerts/{alert.id}">查看预警详情</a>' in n["html"]
    data = n["data"]
    assert (data["rule"], data["post_count"], data["first_seen"], data["last_seen"]) == (
        "欠薪集中",
        4,
        "2026-03-02T10:00:00+08:00",
        "2026-03-02T10:30:00+08:00",
    )
    assert [p["id"] for p in data["posts"]] == ["wz:1", "wz:2", "wz:0"]
    assert (data["url"], data["event_url"]) == (f"https://yq.pengze.example/alerts/{alert.id}", "https://yq.pengze.example/events/ev-1")


def test_html_is_escaped_and_templates_can_be_overridden(harness: H, tmp_path: Path) -> None:
    tpl = tmp_path / "tpl"
    tpl.mkdir()
    (tpl / "title.txt.j2").write_text("[{{ alert.severity }}] {{ headline }}", encoding="utf-8")
    h = harness(RULES.replace("threshold: 4", "threshold: 1"), templates=str(tpl))
    h.at(T0)
    h.feed(make_post(title="<script>alert(1)</script>欠薪", at=T0))
    n = h.deliveries()[0].notification
    assert n["title"] == "[中] <script>alert(1)</script>欠薪"  # plain text stays as is
    assert "&lt;script&gt;alert(1)&lt;/script&gt;欠薪" in n["html"] and "<script>" not in n["html"]


def test_broken_template_fails_at_start_up(tmp_path: Path) -> None:
    (tmp_path / "text.txt.j2").write_text("{{ alert.nosuchfield }}", encoding="utf-8")
    with pytest.raises(ConfigError, match="alert template error") as err:
        Renderer("http://x", templates=str(tmp_path)).check()
    assert err.value.key == "alerts.templates"

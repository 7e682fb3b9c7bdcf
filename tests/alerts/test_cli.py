from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from alerts.events import AlertAcknowledged, AlertResolved
from app.cli import main
from tests.alerts.conftest import T0, Harness, make_post
from yuqing.store.sqlite import SqliteStore
from yuqing.timeutil import now

RULES = """
rules:
  - name: 欠薪集中
    type: frequency
    match: {topic: 工资拖欠, keywords: 讨薪 欠薪}
    threshold: 3
    window: 1h
    group_wait: 1m
    repeat_interval: 2h
  - name: 安全事故
    type: any
    match: {topic: 安全生产}
"""


def test_rules_check_reports_what_would_have_fired(tmp_path: Path) -> None:
    store = SqliteStore("sqlite:///yuqing-data/store.db")
    start = now().replace(microsecond=0) - timedelta(hours=5)
    posts = [make_post(content="讨薪", at=start + timedelta(minutes=10 * i), event_id="ev-w", post_id=f"w:{i}") for i in range(4)]
    # two more later: below the threshold within their hour, so they neither fire nor join the alert
    posts += [make_post(content="讨薪", at=start + timedelta(hours=3, minutes=10 * i), event_id="ev-w", post_id=f"x:{i}") for i in range(2)]
    posts += [make_post(content="无关", at=start, event_id="ev-o", post_id="o:1")]  # no keyword
    store.write(posts)
    store.close()
    Path("rules.yaml").write_text(RULES, encoding="utf-8")
    result = CliRunner().invoke(main, ["rules", "check", "rules.yaml", "--since", "24h"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "规则文件 rules.yaml：2 条规则有效"
    assert "发布的 7 条帖子" in lines[1]
    assert lines[2] == "将触发 1 条预警，发出 2 次通知："
    assert lines[3].startswith("  [中] 欠薪集中（event_id=ev-w，topic=工资拖欠，region=彭泽县/龙城镇，source=wenzheng）") and lines[
        3
    ].endswith("共 4 条")
    assert lines[4] == "       条件：1 小时内 4 条（阈值 3 条）"  # as of its latest hit
    # first: the third post (20 min) + the 1-minute group wait; repeat: 2 h later, as a fourth post came meanwhile
    t1, t2 = start + timedelta(minutes=21), start + timedelta(hours=2, minutes=21)
    assert lines[5] == f"       通知：{t1:%m-%d %H:%M}首次、{t2:%m-%d %H:%M}重复 → inbox"
    assert lines[6:] == ["按规则汇总：欠薪集中 1 条", "未触发：安全事故"]
    result = CliRunner().invoke(main, ["rules", "check", "rules.yaml", "--since", "24h", "--json"])
    assert result.exit_code == 0, result.output
    [row] = [json.loads(line) for line in result.output.splitlines()]
    assert [(n["kind"], n["at"]) for n in row["notifications"]] == [("first", t1.isoformat()), ("repeat", t2.isoformat())]


def test_rules_check_names_file_and_field_of_an_error(tmp_path: Path) -> None:
    Path("bad.yaml").write_text(
        "rules:\n  - {name: a, type: frequency, threshold: 2, window: 1h, match: {keywords: '+'}}\n", encoding="utf-8"
    )
    result = CliRunner().invoke(main, ["rules", "check", "bad.yaml"])
    assert result.exit_code == 2
    assert "keyword syntax: group 1, term 1" in result.output and "file bad.yaml, key rules[0].match.keywords" in result.output


def test_alerts_list_show_ack_resolve_silence(tmp_path: Path, harness: Callable[..., Harness]) -> None:
    h = harness("rules:\n  - {name: 新事件, type: new_event, risk_level: 中, group_wait: 0s}\n")
    Path("yuqing.yaml").write_text(f"bus: {{url: '{h.bus.url}'}}\ndatabase: {{url: '{h.settings.database.url}'}}\n", encoding="utf-8")
    h.at(T0)
    h.feed(make_post(at=T0, title="某工地拖欠工资"))
    [a] = h.alerts()
    cli = CliRunner()
    out = cli.invoke(main, ["alerts", "list"])
    assert out.exit_code == 0 and a.id in out.output and "告警中 [中] 新事件：某工地拖欠工资（1 条）" in out.output
    out = cli.invoke(main, ["alerts", "show", a.id[:7]])
    assert out.exit_code == 0 and f"通知 {a.id}:1 → inbox：sent，尝试 1 次（首次）" in out.output
    assert f"      {T0:%m-%d %H:%M} 第 1 次 成功：stored" in out.output  # the attempt's time, Shanghai time
    out = cli.invoke(main, ["alerts", "ack", a.id, "--by", "张三", "--note", "已转人社局"])
    assert out.exit_code == 0 and out.output.strip() == f"已确认 {a.id}（新事件），确认人 张三"
    out = cli.invoke(main, ["alerts", "ack", a.id, "--by", "张三"])
    assert out.exit_code == 2 and "only a firing alert can be acknowledged" in out.output
    out = cli.invoke(main, ["alerts", "resolve", a.id, "--by", "李四"])
    assert out.exit_code == 0
    events = h.bus_events()
    assert [type(e) for e in events[-2:]] == [AlertAcknowledged, AlertResolved]
    assert (events[-2].by, events[-2].note, events[-1].by) == ("张三", "已转人社局", "李四")  # type: ignore[union-attr]
    out = cli.invoke(main, ["alerts", "silence", "add", "-m", "topic=工资拖欠", "-m", "region=/^彭泽县/", "--for", "2h", "--by", "王五"])
    assert out.exit_code == 0 and out.output.startswith("已静默 si-")
    assert "工资拖欠" in cli.invoke(main, ["alerts", "silence", "list"]).output
    out = cli.invoke(main, ["alerts", "inbox"])
    assert out.exit_code == 0 and "[inbox] 【中】新事件：某工地拖欠工资" in out.output

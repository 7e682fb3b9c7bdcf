"""Health, flatline detection and the metrics exposition."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import yaml
from click.testing import CliRunner

from app.cli import main
from collectors.config import SourceConfig
from collectors.health import assess, threshold_hours, typical_daily
from collectors.metrics import render, render_statuses
from collectors.state import Health
from tests.collectors.conftest import rss
from yuqing.timeutil import TZ

REF = datetime(2026, 11, 20, 15, 0, tzinfo=TZ)
SRC = SourceConfig(id="wz", kind="rss", url="http://x/rss.xml", interval=600)


def health(**kw: object) -> Health:
    base: dict[str, object] = dict(
        source="wz",
        last_run=REF,
        last_success=REF,
        last_error=None,
        last_error_at=None,
        items_total=100,
        last_items=0,
        items_today=0,
        first_run=REF - timedelta(days=20),
        last_new_at=REF - timedelta(hours=31),
    )
    return Health(**{**base, **kw})  # type: ignore[arg-type]


def days(n: int, per_day: int) -> dict[str, int]:
    return {(REF - timedelta(days=i)).strftime("%Y-%m-%d"): per_day for i in range(1, n + 1)}


def test_typical_volume_needs_three_days_and_ignores_today() -> None:
    assert typical_daily(days(2, 10), "2026-11-20") is None
    assert typical_daily({**days(3, 10), "2026-11-20": 500}, "2026-11-20") == 10
    assert typical_daily(days(30, 4), "2026-11-20") == 4  # the last 14 days


def test_threshold_from_volume_interval_and_floor() -> None:
    assert threshold_hours(SRC, 4.0) == 30.0  # 5 x 24 / 4
    assert threshold_hours(SRC, 100.0) == 12.0  # floor for quiet nights
    assert threshold_hours(SourceConfig(id="s", kind="rss", url="u", interval=86400), 100.0) == 72.0  # 3 x a daily interval
    assert threshold_hours(SRC, None) is None
    assert threshold_hours(SourceConfig(id="s", kind="rss", url="u", flatline_hours=6), None) == 6


def test_flatline_when_silent_longer_than_usual() -> None:
    assert assess(SRC, health(), days(14, 4), REF).status == "flatline"  # 31 h silent, threshold 5 x 24 / 4 = 30 h
    assert assess(SRC, health(last_new_at=REF - timedelta(hours=29)), days(14, 4), REF).status == "ok"
    assert assess(SRC, health(), days(14, 2), REF).status == "ok"  # 2 a day: 31 h is normal (threshold 60 h)
    assert assess(SRC, health(), days(2, 40), REF).status == "ok"  # not enough history to judge
    assert assess(SRC, health(), days(2, 40), REF, override_hours=24).status == "flatline"


def test_status_precedence() -> None:
    assert assess(SRC, None, {}, REF).status == "never"
    assert assess(SRC.model_copy(update={"enabled": False}), health(), {}, REF).status == "disabled"
    assert assess(SRC, health(failures=2, last_error="boom", last_error_at=REF), days(14, 4), REF).status == "error"
    assert assess(SRC, health(spooled=5), days(14, 4), REF).status == "spooling"


def test_metrics_exposition_is_exact() -> None:
    s = assess(SRC, health(items_today=3, last_problems=1), days(14, 4), REF)
    text = render_statuses([s])
    ts = REF.timestamp()
    for line in [
        "# TYPE yuqing_source_up gauge",
        'yuqing_source_up{source="wz",kind="rss"} 1',
        'yuqing_source_flatline{source="wz",kind="rss"} 1',
        f'yuqing_source_last_success_timestamp_seconds{{source="wz",kind="rss"}} {int(ts)}',
        "# TYPE yuqing_source_posts_total counter",
        'yuqing_source_posts_total{source="wz",kind="rss"} 100',
        'yuqing_source_posts_today{source="wz",kind="rss"} 3',
        'yuqing_source_typical_daily_posts{source="wz",kind="rss"} 4',
        'yuqing_source_silence_seconds{source="wz",kind="rss"} 111600',
        'yuqing_source_flatline_threshold_seconds{source="wz",kind="rss"} 108000',
        'yuqing_source_last_run_problems{source="wz",kind="rss"} 1',
    ]:
        assert line in text.splitlines(), line
    assert "yuqing_source_last_error_timestamp_seconds{" not in text  # no error: no sample
    assert text.endswith("\n")


def test_sources_command_json_metrics_and_table(tmp_path, site, posts) -> None:
    site.add_static("/f.xml", rss(posts[:3]), "text/xml")
    conf = {
        "state_url": f"sqlite:///{tmp_path}/state.db",
        "bus": {"url": f"sqlite:///{tmp_path}/bus.db"},
        "sources": [
            {"id": "wz", "kind": "rss", "name": "问政", "url": site.url + "/f.xml"},
            {"id": "off", "kind": "rss", "url": "http://x", "enabled": False},
        ],
    }
    cfgfile = tmp_path / "y.yaml"
    cfgfile.write_text(yaml.safe_dump(conf, allow_unicode=True), encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(main, ["-c", str(cfgfile), "collect", "--once"]).exit_code == 0
    out = runner.invoke(main, ["-c", str(cfgfile), "sources", "--json"])
    wz, off = map(json.loads, out.output.splitlines())
    assert (wz["status"], wz["items_today"], wz["items_total"], wz["failures"], wz["flatline_hours"]) == ("ok", 3, 3, 0, None)
    assert off["status_zh"] == "已停用"
    metrics = runner.invoke(main, ["-c", str(cfgfile), "sources", "--metrics"]).output
    assert 'yuqing_source_posts_total{source="wz",kind="rss"} 3' in metrics.splitlines()
    from app.settings import load_settings

    assert render(load_settings(cfgfile)) == metrics
    table = runner.invoke(main, ["-c", str(cfgfile), "sources"]).output.splitlines()
    assert table[0].startswith("来源") and table[1].startswith("wz ")
    assert table[1].endswith("正常（静默判断：数据不足）") and table[2].endswith("已停用")

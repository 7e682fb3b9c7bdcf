"""``yuqing collect --dry-run``: JSONL of what would be published, touching no state."""

from __future__ import annotations

import json
import os

import yaml
from click.testing import CliRunner

from app.cli import main
from tests.collectors.conftest import rss


def settings(tmp_path, site) -> str:
    conf = {
        "state_url": f"sqlite:///{tmp_path}/data/state.db",
        "bus": {"url": f"sqlite:///{tmp_path}/data/bus.db"},
        "sources": [{"id": "wz", "kind": "rss", "url": site.url + "/f.xml", "retries": 0}],
    }
    path = tmp_path / "y.yaml"
    path.write_text(yaml.safe_dump(conf), encoding="utf-8")
    return str(path)


def test_dry_run_configured_source_prints_jsonl_and_touches_no_state(tmp_path, site, posts) -> None:
    site.add_static("/f.xml", rss(posts[:3]), "text/xml")
    result = CliRunner().invoke(main, ["-c", settings(tmp_path, site), "collect", "--dry-run", "wz"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == [f"wz:{p['id']}" for p in posts[:3]]
    assert all(r["type"] == "post.collected" for r in rows)
    assert result.stderr.strip() == "wz: 将发布 3 条（获取 3，重复 0，问题 0）"
    assert not os.path.exists(tmp_path / "data")  # no state, no bus


def test_dry_run_twice_prints_the_same(tmp_path, site, posts) -> None:
    site.add_static("/f.xml", rss(posts[:2]), "text/xml")
    conf = settings(tmp_path, site)
    a = CliRunner().invoke(main, ["-c", conf, "collect", "--dry-run", "wz"]).stdout
    b = CliRunner().invoke(main, ["-c", conf, "collect", "--dry-run", "wz"]).stdout
    strip = [{k: v for k, v in json.loads(x).items() if k != "collected_at"} for x in (a + b).splitlines()]
    assert strip[:2] == strip[2:]


def test_dry_run_ad_hoc_url_with_options(tmp_path, site, posts) -> None:
    site.add_static("/f.xml", rss(posts[:2], encoding="gbk", declared="gb2312"), "text/xml")
    result = CliRunner().invoke(
        main, ["collect", "--dry-run", "--kind", "rss", site.url + "/f.xml", "-o", "retries=0", "-o", "max_chars=100"]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["title"] for r in rows] == [p["title"] for p in posts[:2]]
    assert all(len(r["content"]) <= 100 for r in rows)


def test_dry_run_failure_exits_non_zero_with_the_reason(tmp_path, site) -> None:
    result = CliRunner().invoke(main, ["-c", settings(tmp_path, site), "collect", "--dry-run", "wz"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip() == f"wz: 将发布 0 条（获取 0，重复 0，问题 0），错误：source wz: GET {site.url}/f.xml answered HTTP 404"


def test_ad_hoc_source_is_validated() -> None:
    result = CliRunner().invoke(main, ["collect", "--dry-run", "--kind", "liuyan", "http://x"])
    assert result.exit_code == 2
    assert "config error: Field required (source adhoc, kind liuyan) (file <command line>, key sources.0.fid)" in result.stderr

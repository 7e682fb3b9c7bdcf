"""De-duplication, the spool when the bus is down, and one failing source among others."""

from __future__ import annotations

import json
import time
from pathlib import Path

import yaml
from click.testing import CliRunner

from app.cli import main
from collectors.config import SourceConfig
from tests.collectors.conftest import collect, published, rss
from yuqing.bus.sqlite import SqliteBus


def test_same_text_under_two_links_is_one_post(site, posts, bus, state) -> None:
    body = rss([posts[0], posts[1]]).replace(posts[1]["title"].encode(), posts[0]["title"].encode())
    body = body.replace(posts[1]["content"].encode(), posts[0]["content"].encode())
    site.add_static("/f.xml", body, "text/xml")
    report = collect(SourceConfig(id="f", kind="rss", url=site.url + "/f.xml", retries=0), bus, state)
    assert (report.fetched, report.published, report.duplicates) == (2, 1, 1)
    # Later, the same text again under a third link, with spacing and full-width changes.
    again = rss([{**posts[0], "id": "x:1", "content": " ".join(posts[0]["content"])}]).replace(b"thread/1", b"thread/2")
    site.add_static("/f.xml", again, "text/xml")
    second = collect(SourceConfig(id="f", kind="rss", url=site.url + "/f.xml", retries=0), bus, state)
    assert (second.published, second.duplicates) == (0, 1)


def test_identical_work_orders_are_two_filings(tmp_path, posts, bus, state) -> None:
    f = tmp_path / "a.csv"
    f.write_text(f"工单编号,标题,诉求内容\nA1,噪音,{posts[0]['content']}\nA2,噪音,{posts[0]['content']}\n", encoding="utf-8")
    report = collect(SourceConfig(id="h", kind="hotline", path=str(f)), bus, state)
    assert (report.published, report.duplicates) == (2, 0)


def test_bus_down_spools_and_next_run_publishes_first(tmp_path, site, posts, state) -> None:
    url = f"sqlite:///{tmp_path}/bus.db"
    cfg = SourceConfig(id="f", kind="rss", url=site.url + "/f.xml", retries=0)
    site.add_static("/f.xml", rss(posts[:3]), "text/xml")
    down = SqliteBus(url)
    down.close()  # the bus is unreachable: every publish raises BusError
    report = collect(cfg, down, state)
    assert (report.published, report.spooled) == (0, 3)
    assert report.error is not None and report.error.startswith("source f: bus unavailable, 3 post(s) spooled for the next run: ")
    assert state.spool_counts() == {"f": 3}
    (h,) = state.health()
    assert (h.spooled, h.failures, h.items_total) == (3, 0, 3)
    # The feed moves on while the bus is down; the spooled posts are not lost.
    site.add_static("/f.xml", rss(posts[3:5]), "text/xml")
    bus = SqliteBus(url)
    try:
        second = collect(cfg, bus, state)
        assert (second.unspooled, second.published, second.error) == (3, 2, None)
        assert sorted(m["id"] for m in published(bus)) == sorted(f"f:{p['id']}" for p in posts[:5])
        assert state.spool_counts() == {}
        third = collect(cfg, bus, state)
        assert (third.unspooled, third.published) == (0, 0)
    finally:
        bus.close()


def test_one_failing_source_never_stops_the_others(tmp_path, site, posts) -> None:
    site.add_static("/good.xml", rss(posts[:2]), "text/xml")
    settings = {
        "bus": {"url": f"sqlite:///{tmp_path}/bus.db"},
        "store": {"url": f"sqlite:///{tmp_path}/store.db"},
        "state_url": f"sqlite:///{tmp_path}/state.db",
        "sources": [
            {"id": "down", "kind": "rss", "url": "http://127.0.0.1:9/rss.xml", "retries": 0, "timeout": 2},
            {"id": "missing", "kind": "hotline", "path": str(tmp_path / "nowhere.csv")},
            {"id": "good", "kind": "rss", "url": site.url + "/good.xml"},
        ],
    }
    (tmp_path / "y.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(main, ["-c", str(tmp_path / "y.yaml"), "collect", "--once"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith(("down:", "missing:", "good:"))]
    assert lines[0].startswith(
        "down: 获取 0，发布 0，回复更新 0，重复 0，错误：source down: GET http://127.0.0.1:9/rss.xml failed: ConnectError"
    )
    assert lines[1] == f"missing: 获取 0，发布 0，回复更新 0，重复 0，错误：source missing: {tmp_path / 'nowhere.csv'} does not exist"
    assert lines[2] == "good: 获取 2，发布 2，回复更新 0，重复 0"
    status = CliRunner().invoke(main, ["-c", str(tmp_path / "y.yaml"), "sources", "--json"])
    rows = {r["id"]: r for r in map(json.loads, status.output.splitlines())}
    assert (rows["down"]["status"], rows["missing"]["status"], rows["good"]["status"]) == ("error", "error", "ok")
    assert rows["good"]["items_total"] == 2 and rows["down"]["failures"] == 1


def test_replay_rate_and_loop(tmp_path: Path, posts, bus, state) -> None:
    f = tmp_path / "r.jsonl"
    f.write_text("\n".join(json.dumps(p, ensure_ascii=False) for p in posts[:3]) + "\n", encoding="utf-8")
    cfg = SourceConfig(id="r", kind="replay", path=str(f), batch=2, loop=True)
    runs = [collect(cfg, bus, state) for _ in range(3)]
    assert [r.published for r in runs] == [2, 2, 2]
    ids = sorted(m["id"] for m in published(bus))
    first, second = [f"r:{p['id']}" for p in posts[:3]], [f"r:{p['id']}#2" for p in posts[:3]]
    assert ids == sorted(first + second)
    # rate: rate x the seconds since the last fetch (2.5 s at 1 post/s: 2 posts), at most batch
    paced = SourceConfig(id="p", kind="replay", path=str(f), rate=1.0)
    state.commit_run("p", {"line": 0, "round": 1, "at": time.time() - 2.5}, [])
    assert collect(paced, bus, state).published == 2
    assert collect(paced, bus, state).published == 0  # called again at once: nothing is due

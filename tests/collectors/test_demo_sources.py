"""The demo's sources (app.demo.prepare_sources): all five kinds, served locally, collect cleanly."""

from __future__ import annotations

from pathlib import Path

from app.demo import prepare_sources, stop_demo_sites
from tests.collectors.conftest import collect


def test_demo_sources_cover_five_kinds_and_collect_without_problems(tmp_path: Path) -> None:
    try:
        sources = prepare_sources(tmp_path / "demo")
        assert sorted({s.kind for s in sources}) == ["board", "hotline", "liuyan", "replay", "rss"]
        counts = {}
        for src in sources:
            report = collect(src)
            assert (report.error, report.problems) == (None, []), src.id
            counts[src.id] = len(report.posts)
        assert counts == {
            "wenzheng-replay": 220,
            "wenzheng-jiujiang": 60,
            "hotline-12345": 60,
            "liuyan-jinan": 19,
            "wenzheng-jiangxi": 20,
            "wenzheng-jiujiang-web": 20,
        }
    finally:
        stop_demo_sites()

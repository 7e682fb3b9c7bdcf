"""Fixtures of the collectors' tests: a local site over real HTTP, real bus and state files,
and builders that turn real posts (fixtures/posts_sample.jsonl) into feeds and exports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

from collectors.config import SourceConfig
from collectors.fakes import FakeSite
from collectors.registry import make_collector
from collectors.service import RunReport, run_source
from collectors.state import StateStore
from yuqing.bus.sqlite import SqliteBus
from yuqing.timeutil import parse_datetime

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def site() -> Iterator[FakeSite]:
    with FakeSite() as s:
        yield s


@pytest.fixture
def state(tmp_path: Path) -> Iterator[StateStore]:
    st = StateStore(f"sqlite:///{tmp_path}/state.db")
    yield st
    st.close()


@pytest.fixture
def bus(tmp_path: Path) -> Iterator[SqliteBus]:
    b = SqliteBus(f"sqlite:///{tmp_path}/bus.db", partitions=2)
    yield b
    b.close()


@pytest.fixture(scope="session")
def posts() -> list[dict[str, Any]]:
    return [json.loads(line) for line in (FIXTURES / "posts_sample.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def threads() -> list[dict[str, Any]]:
    return json.loads((FIXTURES / "liuyan_threads.json").read_text(encoding="utf-8"))


def rss(
    posts: list[dict[str, Any]],
    *,
    encoding: str = "utf-8",
    declared: str | None = "utf-8",
    guid: bool = True,
    dates: bool = True,
    link: bool = True,
    extra: str = "",
) -> bytes:
    """An RSS 2.0 feed of real posts, encoded in ``encoding`` and declaring ``declared``."""
    items = []
    for p in posts:
        num = p["id"].split(":")[1]
        parts = [f"<title>{escape(p['title'])}</title>"]
        if link:
            parts.append(f"<link>https://wz.example.gov.cn/thread/{num}</link>")
        if guid:
            parts.append(f'<guid isPermaLink="false">{escape(p["id"])}</guid>')
        if dates:
            parts.append(f"<pubDate>{format_datetime(parse_datetime(p['published']))}</pubDate>")  # type: ignore[arg-type]
        parts.append(f"<description>{escape(p['content'])}</description>")
        items.append("<item>" + "".join(parts) + "</item>")
    decl = f'<?xml version="1.0" encoding="{declared}"?>' if declared else '<?xml version="1.0"?>'
    text = (
        f'{decl}\n<rss version="2.0"><channel><title>问政测试</title><link>https://wz.example.gov.cn/</link>'
        f"<description>测试</description>\n" + "\n".join(items) + f"\n{extra}</channel></rss>\n"
    )
    return text.encode(encoding)


def collect(cfg: SourceConfig, bus: SqliteBus | None = None, state: StateStore | None = None, *, dry_run: bool = False) -> RunReport:
    collector = make_collector(cfg)
    try:
        return run_source(collector, bus, state, dry_run=dry_run or bus is None)
    finally:
        collector.close()


def published(bus: SqliteBus) -> list[dict[str, Any]]:
    """Every post.collected on posts.raw, in offset order per partition."""
    c = bus.consumer("posts.raw", "test-reader")
    out: list[dict[str, Any]] = []
    while True:
        batch = c.poll(max_records=1000, timeout=0.05)
        if not batch:
            break
        out += [json.loads(m.value) for m in batch]
    c.close()
    return out

"""Whatever the network returns: each bad input gives one clear log line naming the source and
the reason, and collection carries on (the same round's other source still publishes).
Real bytes over real HTTP from a local site."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from collectors.config import SourceConfig
from collectors.fakes import FakeSite, Reply
from tests.collectors.conftest import collect, published, rss


@dataclass
class Case:
    name: str
    serve: Callable[[FakeSite, list[dict[str, Any]]], None]
    source: Callable[[str], SourceConfig]
    level: int  # WARNING: item problem, the rest published; ERROR: the source failed this run
    message: Callable[[str], str]  # expected log line, given the site URL
    posts: int  # posts published from the bad source


def feed_cfg(path: str, **kw: Any) -> Callable[[str], SourceConfig]:
    return lambda url: SourceConfig(id="bad", kind="rss", url=url + path, retries=0, **kw)


def board_cfg(url: str) -> SourceConfig:
    return SourceConfig(
        id="bad",
        kind="board",
        url=url + "/api?page={page}",
        retries=0,
        max_pages=2,
        items="data",
        fields={"id": "id", "title": "title", "content": "content", "published": "time"},
    )


def static(path: str, body: bytes | str, ctype: str = "text/xml") -> Callable[[FakeSite, list[dict[str, Any]]], None]:
    return lambda site, posts: site.add_static(path, body, ctype)


def _feed(fn: Callable[[list[dict[str, Any]]], bytes], path: str = "/f.xml") -> Callable[[FakeSite, list[dict[str, Any]]], None]:
    return lambda site, posts: site.add_static(path, fn(posts), "text/xml")


def _future(posts: list[dict[str, Any]]) -> bytes:
    return rss([{**posts[0], "published": "2099-01-01 10:00:00"}, posts[1]])


def _unparsable(posts: list[dict[str, Any]]) -> bytes:
    body = rss(posts[:2])
    start = body.index(b"<pubDate>") + len(b"<pubDate>")
    return body[:start] + "去年春天".encode() + body[body.index(b"</pubDate>") :]


def _dup_guids(posts: list[dict[str, Any]]) -> bytes:
    body = rss(posts[:3])
    for p in posts[1:3]:
        body = body.replace(p["id"].encode(), posts[0]["id"].encode())
    return body


def _empty_item(posts: list[dict[str, Any]]) -> bytes:
    return rss(posts[:2], extra="<item><link>https://wz.example.gov.cn/thread/0</link></item>")


def _huge(posts: list[dict[str, Any]]) -> bytes:
    return rss([{**posts[0], "content": "噪音扰民" * 875_000}, posts[1]])  # a 10.5 MB item (3.5 M characters)


def _truncated_http(site: FakeSite, posts: list[dict[str, Any]]) -> None:
    body = rss(posts[:3])
    site.add_sequence("/f.xml", [Reply(200, body, {"Content-Type": "text/xml"}, truncate_to=len(body) // 2)])


def _board_missing(site: FakeSite, posts: list[dict[str, Any]]) -> None:
    items = [
        {"id": "1", "title": posts[0]["title"], "content": posts[0]["content"], "time": "2021-03-02 10:00"},
        {"title": posts[1]["title"], "content": posts[1]["content"]},
        {"id": "3", "time": "2021-03-02"},
    ]
    site.add_static("/api?page=1", json.dumps({"data": items}, ensure_ascii=False), "application/json")
    site.add_static("/api?page=2", json.dumps({"data": []}), "application/json")


CASES = [
    Case(
        "malformed XML, items salvaged",
        _feed(lambda p: rss(p[:3]).replace(b"</item>", b"", 1)),
        feed_cfg("/f.xml"),
        logging.WARNING,
        lambda u: "source bad: malformed feed, 3 item(s) salvaged: <unknown>:6:2: mismatched tag",
        3,
    ),
    Case(
        "not XML at all",
        static("/f.xml", b"\x00\x01garbage{}<<"),
        feed_cfg("/f.xml"),
        logging.ERROR,
        lambda u: f"source bad: {u}/f.xml: not an RSS/Atom feed (",
        0,
    ),
    Case(
        "HTML page where a feed was expected",
        static("/f.xml", "<!DOCTYPE html><html><head><title>404</title></head><body>页面不存在</body></html>", "text/html"),
        feed_cfg("/f.xml"),
        logging.ERROR,
        lambda u: f"source bad: {u}/f.xml: not an RSS/Atom feed (",
        0,
    ),
    Case(
        "truncated response",
        _truncated_http,
        feed_cfg("/f.xml"),
        logging.ERROR,
        lambda u: f"source bad: GET {u}/f.xml failed: connection closed early, response truncated",
        0,
    ),
    Case(
        "feed cut short inside an item",
        _feed(lambda p: rss(p[:3])[: len(rss(p[:3])) - 300]),
        feed_cfg("/f.xml"),
        logging.WARNING,
        lambda u: "source bad: the feed stops inside its last item 'tipdm2020c_fj4:3684': that item waits for a complete fetch",
        2,  # the cut item is not published half: the next complete fetch publishes it whole
    ),
    Case(
        "HTML where JSON was expected",
        static("/api?page=1", "<html><body>系统维护中</body></html>", "text/html"),
        board_cfg,
        logging.ERROR,
        lambda u: f"source bad: {u}/api?page=1: expected JSON, got '<html><body>系统维护中</body></html>'",
        0,
    ),
    Case(
        "wrong charset declaration",
        _feed(lambda p: rss(p[:2], encoding="gb18030", declared="utf-8")),
        feed_cfg("/f.xml"),
        logging.WARNING,
        lambda u: "source bad: declared charset 'utf-8' is wrong: decoded as GB18030",
        2,
    ),
    Case(
        "a 10 MB item",
        _feed(_huge),
        feed_cfg("/f.xml"),
        logging.WARNING,
        lambda u: "source bad: bad:tipdm2020c_fj4:3681: text of 3,500,000 characters cut to 50,000",
        2,
    ),
    Case(
        "response over the size limit",
        _feed(_huge),
        feed_cfg("/f.xml", max_bytes=5_000_000),
        logging.ERROR,
        lambda u: f"source bad: GET {u}/f.xml: body of 10.5 MB is over the 5 MB limit",
        0,
    ),
    Case("zero-item feed", _feed(lambda p: rss([])), feed_cfg("/f.xml"), logging.WARNING, lambda u: "source bad: the feed has no items", 0),
    Case(
        "duplicate GUIDs",
        _feed(_dup_guids),
        feed_cfg("/f.xml"),
        logging.WARNING,
        lambda u: "source bad: 1 GUID(s) used by several items (e.g. ",
        3,
    ),
    Case("date in the future", _feed(_future), feed_cfg("/f.xml"), logging.WARNING, lambda u: "source bad: item ", 2),
    Case("unparsable date", _feed(_unparsable), feed_cfg("/f.xml"), logging.WARNING, lambda u: "source bad: item ", 2),
    Case(
        "item with no title or text",
        _feed(_empty_item),
        feed_cfg("/f.xml"),
        logging.WARNING,
        lambda u: "source bad: item 'https://wz.example.gov.cn/thread/0' has neither title nor text: skipped",
        2,
    ),
    Case("board items with missing fields", _board_missing, board_cfg, logging.WARNING, lambda u: "source bad: page 1 item ", 1),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case, site, posts, bus, state, caplog) -> None:
    case.serve(site, posts)
    site.add_static("/good.xml", rss(posts[10:12]), "text/xml")
    good = SourceConfig(id="good", kind="rss", url=site.url + "/good.xml", retries=0)
    with caplog.at_level(logging.WARNING, logger="yuqing.collectors"):
        bad = collect(case.source(site.url), bus, state)
        ok = collect(good, bus, state)
    lines = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "yuqing.collectors"]
    bad_lines = [line for line in lines if line[1].startswith("source bad:")]
    assert ok.published == 2 and ok.error is None
    assert bad.published == case.posts
    assert [m["source"]["id"] for m in published(bus)].count("bad") == case.posts
    if case.level == logging.ERROR:
        assert bad_lines == [(logging.ERROR, bad.error)]
        assert bad.error is not None and bad.error.startswith(case.message(site.url))
    else:
        assert bad.error is None
        assert bad_lines, "expected a warning naming the source"
        assert all(level == logging.WARNING for level, _ in bad_lines)
        assert any(msg.startswith(case.message(site.url)) for _, msg in bad_lines), bad_lines
    # The reason is in the source's health as well.
    if case.level == logging.ERROR:
        (h,) = [h for h in state.health() if h.source == "bad"]
        assert h.last_error == bad.error and h.failures == 1


def test_problem_lines_are_one_per_problem(site, posts, caplog) -> None:
    site.add_static("/f.xml", _future(posts), "text/xml")
    with caplog.at_level(logging.WARNING, logger="yuqing.collectors"):
        report = collect(SourceConfig(id="bad", kind="rss", url=site.url + "/f.xml", retries=0))
    assert [r.getMessage() for r in caplog.records] == [
        f"source bad: item {posts[0]['id']!r}: date 2099-01-01 10:00 is in the future, using the collection time"
    ]
    assert report.posts[0].published_at > report.posts[1].published_at


def test_ten_megabyte_item_is_cut_to_max_chars(site, posts) -> None:
    site.add_static("/f.xml", _huge(posts), "text/xml")
    report = collect(SourceConfig(id="bad", kind="rss", url=site.url + "/f.xml", retries=0, max_chars=1000))
    big = report.posts[0]
    assert len(big.content) == 1000 and big.raw["truncated_from"] == 3_500_000
    assert report.problems == [f"{big.id}: text of 3,500,000 characters cut to 1,000"]

"""The configurable board adapter: JSON field mapping and CSS selectors, paging, validation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from collectors.config import SourceConfig, validate_sources
from tests.collectors.conftest import collect
from yuqing.errors import ConfigError
from yuqing.events import Reply
from yuqing.timeutil import parse_datetime


def json_cfg(url: str, **kw: Any) -> SourceConfig:
    return SourceConfig(
        id="jx",
        kind="board",
        name="问政江西",
        url=url + "/api/list?page={page}&size=2",
        format="json",
        items="data.records",
        retries=0,
        **{"max_pages": 5, **kw},
        fields={
            "id": "threadId",
            "title": "title",
            "content": "body.text",
            "published": "createTime",
            "author": "user.nick",
            "reply": "replies.0.content",
            "replied_at": "replies.0.time",
            "organization": "replies.0.dept",
            "raw.likes": "likes",
        },
        link="https://wz.example.gov.cn/detail?id={id}",
    )


def serve_json(site, posts: list[dict[str, Any]], per_page: int = 2) -> None:
    pages = [posts[i : i + per_page] for i in range(0, len(posts), per_page)] + [[]]
    for n, chunk in enumerate(pages, start=1):
        records = [
            {
                "threadId": int(p["id"].split(":")[1]),
                "title": p["title"],
                "body": {"text": p["content"]},
                "createTime": p["published"],
                "user": {"nick": "网友"},
                "likes": 3,
                "replies": [{"content": p["reply"], "time": p.get("replied_at"), "dept": "县住建局"}] if p.get("reply") else [],
            }
            for p in chunk
        ]
        site.add_static(
            f"/api/list?page={n}&size=2", json.dumps({"code": 0, "data": {"records": records}}, ensure_ascii=False), "application/json"
        )


def test_json_board_maps_dotted_fields_and_pages(site, posts) -> None:
    serve_json(site, posts[:5])
    report = collect(json_cfg(site.url))
    assert report.error is None and report.problems == []
    assert [p.id for p in report.posts] == [f"jx:{p['id'].split(':')[1]}" for p in posts[:5]]
    first, src = report.posts[0], posts[0]
    assert (first.title, first.content, first.author) == (src["title"], src["content"], "网友")
    assert first.url == f"https://wz.example.gov.cn/detail?id={src['id'].split(':')[1]}"
    assert first.published_at == parse_datetime(src["published"])
    assert first.reply == Reply(content=src["reply"], organization="县住建局", replied_at=parse_datetime(src.get("replied_at")))
    assert first.raw == {"likes": 3}
    # pages 1..3 hold 5 posts, page 4 is empty and ends paging
    assert [r.query for r in site.requests] == [f"page={n}&size=2" for n in (1, 2, 3, 4)]


def test_paging_stops_at_a_page_of_known_posts(site, posts, bus, state) -> None:
    serve_json(site, posts[:6])
    assert collect(json_cfg(site.url), bus, state).published == 6
    site.requests.clear()
    again = collect(json_cfg(site.url), bus, state)
    assert (again.fetched, again.published) == (0, 0)
    assert [r.query for r in site.requests] == ["page=1&size=2"]


HTML = """<!DOCTYPE html><html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"></head><body>
<div class="header">问政九江 首页</div><ul class="list">{items}</ul><div class="footer">版权所有</div></body></html>"""


def serve_html(site, posts: list[dict[str, Any]]) -> None:
    items = "".join(
        f'<li><a class="t" href="/thread/{p["id"].split(":")[1]}.html">{p["title"]}</a><em>{p["published"]}</em>'
        f'<div class="s">{p["content"][:30]}</div></li>'
        for p in posts
    )
    site.add_static("/list_1.html", HTML.format(items=items).encode("gb18030"), "text/html")
    site.add_static("/list_2.html", HTML.format(items="").encode("gb18030"), "text/html")
    for p in posts:
        page = f'<html><body><div class="nav">导航</div><div id="art"><p>{p["content"]}</p></div></body></html>'
        site.add_static(f"/thread/{p['id'].split(':')[1]}.html", page.encode("gb18030"), "text/html; charset=gbk")


def html_cfg(url: str, **kw: Any) -> SourceConfig:
    return SourceConfig(
        id="jj",
        kind="board",
        url=url + "/list_{page}.html",
        format="html",
        items="ul.list > li",
        retries=0,
        fields={"url": "a.t::attr(href)", "title": "a.t", "content": "div.s", "published": "em"},
        **kw,
    )


def test_html_board_with_css_selectors_in_gbk(site, posts) -> None:
    serve_html(site, posts[:3])
    report = collect(html_cfg(site.url))
    assert report.error is None and report.problems == []
    assert [(p.title, p.content, p.url) for p in report.posts] == [
        (p["title"], p["content"][:30], f"{site.url}/thread/{p['id'].split(':')[1]}.html") for p in posts[:3]
    ]
    assert all(p.id.startswith("jj:u") for p in report.posts)


def test_html_board_detail_pages(site, posts) -> None:
    serve_html(site, posts[:2])
    report = collect(html_cfg(site.url, detail="#art"))
    assert [p.content for p in report.posts] == [p["content"] for p in posts[:2]]
    auto = collect(html_cfg(site.url, detail="auto"))
    assert [p.content for p in auto.posts] == [p["content"] for p in posts[:2]]


@pytest.mark.parametrize(
    ("extra", "key", "message"),
    [
        ({"fields": {"id": "a::attr(href)", "title": "a[", "content": "p"}}, "sources.0.fields.title", "invalid CSS selector 'a['"),
        ({"fields": {"id": "a", "title": "b", "colour": "c"}}, "sources.0.fields.colour", "unknown field"),
        ({"fields": {"title": "b"}}, "sources.0.fields", "needs an 'id' or a 'url' field"),
        ({"items": "ul >> li"}, "sources.0.items", "invalid CSS selector"),
        ({"url": "http://x/list.html"}, "sources.0", "needs {page} or {offset}"),
        ({"detail": "auto", "format": "json"}, "sources.0.detail", "only for format: html"),
        ({"format": "xml"}, "sources.0.format", "Input should be 'json' or 'html'"),
    ],
)
def test_config_validated_at_load_naming_the_key(extra: dict[str, Any], key: str, message: str) -> None:
    base: dict[str, Any] = {
        "id": "b",
        "kind": "board",
        "url": "http://x/list_{page}.html",
        "format": "html",
        "items": "li",
        "fields": {"id": "a::attr(href)", "title": "a"},
    }
    with pytest.raises(ConfigError) as err:
        validate_sources([SourceConfig(**{**base, **extra})], "sources.yaml")
    assert err.value.key == key and err.value.file == "sources.yaml"
    assert message in str(err.value)

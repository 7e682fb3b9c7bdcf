"""RSS/Atom over real HTTP from a local site: conditional GET, charsets, retries, articles."""

from __future__ import annotations

import logging

from collectors.config import SourceConfig
from collectors.fakes import Reply
from tests.collectors.conftest import collect, published, rss
from yuqing.timeutil import parse_datetime


def cfg(url: str, **kw: object) -> SourceConfig:
    return SourceConfig(id="feed", kind="rss", name="问政测试", url=url, **{"retries": 0, **kw})


def test_items_become_posts_with_guid_ids(site, posts) -> None:
    site.add_static("/rss.xml", rss(posts[:5]), "application/rss+xml")
    report = collect(cfg(site.url + "/rss.xml"))
    assert report.error is None and report.problems == []
    assert [p.id for p in report.posts] == [f"feed:{p['id']}" for p in posts[:5]]
    first = report.posts[0]
    assert (first.title, first.content) == (posts[0]["title"], posts[0]["content"])
    assert first.url == f"https://wz.example.gov.cn/thread/{posts[0]['id'].split(':')[1]}"
    assert first.published_at == parse_datetime(posts[0]["published"])
    assert first.raw == {"feed_title": "问政测试", "guid": posts[0]["id"]}


def test_conditional_get_sends_validators_and_304_costs_nothing(site, posts, bus, state) -> None:
    modified = "Tue, 02 Mar 2021 02:00:00 GMT"
    site.add_static("/rss.xml", rss(posts[:3]), "application/rss+xml", etag='"v1"', last_modified=modified)
    first = collect(cfg(site.url + "/rss.xml"), bus, state)
    assert first.published == 3
    assert state.load("feed")["etag"] == '"v1"' and state.load("feed")["modified"] == modified
    second = collect(cfg(site.url + "/rss.xml"), bus, state)
    assert (second.fetched, second.published, second.error) == (0, 0, None)
    req = site.requests[-1]
    assert req.headers["if-none-match"] == '"v1"' and req.headers["if-modified-since"] == modified
    assert len(published(bus)) == 3


def test_retries_with_backoff_then_succeeds(site, posts) -> None:
    site.add_sequence(
        "/rss.xml", [Reply(503, b"busy"), Reply(502, b"bad gateway"), Reply(200, rss(posts[:2]), {"Content-Type": "text/xml"})]
    )
    report = collect(cfg(site.url + "/rss.xml", retries=2, backoff=0.01))
    assert report.error is None and len(report.posts) == 2
    assert len(site.requests) == 3


def test_gives_up_after_retries_naming_the_reason(site) -> None:
    site.add_sequence("/rss.xml", [Reply(503, b"busy")])
    report = collect(cfg(site.url + "/rss.xml", retries=2, backoff=0.01))
    assert report.error == f"source feed: GET {site.url}/rss.xml failed after 3 attempts: HTTP 503"
    assert len(site.requests) == 3


def test_not_found_is_not_retried(site) -> None:
    report = collect(cfg(site.url + "/missing.xml", retries=3, backoff=0.01))
    assert report.error == f"source feed: GET {site.url}/missing.xml answered HTTP 404"
    assert len(site.requests) == 1


def test_timeout(site, posts) -> None:
    site.add_sequence("/rss.xml", [Reply(200, rss(posts[:1]), {"Content-Type": "text/xml"}, delay=1.0)])
    report = collect(cfg(site.url + "/rss.xml", timeout=0.2))
    assert report.error == f"source feed: GET {site.url}/rss.xml failed: timed out after 0.2 s (ReadTimeout)"


def test_gbk_feed_declared_utf8_is_decoded(site, posts, caplog) -> None:
    site.add_static("/gbk.xml", rss(posts[:3], encoding="gbk", declared="utf-8"), "text/xml")
    with caplog.at_level(logging.WARNING, logger="yuqing.collectors"):
        report = collect(cfg(site.url + "/gbk.xml"))
    assert [p.title for p in report.posts] == [p["title"] for p in posts[:3]]
    assert report.problems == ["declared charset 'utf-8' is wrong: decoded as GB18030"]
    assert [r.getMessage() for r in caplog.records] == ["source feed: declared charset 'utf-8' is wrong: decoded as GB18030"]


def test_gb2312_declared_in_http_header_only(site, posts) -> None:
    site.add_static("/gb.xml", rss(posts[:3], encoding="gb18030", declared=None), "application/xml; charset=GB2312")
    report = collect(cfg(site.url + "/gb.xml"))
    assert [p.content for p in report.posts] == [p["content"] for p in posts[:3]]
    assert report.problems == []


def test_utf8_feed_declared_gbk(site, posts) -> None:
    site.add_static("/u.xml", rss(posts[:2], encoding="utf-8", declared="gbk"), "text/xml")
    report = collect(cfg(site.url + "/u.xml"))
    assert [p.title for p in report.posts] == [p["title"] for p in posts[:2]]
    assert report.problems == ["declared charset 'gbk' is wrong: the content is UTF-8"]


def test_items_without_dates_or_guids(site, posts, bus, state) -> None:
    site.add_static("/rss.xml", rss(posts[:4], guid=False, dates=False), "text/xml")
    report = collect(cfg(site.url + "/rss.xml"), bus, state)
    assert report.problems == ["4 item(s) without a date: using the collection time"]
    assert all(p.id.startswith("feed:u") for p in report.posts)
    # Ids come from the links, so the next fetch publishes nothing again.
    again = collect(cfg(site.url + "/rss.xml"), bus, state)
    assert (again.published, again.error) == (0, None)


def test_items_without_guid_or_link_get_text_ids(site, posts, bus, state) -> None:
    site.add_static("/rss.xml", rss(posts[:3], guid=False, link=False), "text/xml")
    first = collect(cfg(site.url + "/rss.xml"), bus, state)
    assert all(p.id.startswith("feed:h") for p in first.posts) and first.published == 3
    assert collect(cfg(site.url + "/rss.xml"), bus, state).published == 0


def test_atom_feed(site, posts) -> None:
    p = posts[0]
    atom = (
        f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>政务动态</title>'
        f'<entry><id>urn:x:{p["id"]}</id><title>{p["title"]}</title><link href="/a/1.html"/>'
        f'<updated>2021-03-02T21:41:26+08:00</updated><content type="html">&lt;p&gt;{p["content"]}&lt;/p&gt;</content></entry></feed>'
    )
    site.add_static("/atom.xml", atom, "application/atom+xml")
    (post,) = collect(cfg(site.url + "/atom.xml")).posts
    assert (post.id, post.content, post.url) == (f"feed:urn:x:{p['id']}", p["content"], f"{site.url}/a/1.html")
    assert post.published_at.isoformat() == "2021-03-02T21:41:26+08:00"


def test_article_page_fetched_when_feed_has_only_a_summary(site, posts) -> None:
    p = posts[0]
    feed = rss([{**p, "content": p["content"][:20]}])
    feed = feed.replace(b"https://wz.example.gov.cn/thread", site.url.encode() + b"/thread")
    site.add_static("/rss.xml", feed, "text/xml")
    num = p["id"].split(":")[1]
    page = (
        f'<html><head><meta charset="gbk"><title>{p["title"]}</title></head><body><div class="nav"><a href="/">首页</a> | <a>留言</a></div>'
        f'<div class="TRS_Editor"><p>{p["content"][: len(p["content"]) // 2]}</p><p>{p["content"][len(p["content"]) // 2 :]}</p></div>'
        f'<div class="footer">版权所有 主办单位</div></body></html>'
    )
    site.add_static(f"/thread/{num}", page.encode("gbk"), "text/html")
    (post,) = collect(cfg(site.url + "/rss.xml", fetch_article=True)).posts
    assert post.content == p["content"][: len(p["content"]) // 2] + "\n" + p["content"][len(p["content"]) // 2 :]
    assert post.raw["article"] is True


def test_article_failure_keeps_the_summary(site, posts) -> None:
    p = posts[1]
    feed = rss([{**p, "content": "摘要"}]).replace(b"https://wz.example.gov.cn/thread", site.url.encode() + b"/thread")
    site.add_static("/rss.xml", feed, "text/xml")
    report = collect(cfg(site.url + "/rss.xml", fetch_article=True))
    (post,) = report.posts
    assert post.content == "摘要"
    num = p["id"].split(":")[1]
    assert report.problems == [f"article page not fetched, keeping the summary: GET {site.url}/thread/{num} answered HTTP 404"]


def test_local_file_feed(tmp_path, posts) -> None:
    f = tmp_path / "feed.xml"
    f.write_bytes(rss(posts[:2]))
    assert len(collect(cfg(str(f))).posts) == 2
    assert len(collect(cfg(f.as_uri())).posts) == 2

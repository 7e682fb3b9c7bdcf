"""Issue 16: the failures an outside test found, each over real HTTP from a local site.

Truncated compressed bodies, a feed in doubt, the per-fetch deadline, HTTP errors named with
source and URL, a BOM before a GBK declaration, plain-text titles, Japanese/Korean/UTF-32 feeds
and the size limit's unit. Every network kind shares ``collectors.http`` and ``collectors.charset``,
so the HTTP and charset cases run against the board and 留言板 collectors too."""

from __future__ import annotations

import codecs
import gzip
import json
import logging
import time
import zlib
from typing import Any

import pytest

from collectors.config import SourceConfig
from collectors.fakes import FakeSite, Reply
from tests.collectors.conftest import collect, published, rss

XML = {"Content-Type": "text/xml"}
TRICKY = "学习<民法典>心得 & a<b 比较"


def feed(url: str, **kw: Any) -> SourceConfig:
    return SourceConfig(id="bad", kind="rss", url=url, **{"retries": 0, **kw})


def board(url: str, **kw: Any) -> SourceConfig:
    return SourceConfig(
        id="bad",
        kind="board",
        url=url,
        max_pages=1,
        items="data",
        fields={"id": "id", "title": "title", "content": "content"},
        **{"retries": 0, **kw},
    )


def liuyan(url: str, **kw: Any) -> SourceConfig:
    return SourceConfig(id="bad", kind="liuyan", url=url, fid="301", max_pages=1, **{"retries": 0, **kw})


def error_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "yuqing.collectors" and r.levelno >= logging.ERROR]


# -- 1. truncated compressed bodies; a feed in doubt ------------------------------------------


def test_truncated_gzip_is_refused_and_the_full_fetch_publishes_each_item_once(site: FakeSite, posts, bus, state) -> None:
    body = rss(posts[:2], guid=False)
    packed = gzip.compress(body)
    headers = {**XML, "Content-Encoding": "gzip"}
    # The HTTP message is complete (Content-Length matches); the gzip stream inside it is not.
    site.add_sequence("/f.xml", [Reply(200, packed[: len(packed) * 2 // 3], headers), Reply(200, packed, headers)])
    first = collect(feed(site.url + "/f.xml"), bus, state)
    assert first.published == 0
    assert first.error == (
        f"source bad: GET {site.url}/f.xml failed: response truncated: the gzip stream stops before its end "
        f"({len(packed) * 2 // 3:,} bytes received)"
    )
    second = collect(feed(site.url + "/f.xml"), bus, state)
    assert second.error is None and second.published == 2
    assert sorted(m["title"] for m in published(bus)) == sorted(p["title"] for p in posts[:2])


def test_truncated_gzip_is_retried_like_a_cut_connection(site: FakeSite, posts) -> None:
    packed = gzip.compress(rss(posts[:2]))
    headers = {**XML, "Content-Encoding": "gzip"}
    site.add_sequence("/f.xml", [Reply(200, packed[:-20], headers), Reply(200, packed, headers)])
    report = collect(feed(site.url + "/f.xml", retries=1, backoff=0))
    assert report.error is None and len(report.posts) == 2
    assert len(site.requests) == 2


def test_gzip_feed_answered_304_with_its_encoding_header(site: FakeSite, posts, bus, state) -> None:
    packed = gzip.compress(rss(posts[:2]))
    headers = {**XML, "Content-Encoding": "gzip", "ETag": '"v1"'}
    site.add(
        "/f.xml",
        lambda req: Reply(
            304 if req.headers.get("if-none-match") == '"v1"' else 200, b"" if req.headers.get("if-none-match") else packed, headers
        ),
    )
    assert collect(feed(site.url + "/f.xml"), bus, state).published == 2
    again = collect(feed(site.url + "/f.xml"), bus, state)
    assert again.error is None and again.fetched == 0
    assert site.requests[-1].headers["if-none-match"] == '"v1"'


@pytest.mark.parametrize("wrapper", ["zlib", "raw"])
def test_deflate_bodies_are_decoded_and_checked_too(site: FakeSite, posts, wrapper: str) -> None:
    body = rss(posts[:2])
    if wrapper == "zlib":
        packed = zlib.compress(body)
    else:
        c = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        packed = c.compress(body) + c.flush()
    site.add("/ok.xml", lambda req: Reply(200, packed, {**XML, "Content-Encoding": "deflate"}))
    site.add("/cut.xml", lambda req: Reply(200, packed[:-10], {**XML, "Content-Encoding": "deflate"}))
    assert len(collect(feed(site.url + "/ok.xml")).posts) == 2
    cut = collect(feed(site.url + "/cut.xml"))
    assert cut.error is not None and cut.error.startswith(
        f"source bad: GET {site.url}/cut.xml failed: response truncated: the deflate stream"
    )


def test_feed_in_doubt_publishes_no_text_identified_item_and_not_its_cut_last_item(site: FakeSite, posts, bus, state) -> None:
    """Identity encoding cut inside the second item: nothing tells HTTP the body is short."""
    full = rss(posts[:3], guid=False, link=False)
    cut = full[: full.index(b"</item>", full.index(b"</item>") + 1) - 40]  # inside item 2's text
    site.add_sequence("/f.xml", [Reply(200, cut, XML), Reply(200, full, XML)])
    first = collect(feed(site.url + "/f.xml"), bus, state)
    assert first.error is None and first.published == 0
    assert any("waits for a complete fetch" in p for p in first.problems)
    assert any("has no GUID or link and the feed is in doubt: not published" in p for p in first.problems)
    second = collect(feed(site.url + "/f.xml"), bus, state)
    assert second.published == 3
    assert len(published(bus)) == 3  # 3 posts for 3 items, never a half item and its whole twin


def test_feed_in_doubt_still_publishes_complete_items_with_links(site: FakeSite, posts, bus, state) -> None:
    full = rss(posts[:3], guid=False)
    cut = full[: full.index(b"</item>", full.index(b"</item>") + 1) - 40]
    site.add_sequence("/f.xml", [Reply(200, cut, XML), Reply(200, full, XML)])
    assert collect(feed(site.url + "/f.xml"), bus, state).published == 1
    assert collect(feed(site.url + "/f.xml"), bus, state).published == 2
    assert sorted(m["title"] for m in published(bus)) == sorted(p["title"] for p in posts[:3])


def test_a_malformed_but_complete_feed_is_not_in_doubt(site: FakeSite, posts) -> None:
    """An undefined entity makes the feed malformed, but it ends with </rss>: nothing is cut, so
    items identified by their text are published (their text will not change)."""
    body = rss(posts[:2], guid=False, link=False).replace(b"<description>", b"<description>&nbsp;", 1)
    site.add_static("/f.xml", body, "text/xml")
    report = collect(feed(site.url + "/f.xml"))
    assert report.problems[0].startswith("malformed feed, 2 item(s) salvaged: ")
    assert len(report.posts) == 2


def test_a_cut_feed_with_no_item_yet_is_named_malformed(site: FakeSite, posts) -> None:
    body = rss(posts[:2])
    site.add_static("/f.xml", body[: body.index(b"<item>")], "text/xml")
    report = collect(feed(site.url + "/f.xml"))
    assert report.error is not None
    assert report.error.startswith(f"source bad: {site.url}/f.xml: malformed rss20 feed cut short before any item (")
    # Whole but malformed, with no item: a feed that has nothing now, not a failure.
    site.add_static("/g.xml", rss([]).replace(b"<description>", b"<description>&nbsp;"), "text/xml")
    report = collect(feed(site.url + "/g.xml"))
    assert report.error is None
    assert report.problems[0].startswith("malformed feed: ") and report.problems[1:] == ["the feed has no items"]


# -- 2. a deadline per fetch, retries included -------------------------------------------------


@pytest.mark.parametrize("make", [feed, board, liuyan], ids=["rss", "board", "liuyan"])
def test_a_dripping_server_is_abandoned_at_the_deadline(site: FakeSite, posts, make, caplog) -> None:
    # One byte every 0.2 s never trips a 1 s read timeout; the whole answer would take minutes.
    drip = Reply(200, rss(posts[:3]), XML, drip=0.2)
    for path in ("/f.xml", "/v1/threads/list/df"):
        site.add(path, lambda req, drip=drip: drip)
    url = site.url + ("/f.xml" if make is not liuyan else "")
    start = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="yuqing.collectors"):
        report = collect(make(url, timeout=1, deadline=2.5, retries=3, backoff=0.1))
    took = time.monotonic() - start
    assert took < 4.0, took
    assert report.error is not None and "within the 2.5 s deadline" in report.error
    assert f"{site.url}/" in report.error
    assert [r.exc_info for r in error_lines(caplog)] == [None]


def test_the_deadline_covers_retry_pauses(site: FakeSite) -> None:
    site.add("/f.xml", lambda req: Reply(503, b"busy", {"Retry-After": "30"}))
    start = time.monotonic()
    report = collect(feed(site.url + "/f.xml", retries=5, deadline=3))
    assert time.monotonic() - start < 2
    assert report.error == (
        f"source bad: GET {site.url}/f.xml failed after 1 attempt(s): HTTP 503; no time left for another within the 3 s deadline"
    )


def test_deadline_is_a_source_setting_validated_at_load(tmp_path) -> None:
    from app.settings import load_settings
    from yuqing.errors import ConfigError

    f = tmp_path / "y.yaml"
    f.write_text("sources:\n  - {id: a, kind: rss, url: u, deadline: 0}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(f, environ={})
    assert err.value.key == "sources.0.deadline" and "greater than 0" in str(err.value)


# -- 3. HTTP errors name the source, the URL and the reason, without a traceback ----------------


def _loop(req: Any) -> Reply:
    return Reply(302, b"", {"Location": "/loop"})


HTTP_FAULTS = [
    ("too many redirects", lambda s: s.add("/loop", _loop), "/loop", "too many redirects (more than 20; the last to "),
    (
        "gzip that is not gzip",
        lambda s: s.add("/loop", lambda r: Reply(200, b"<rss>plain</rss>", {**XML, "Content-Encoding": "gzip"})),
        "/loop",
        "the body says Content-Encoding gzip but is not valid gzip (",
    ),
    (
        "unknown content encoding",
        lambda s: s.add("/loop", lambda r: Reply(200, b"xx", {**XML, "Content-Encoding": "br"})),
        "/loop",
        "unsupported Content-Encoding 'br'",
    ),
    (
        "redirect to another scheme",
        lambda s: s.add("/loop", lambda r: Reply(301, b"", {"Location": "ftp://127.0.0.1/feed"})),
        "/loop",
        "unsupported URL scheme or redirect target (",
    ),
]


@pytest.mark.parametrize("make", [feed, board, liuyan], ids=["rss", "board", "liuyan"])
@pytest.mark.parametrize(("name", "serve", "path", "reason"), HTTP_FAULTS, ids=[f[0] for f in HTTP_FAULTS])
def test_http_failures_are_named_with_source_url_and_reason(site: FakeSite, bus, state, make, name, serve, path, reason, caplog) -> None:
    serve(site)
    if make is liuyan:  # the 留言板 calls go to fixed paths under its base URL
        site.add("/v1/threads/list/df", site.routes[path])
        path = "/v1/threads/list/df"
        url = site.url
    else:
        url = site.url + path
    method = "POST" if make is liuyan else "GET"
    with caplog.at_level(logging.WARNING, logger="yuqing.collectors"):
        report = collect(make(url), bus, state)
    assert report.error is not None
    assert report.error.startswith(f"source bad: {method} {site.url}{path}: {reason}"), report.error
    (line,) = error_lines(caplog)
    assert line.getMessage() == report.error and line.exc_info is None  # no "unexpected error" traceback
    (h,) = state.health()
    assert h.last_error == report.error


def test_a_non_ascii_header_value_is_a_named_error(site: FakeSite, posts) -> None:
    site.add_static("/f.xml", rss(posts[:1]), "text/xml")
    report = collect(feed(site.url + "/f.xml", headers={"Referer": "https://彭泽.example/"}))
    assert report.error is not None and report.error.startswith(f"source bad: GET {site.url}/f.xml: UnicodeEncodeError")


# -- 4. a BOM before a GBK declaration ------------------------------------------------------------


def test_utf8_bom_before_a_gbk_declaration_and_body(site: FakeSite, posts, caplog) -> None:
    body = codecs.BOM_UTF8 + rss(posts[:2], encoding="gb18030", declared="GBK")
    site.add_static("/f.xml", body, "text/xml")
    with caplog.at_level(logging.WARNING, logger="yuqing.collectors"):
        report = collect(feed(site.url + "/f.xml"))
    assert [p.title for p in report.posts] == [p["title"] for p in posts[:2]]
    assert [p.content for p in report.posts] == [p["content"] for p in posts[:2]]
    assert report.problems == ["a UTF-8 byte-order mark, but the content is not UTF-8: decoded as GB18030 (declared 'GBK')"]


def test_bom_before_gbk_on_a_board_page(site: FakeSite, posts) -> None:
    page = json.dumps({"data": [{"id": "1", "title": posts[0]["title"], "content": posts[0]["content"]}]}, ensure_ascii=False)
    site.add_static("/api", codecs.BOM_UTF8 + page.encode("gb18030"), "application/json; charset=gbk")
    report = collect(board(site.url + "/api"))
    assert report.error is None and [p.title for p in report.posts] == [posts[0]["title"]]


# -- 5. plain-text titles are not HTML --------------------------------------------------------------


def test_plain_text_titles_keep_what_follows_a_less_than_sign(site: FakeSite, posts) -> None:
    escaped = "学习&lt;民法典&gt;心得 &amp; a&lt;b 比较"
    body = rss(posts[:1]).replace(b"<title>" + posts[0]["title"].encode(), f"<title>{escaped}".encode())
    atom = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        f'<entry><id>urn:x:1</id><title type="text">{escaped}</title><updated>2021-03-02T10:00:00Z</updated>'
        f'<summary type="text">{escaped}</summary></entry>'
        f'<entry><id>urn:x:2</id><title type="html">&lt;b&gt;加粗&lt;/b&gt; 标题</title><updated>2021-03-02T10:00:00Z</updated>'
        '<content type="html">&lt;p&gt;第一段&lt;/p&gt;&lt;p&gt;第二段 &amp;amp; 3&lt;/p&gt;</content></entry></feed>'
    )
    site.add_static("/rss.xml", body, "text/xml")
    site.add_static("/atom.xml", atom.encode(), "application/atom+xml")
    assert [p.title for p in collect(feed(site.url + "/rss.xml")).posts] == [TRICKY]
    a, b = collect(feed(site.url + "/atom.xml")).posts
    assert (a.title, a.content) == (TRICKY, TRICKY)
    assert (b.title, b.content) == ("加粗 标题", "第一段\n第二段 & 3")  # HTML is still converted


def test_board_titles_with_less_than_signs(site: FakeSite) -> None:
    html = '<ul><li class="p"><a href="/t/1">学习&lt;民法典&gt;心得 &amp; a&lt;b 比较</a><span>正文</span></li></ul>'
    site.add_static("/list", f"<html><body>{html}</body></html>")
    site.add_static("/api", json.dumps({"data": [{"id": "1", "title": TRICKY, "content": "<p>正文</p>"}]}), "application/json")
    cfg = SourceConfig(
        id="bad", kind="board", url=site.url + "/list", max_pages=1, format="html", items="li.p",
        fields={"url": "a::attr(href)", "title": "a", "content": "span"}, retries=0,
    )  # fmt: skip
    assert [p.title for p in collect(cfg).posts] == [TRICKY]
    (post,) = collect(board(site.url + "/api")).posts
    assert (post.title, post.content) == (TRICKY, "正文")


# -- minor: Japanese and Korean without a charset, UTF-32, the size limit's unit --------------------

JA = "東京都は本日、新しい交通計画を発表しました。市民の皆さんからの意見を募集しています。"
KO = "서울시는 오늘 새로운 교통 계획을 발표했습니다. 시민 여러분의 의견을 기다립니다."


@pytest.mark.parametrize(
    ("text", "encoding", "detected"),
    [(JA, "shift_jis", "CP932"), (JA, "euc_jp", "EUC_JP"), (KO, "euc_kr", "CP949")],
)
def test_japanese_and_korean_feeds_without_charset_are_detected(site: FakeSite, text, encoding, detected) -> None:
    body = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{text[:6]}</title><link>https://x.example/</link>'
        f"<item><title>{text[:12]}</title><link>https://x.example/1</link><pubDate>Tue, 02 Mar 2021 10:00:00 +0800</pubDate>"
        f"<description>{text}</description></item>"
        "</channel></rss>"
    ).encode(encoding)
    site.add_static("/f.xml", body, "text/xml")
    report = collect(feed(site.url + "/f.xml"))
    (post,) = report.posts
    assert (post.title, post.content) == (text[:12].strip(), text)
    lang = "Korean" if encoding == "euc_kr" else "Japanese"
    assert report.problems == [f"no charset declared: {lang} text detected, decoded as {detected}"]


def test_undeclared_gbk_is_still_read_as_chinese_and_said_to_be_a_guess(site: FakeSite, posts) -> None:
    site.add_static("/f.xml", rss(posts[:20], encoding="gb18030", declared=None), "text/xml")
    report = collect(feed(site.url + "/f.xml"))
    assert [p.title for p in report.posts] == [p["title"] for p in posts[:20]]
    assert report.problems == ["no charset declared: decoded as GB18030 (a guess: set the source's encoding if the text looks wrong)"]


@pytest.mark.parametrize("encoding", ["utf-32", "utf-32-le", "utf-32-be", "utf-16-le", "utf-16-be"])
def test_utf32_and_bomless_utf16_feeds(site: FakeSite, posts, encoding: str) -> None:
    declared = encoding.replace("-le", "").replace("-be", "")
    site.add_static("/f.xml", rss(posts[:2], encoding=encoding, declared=declared), "application/xml")
    report = collect(feed(site.url + "/f.xml"))
    assert report.error is None and report.problems == []
    assert [p.title for p in report.posts] == [p["title"] for p in posts[:2]]


def test_ebcdic_feed_names_its_code_page(site: FakeSite) -> None:
    body = '<?xml version="1.0" encoding="cp500"?><rss version="2.0"><channel><title>t</title><item><title>Caf\xe9</title><link>https://x.example/1</link></item></channel></rss>'
    site.add_static("/f.xml", body.encode("cp500"), "application/xml")
    assert [p.title for p in collect(feed(site.url + "/f.xml")).posts] == ["Caf\xe9"]


def test_size_limits_are_printed_in_their_own_unit(site: FakeSite) -> None:
    site.add_static("/big.xml", b"x" * (3 * 1024 * 1024 + 100), "text/xml")
    bomb = gzip.compress(b"<rss>" + b" " * (3 * 1024 * 1024) + b"</rss>")
    site.add("/bomb.xml", lambda req: Reply(200, bomb, {**XML, "Content-Encoding": "gzip"}))
    big = collect(feed(site.url + "/big.xml", max_bytes=2 * 1024 * 1024))
    assert big.error == f"source bad: GET {site.url}/big.xml: body of 3.0 MiB is over the 2 MiB limit"
    boom = collect(feed(site.url + "/bomb.xml", max_bytes=2 * 1024 * 1024))
    assert boom.error == f"source bad: GET {site.url}/bomb.xml: body over the 2 MiB limit once decompressed"
    from collectors.http import size_text

    assert size_text(20 * 1024 * 1024) == "20 MiB"
    assert size_text(5_000_000) == "5 MB"
    assert size_text(20 * 1024 * 1024 + 1, 20 * 1024 * 1024) == "20,971,521 bytes"

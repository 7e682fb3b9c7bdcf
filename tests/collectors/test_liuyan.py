"""领导留言板 collector against a local server that speaks the board's real API format and checks
signatures as the real one does (collectors.fakes.LiuyanBoard), on real posts."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime
from typing import Any

import pytest

from collectors.config import SourceConfig
from collectors.liuyan import request_body, signature
from tests.collectors.conftest import collect, published
from yuqing.events import PostCollected, Reply, Source
from yuqing.timeutil import TZ, now

APP = "PC42ce3bfa4980a9"


def cfg(url: str, **kw: Any) -> SourceConfig:
    return SourceConfig(id="liuyan-fz", kind="liuyan", name="福州市委书记", url=url, **{"fid": "201", "rows": 5, "retries": 0, **kw})


def test_signature_matches_requests_captured_from_the_real_site() -> None:
    # Two list requests captured from liuyan.people.com.cn by public crawlers, with their signatures.
    p593 = '{"fid":"593","showUnAnswer":1,"typeId":5,"lastItem":"","position":"0","rows":10,"orderType":2}'
    p559 = '{"fid":"559","showUnAnswer":1,"typeId":5,"lastItem":"","position":0,"rows":10,"orderType":2}'
    assert signature("/v1/threads/list/df", p593, APP) == "a7db9282e68f7ccceff0785b444c2194"
    assert signature("/v1/threads/list/df", p559, APP) == "9f41eaf88787382c14da461be7079546"
    assert hashlib.md5(APP.encode()).hexdigest()[:16] == "a2eb17f65d6f4b3f"


def _sig(path: str, param: str) -> str:
    return hashlib.md5((path + param + "a2eb17f65d6f4b3f").encode()).hexdigest()


def test_exact_requests_and_paging_with_last_item(site, threads) -> None:
    board = site.add_liuyan(threads)
    report = collect(cfg(site.url, fetch_content=False))
    assert report.error is None and board.rejected == []
    lists = [r for r in site.requests if r.path == "/v1/threads/list/df"]
    tids = sorted((t["list"]["tid"] for t in threads if t["list"]["fid"] == 201), reverse=True)
    assert len(tids) == 20
    # 20 threads, 5 a page: pages 1-4 are full, page 5 is empty and ends paging.
    expected_last = ["", *(str(tids[i]) for i in (4, 9, 14, 19))]
    assert len(lists) == 5
    for req, last in zip(lists, expected_last, strict=True):
        param = f'{{"fid":"201","showUnAnswer":1,"typeId":5,"lastItem":"{last}","position":"0","rows":5,"orderType":2}}'
        body = {"appCode": APP, "token": "", "signature": _sig("/v1/threads/list/df", param), "param": param}
        assert req.method == "POST"
        assert req.body == json.dumps(body, separators=(",", ":")).encode()
        assert req.headers["content-type"] == "application/json;charset=UTF-8"
    assert [p.id for p in report.posts] == [f"liuyan-fz:{t}" for t in tids]


def test_content_request_body_is_exact(site, threads) -> None:
    site.add_liuyan(threads)
    collect(cfg(site.url, max_pages=1))
    contents = [r for r in site.requests if r.path == "/v1/threads/content"]
    assert len(contents) == 5
    first = max(t["list"]["tid"] for t in threads if t["list"]["fid"] == 201)
    param = f'{{"tid":"{first}","fromTrash":0}}'
    assert (
        contents[0].body
        == (
            f'{{"appCode":"{APP}","token":"","signature":"{_sig("/v1/threads/content", param)}","param":"{param.replace(chr(34), chr(92) + chr(34))}"}}'
        ).encode()
    )
    assert request_body("/v1/threads/content", {"tid": str(first), "fromTrash": 0}, APP) == contents[0].body


def test_exact_post_with_official_reply(site, threads) -> None:
    site.add_liuyan(threads)
    report = collect(cfg(site.url, fid="202", rows=10))
    post = next(p for p in report.posts if p.id == "liuyan-fz:8574406")
    thread = next(t for t in threads if t["list"]["tid"] == 8574406)
    msg, reply = thread["content"]
    assert msg["dataType"] == 1 and reply["dataType"] == 4
    expected = PostCollected(
        id="liuyan-fz:8574406",
        title=thread["list"]["subject"],
        content=msg["content"],
        url=f"{site.url}/threads/content?tid=8574406",
        author=None,
        published_at=datetime.fromtimestamp(thread["list"]["createDateline"], TZ),
        collected_at=post.collected_at,
        source=Source(id="liuyan-fz", kind="liuyan", name="福州市委书记"),
        reply=Reply(content=reply["content"], organization="福清市委书记办公室", replied_at=datetime.fromtimestamp(reply["dateline"], TZ)),
        raw={
            "tid": "8574406",
            "fid": "202",
            "forumName": "福清市委书记",
            "domainName": thread["list"]["domainName"],
            "stateInfo": "已办理",
            "threadsCheckTime": thread["list"]["threadsCheckTime"],
            "lastAnswerTime": reply["dateline"],
        },
    )
    assert post == expected


def test_restart_resumes_from_cursor_and_new_threads_are_collected(site, threads, bus, state) -> None:
    board = site.add_liuyan(threads)
    first = collect(cfg(site.url), bus, state)
    assert (first.published, first.error) == (20, None)
    again = collect(cfg(site.url), bus, state)
    assert (again.fetched, again.published) == (0, 0)
    # A new thread appears at the top of the board.
    new = json.loads(json.dumps(threads[0]))
    new["list"].update(tid=9999999, fid=201, createDateline=int(now().timestamp()))
    board.threads.append(new)
    third = collect(cfg(site.url), bus, state)
    assert [p.id for p in third.posts] == ["liuyan-fz:9999999"]
    assert len(published(bus)) == 21


def _fresh(threads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The fixture threads moved to the last days, so they are within the reply watch window."""
    ref = int(now().timestamp()) - 86400
    for i, t in enumerate(threads):
        t["list"]["createDateline"] = ref - i * 3600
    return threads


def test_reply_arriving_later_is_published_again_with_the_reply(site, threads, bus, state) -> None:
    threads = _fresh(threads)
    waiting = [t for t in threads if t["list"]["fid"] == 202 and len(t["content"]) == 1]
    assert waiting, "fixture needs unanswered threads"
    board = site.add_liuyan(threads)
    c = cfg(site.url, fid="202", rows=10)
    first = collect(c, bus, state)
    assert first.error is None and first.updated == 0
    assert set(state.load("liuyan-fz")["pending"]) == {str(t["list"]["tid"]) for t in waiting}
    # The official reply is posted on the board.
    target = waiting[0]
    target["content"].append(
        {"dataType": 4, "content": "您好，已责成施工单位夜间停工。", "dateline": int(now().timestamp()), "organization": "福清市城管局"}
    )
    second = collect(c, bus, state)
    assert (second.published, second.updated) == (0, 1)
    (post,) = second.posts
    assert post.id == f"liuyan-fz:{target['list']['tid']}"
    assert post.title == target["list"]["subject"]
    assert post.reply == Reply(content="您好，已责成施工单位夜间停工。", organization="福清市城管局", replied_at=post.reply.replied_at)  # type: ignore[union-attr]
    assert str(target["list"]["tid"]) not in state.load("liuyan-fz")["pending"]
    # Published once more, not again on the next run.
    third = collect(c, bus, state)
    assert (third.published, third.updated) == (0, 0)
    ids = [m["id"] for m in published(bus)]
    assert ids.count(post.id) == 2 and len(ids) == first.published + 1
    assert board.rejected == []


def test_wrong_app_code_is_rejected_by_the_signature_check(site, threads, caplog) -> None:
    site.add_liuyan(threads, app_code="PCdifferentappco")
    with caplog.at_level(logging.ERROR, logger="yuqing.collectors"):
        report = collect(cfg(site.url))
    assert report.posts == []
    assert report.error == (
        f"source liuyan-fz: POST {site.url}/v1/threads/list/df answered without resultData (resultCode 403, resultMsg '非法请求：unknown appCode')"
    )
    assert [r.getMessage() for r in caplog.records] == [report.error]


def test_content_failure_waits_in_retry_and_other_threads_carry_on(site, threads, caplog) -> None:
    broken = next(t for t in threads if t["list"]["fid"] == 201)
    broken["content"] = "<html>维护中</html>"  # contentList is not a list
    site.add_liuyan(threads)
    with caplog.at_level(logging.WARNING, logger="yuqing.collectors"):
        report = collect(cfg(site.url, max_pages=1))
    assert len(report.posts) == 4
    tid = broken["list"]["tid"]
    assert report.problems == [
        f"thread {tid}: content failed (attempt 1/3), retried next run: "
        f"POST {site.url}/v1/threads/content: resultData.contentList missing for thread {tid}"
    ]
    assert any(f"source liuyan-fz: thread {tid}: content failed" in r.getMessage() for r in caplog.records)


def test_html_where_json_was_expected(site) -> None:
    site.add_static("/v1/threads/list/df", "<!DOCTYPE html><html><body>请开启JavaScript</body></html>")
    report = collect(cfg(site.url))
    assert report.error == (
        f"source liuyan-fz: POST {site.url}/v1/threads/list/df answered text/html; charset=utf-8 that is not JSON: "
        "'<!DOCTYPE html><html><body>请开启JavaScript</body></html>'"
    )


@pytest.mark.parametrize("missing", ["fid"])
def test_config_requires_fid(missing: str) -> None:
    from collectors.config import validate_sources
    from yuqing.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        validate_sources([SourceConfig(id="x", kind="liuyan")], "s.yaml")
    assert err.value.key == "sources.0.fid" and err.value.file == "s.yaml"

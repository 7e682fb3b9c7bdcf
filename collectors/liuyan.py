"""人民网领导留言板 (liuyan.people.com.cn) through the JSON API its web pages use.

Both calls are ``POST`` with the JSON body ``{appCode, token, signature, param}``, where
``param`` is itself a compact JSON string and, as the site's script and public crawlers compute
it, ``signature = md5(path + param + md5(appCode)[:16])``:

- list ``/v1/threads/list/df``, param ``{"fid", "showUnAnswer", "typeId", "lastItem",
  "position", "rows", "orderType"}`` -> ``resultData.data[]`` of threads (``tid``, ``subject``,
  ``createDateline``, ``threadsCheckTime``, ``lastAnswerTime``, ...), newest first; the next
  page is asked for with ``lastItem`` = the last ``tid`` of this page;
- content ``/v1/threads/content``, param ``{"tid", "fromTrash": 0}`` ->
  ``resultData.contentList[]`` where ``dataType`` 1 is the citizen's message and 4 an official
  reply (``content``, ``dateline``, ``organization``, ``nickName``, ``stateInfo``).

State: ``cursor`` (highest thread id collected), ``pending`` (threads collected without a reply,
re-checked ``reply_checks`` per run for ``reply_watch_days``: when the reply arrives the post is
published again with the same id and its ``reply``), ``retry`` (threads whose content call
failed, tried again up to three times).

Paging stops at the first page with no thread newer than the cursor (pinned old threads at the
top of a list therefore do not end paging early), at a short page, or after ``max_pages``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
from pydantic import Field, SecretStr

from collectors.base import Collector, FetchResult
from collectors.config import HttpConfig
from collectors.extract import html_to_text
from collectors.http import fetch, new_client
from yuqing.errors import SourceError
from yuqing.events import PostCollected, Reply
from yuqing.ids import post_id
from yuqing.timeutil import TZ, now, parse_datetime

LIST_PATH = "/v1/threads/list/df"
CONTENT_PATH = "/v1/threads/content"
MESSAGE, REPLY = 1, 4
MAX_RETRIES = 3
MAX_PENDING = 1000


class LiuyanConfig(HttpConfig):
    kind: str = "liuyan"
    url: str = Field("https://liuyan.people.com.cn", description="base URL of the board")
    fid: str = Field(description="forum id of the leader's board (县委书记, 县长 ...), from the board's URL ?fid=")
    app_code: str = Field("PC42ce3bfa4980a9", description="appCode the board's web pages send")
    token: SecretStr = Field(SecretStr(""), description="login token; empty for the public boards")
    type_id: int = Field(5, description="typeId: 5 = all message types")
    show_unanswer: int = Field(1, description="showUnAnswer: 1 = include threads not yet answered")
    order_type: int = Field(2, description="orderType: 2 = newest first")
    position: str = "0"
    rows: int = Field(10, ge=1, le=100, description="threads per list page")
    max_pages: int = Field(5, ge=1, description="list pages read per run at most")
    fetch_content: bool = Field(True, description="call the content API for each thread (full text and official reply)")
    reply_checks: int = Field(20, ge=0, description="unanswered threads re-checked for a reply per run")
    reply_watch_days: float = Field(60, gt=0, description="stop waiting for a reply after this many days")


def md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def signature(path: str, param: str, app_code: str) -> str:
    """``md5(path + param + md5(appCode)[:16])``, as the board's own script signs requests."""
    return md5(path + param + md5(app_code)[:16])


def compact(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def request_body(path: str, param: dict[str, Any], app_code: str, token: str = "") -> bytes:
    """The exact bytes the board's web page posts: compact JSON, ``param`` as a JSON string."""
    p = compact(param)
    return compact({"appCode": app_code, "token": token, "signature": signature(path, p, app_code), "param": p}).encode("utf-8")


def list_param(cfg: LiuyanConfig, last_item: str) -> dict[str, Any]:
    return {
        "fid": cfg.fid,
        "showUnAnswer": cfg.show_unanswer,
        "typeId": cfg.type_id,
        "lastItem": last_item,
        "position": cfg.position,
        "rows": cfg.rows,
        "orderType": cfg.order_type,
    }


def content_param(tid: int | str) -> dict[str, Any]:
    return {"tid": str(tid), "fromTrash": 0}


def _pending(item: dict[str, Any], post: PostCollected, ref: Any) -> dict[str, Any]:
    """What a reply check needs to publish the thread again: the list item (subject, author,
    board) and when the thread was created and last checked."""
    return {"item": item, "created": post.published_at.timestamp(), "checked": ref.timestamp()}


class LiuyanCollector(Collector):
    kind = "liuyan"
    Config = LiuyanConfig
    dedup_text = False  # two citizens writing the same text are two threads

    def _call(self, client: httpx.Client, path: str, param: dict[str, Any]) -> dict[str, Any]:
        cfg: LiuyanConfig = self.config  # type: ignore[assignment]
        url = cfg.url.rstrip("/") + path
        body = request_body(path, param, cfg.app_code, cfg.token.get_secret_value())
        resp = fetch(cfg.id, url, cfg.http_options(), method="POST", body=body, client=client)
        try:
            answer = json.loads(resp.content)
        except ValueError as exc:
            head = " ".join(resp.content[:60].decode("utf-8", "replace").split())
            raise SourceError(cfg.id, f"POST {url} answered {resp.content_type or 'something'} that is not JSON: {head!r}") from exc
        data = answer.get("resultData") if isinstance(answer, dict) else None
        if not isinstance(data, dict):
            code = answer.get("resultCode") if isinstance(answer, dict) else None
            msg = answer.get("resultMsg") if isinstance(answer, dict) else None
            raise SourceError(cfg.id, f"POST {url} answered without resultData (resultCode {code!r}, resultMsg {msg!r})")
        return data

    def fetch(self, state: dict[str, Any]) -> FetchResult:
        cfg: LiuyanConfig = self.config  # type: ignore[assignment]
        result = FetchResult(state=dict(state))
        cursor = int(state.get("cursor") or 0)
        pending: dict[str, dict[str, Any]] = dict(state.get("pending", {}))
        retry: dict[str, dict[str, Any]] = dict(state.get("retry", {}))
        ref = now()
        with new_client(cfg.timeout) as client:
            threads, complete = self._list(client, result, cursor)
            newest = cursor
            for item in threads:
                tid = str(item["tid"])
                post = self._thread(client, result, item, ref, retry)
                newest = max(newest, int(tid))
                if post is None:
                    continue
                result.posts.append(post)
                if post.reply is None and cfg.fetch_content:
                    pending[tid] = _pending(item, post, ref)
            for tid, entry in sorted(retry.items()):
                if any(p.raw.get("tid") == tid for p in result.posts) or tid in {str(t["tid"]) for t in threads}:
                    continue
                post = self._thread(client, result, entry["item"], ref, retry)
                if post is not None:
                    result.posts.append(post)
                    if post.reply is None:
                        pending[tid] = _pending(entry["item"], post, ref)
            if cfg.fetch_content:
                self._check_replies(client, result, pending, ref)
        # An interrupted paging keeps the old cursor so the next run pages again (duplicates are
        # dropped by the service); a thread that failed on its own waits in ``retry`` instead.
        result.state["cursor"] = newest if complete else cursor
        result.state["pending"] = pending
        result.state["retry"] = retry
        return result

    def _list(self, client: httpx.Client, result: FetchResult, cursor: int) -> tuple[list[dict[str, Any]], bool]:
        cfg: LiuyanConfig = self.config  # type: ignore[assignment]
        threads: list[dict[str, Any]] = []
        seen: set[str] = set()
        last_item = ""
        for page in range(cfg.max_pages):
            try:
                data = self._call(client, LIST_PATH, list_param(cfg, last_item))
            except SourceError as exc:
                if page == 0:
                    raise
                self.problem(result, f"list page {page + 1} failed, the rest waits for the next run: {exc.reason}")
                return threads, False
            items = data.get("data")
            if items is None:
                items = []
            if not isinstance(items, list):
                raise SourceError(cfg.id, f"{LIST_PATH}: resultData.data is {type(items).__name__}, not a list")
            fresh = 0
            for item in items:
                tid = item.get("tid") if isinstance(item, dict) else None
                if not isinstance(tid, (int, str)) or not str(tid).isdigit():
                    self.problem(result, f"list page {page + 1}: thread without a numeric tid skipped")
                    continue
                if int(tid) <= cursor or str(tid) in seen:
                    continue
                seen.add(str(tid))
                threads.append(item)
                fresh += 1
            if fresh == 0 or len(items) < cfg.rows:
                return threads, True
            last_item = str(items[-1].get("tid", ""))
        if cursor:
            self.problem(
                result,
                f"{cfg.max_pages} list pages read without reaching the last thread seen before; "
                "older new threads are not collected (raise max_pages)",
            )
        return threads, True

    def _thread(
        self, client: httpx.Client, result: FetchResult, item: dict[str, Any], ref: Any, retry: dict[str, dict[str, Any]]
    ) -> PostCollected | None:
        cfg: LiuyanConfig = self.config  # type: ignore[assignment]
        tid = str(item["tid"])
        contents: list[dict[str, Any]] = []
        if cfg.fetch_content:
            try:
                data = self._call(client, CONTENT_PATH, content_param(tid))
                raw_list = data.get("contentList")
                if not isinstance(raw_list, list):
                    url = cfg.url.rstrip("/") + CONTENT_PATH
                    raise SourceError(cfg.id, f"POST {url}: resultData.contentList missing for thread {tid}")
                contents = [c for c in raw_list if isinstance(c, dict)]
            except SourceError as exc:
                attempts = int(retry.get(tid, {}).get("attempts", 0)) + 1
                if attempts >= MAX_RETRIES:
                    retry.pop(tid, None)
                    self.problem(result, f"thread {tid}: content failed {attempts} times, collected from the list only: {exc.reason}")
                else:
                    retry[tid] = {"item": item, "attempts": attempts}
                    self.problem(result, f"thread {tid}: content failed (attempt {attempts}/{MAX_RETRIES}), retried next run: {exc.reason}")
                    return None
        retry.pop(tid, None)
        return self._post(result, item, contents, ref)

    def _post(self, result: FetchResult, item: dict[str, Any], contents: list[dict[str, Any]], ref: Any) -> PostCollected | None:
        cfg: LiuyanConfig = self.config  # type: ignore[assignment]
        tid = str(item["tid"])
        message = next((c for c in contents if c.get("dataType") == MESSAGE), None)
        replies = [c for c in contents if c.get("dataType") == REPLY and str(c.get("content") or "").strip()]
        title = html_to_text(str(item.get("subject") or ""))
        content = html_to_text(str((message or item).get("content") or ""))
        if not (title or content):
            self.problem(result, f"thread {tid} has neither subject nor content: skipped")
            return None
        created = item.get("createDateline") or item.get("dateline") or (message or {}).get("dateline")
        published = self.when(result, created, ref, f"thread {tid}") if created else ref
        reply = None
        if replies:
            last = max(replies, key=lambda c: parse_datetime(c.get("dateline")) or ref)
            reply = Reply(
                content=html_to_text(str(last["content"])),
                organization=str(last.get("organization") or "") or None,
                replied_at=parse_datetime(last.get("dateline")),
            )
        raw: dict[str, Any] = {"tid": tid, "fid": str(item.get("fid") or cfg.fid)}
        for key in ("forumName", "typeName", "domainName", "stateInfo", "threadsCheckTime", "lastAnswerTime"):
            if item.get(key) not in (None, ""):
                raw[key] = item[key]
        if message and message.get("stateInfo"):
            raw["stateInfo"] = message["stateInfo"]
        if len(replies) > 1:
            raw["reply_count"] = len(replies)
        if not message:
            raw["list_only"] = True  # the list's content may be cut short
        return PostCollected(
            id=post_id(cfg.id, native_id=tid),
            title=title,
            content=content,
            url=f"{cfg.url.rstrip('/')}/threads/content?tid={tid}",
            author=str((message or item).get("nickName") or "") or None,
            published_at=published.astimezone(TZ),
            source=self.source,
            reply=reply,
            raw=raw,
        )

    def _check_replies(self, client: httpx.Client, result: FetchResult, pending: dict[str, dict[str, Any]], ref: Any) -> None:
        cfg: LiuyanConfig = self.config  # type: ignore[assignment]
        horizon = ref.timestamp() - cfg.reply_watch_days * 86400
        for tid in [t for t, p in pending.items() if p.get("created", 0) < horizon]:
            del pending[tid]
        collected = {p.raw.get("tid") for p in result.posts}
        due = sorted((p.get("checked", 0), tid) for tid, p in pending.items() if tid not in collected)
        for _, tid in due[: cfg.reply_checks]:
            pending[tid]["checked"] = ref.timestamp()
            try:
                data = self._call(client, CONTENT_PATH, content_param(tid))
            except SourceError as exc:
                self.problem(result, f"thread {tid}: reply check failed: {exc.reason}")
                continue
            contents = [c for c in data.get("contentList") or [] if isinstance(c, dict)]
            if not any(c.get("dataType") == REPLY and str(c.get("content") or "").strip() for c in contents):
                continue
            post = self._post(result, pending[tid]["item"], contents, ref)
            if post is not None:
                result.posts.append(post)
                del pending[tid]
        while len(pending) > MAX_PENDING:
            del pending[min(pending, key=lambda t: pending[t].get("created", 0))]

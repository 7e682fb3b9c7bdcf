"""Local stand-ins for the sites collectors talk to, over real HTTP on 127.0.0.1.

For the demo (which has no internet), the benchmark and tests, ours and our users': a
``FakeSite`` is a threaded ``http.server`` on ``127.0.0.1`` and a free port that answers

- static routes with exact bytes and headers (feeds, board pages, article pages), with an
  ETag/Last-Modified answered by 304, and scripted faults: a status, a body cut short, a delay,
  an answer dripped one byte at a time;
- the 领导留言板 API (``add_liuyan``) in its real format: it checks the request body
  ``{appCode, token, signature, param}`` and the signature exactly as the real server does,
  pages with ``lastItem`` and answers ``resultData.data`` / ``resultData.contentList``.

Every request is recorded in ``site.requests`` for exact-payload assertions.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from collectors.liuyan import CONTENT_PATH, LIST_PATH, signature


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Faults: declare a longer Content-Length and close early; wait before answering; send the
    # whole answer (status line, headers, body) one byte every ``drip`` seconds.
    truncate_to: int | None = None
    delay: float = 0.0
    drip: float = 0.0


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


Handler = Callable[[Request], Reply]


class FakeSite:
    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- routes -----------------------------------------------------------------------------
    def add(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    def add_static(
        self,
        path: str,
        body: bytes | str,
        content_type: str = "text/html; charset=utf-8",
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        status: int = 200,
    ) -> None:
        """``path`` may include a query (``/list?page=2``): routes match path and query exactly."""
        data = body.encode("utf-8") if isinstance(body, str) else body

        def handler(req: Request) -> Reply:
            headers = {"Content-Type": content_type}
            if etag:
                headers["ETag"] = etag
                if req.headers.get("if-none-match") == etag:
                    return Reply(304, b"", headers)
            if last_modified:
                headers["Last-Modified"] = last_modified
                if req.headers.get("if-modified-since") == last_modified:
                    return Reply(304, b"", headers)
            return Reply(status, data, headers)

        self.add(path, handler)

    def add_sequence(self, path: str, replies: Sequence[Reply]) -> None:
        """Answer with ``replies`` in turn; the last one repeats (retries, flaky servers)."""
        queue = list(replies)

        def handler(req: Request) -> Reply:
            with self._lock:
                return queue.pop(0) if len(queue) > 1 else queue[0]

        self.add(path, handler)

    def add_liuyan(self, threads: list[dict[str, Any]], *, app_code: str = "PC42ce3bfa4980a9") -> LiuyanBoard:
        board = LiuyanBoard(threads, app_code)
        self.add(LIST_PATH, board.list)
        self.add(CONTENT_PATH, board.content)
        return board

    # -- server -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeSite not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeSite:
        site = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read site.requests
                pass

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes: without this, Nagle's algorithm and the
                # client's delayed ACK add 40 ms to every keep-alive request.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _serve(self) -> None:
                parts = urlsplit(str(self.path))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                req = Request(self.command, parts.path, parts.query, {k.lower(): v for k, v in self.headers.items()}, body)
                with site._lock:
                    site.requests.append(req)
                handler = site.routes.get(f"{parts.path}?{parts.query}" if parts.query else parts.path) or site.routes.get(parts.path)
                reply = handler(req) if handler else Reply(404, b"not found", {"Content-Type": "text/plain"})
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drip:
                    head = f"HTTP/1.1 {reply.status} X\r\n" + "".join(f"{k}: {v}\r\n" for k, v in reply.headers.items())
                    raw = (head + f"Content-Length: {len(reply.body)}\r\nConnection: close\r\n\r\n").encode("latin-1") + reply.body
                    self.close_connection = True
                    try:
                        for i in range(len(raw)):
                            self.wfile.write(raw[i : i + 1])
                            self.wfile.flush()
                            time.sleep(reply.drip)
                    except OSError:
                        pass  # the client gave up, as it should
                    return
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                if reply.truncate_to is not None:
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(reply.body[: reply.truncate_to])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply.body)

            do_GET = do_POST = do_HEAD = _serve

        class _Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client hanging up (timeouts, size limits) is what fault tests do on purpose

        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fake-site", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _json(obj: Any) -> Reply:
    return Reply(200, json.dumps(obj, ensure_ascii=False).encode("utf-8"), {"Content-Type": "application/json;charset=UTF-8"})


class LiuyanBoard:
    """The two API calls of the 领导留言板 over fixture threads ``[{"list": {...}, "content": [...]}]``.

    Rejects (``resultCode`` 403, no ``resultData``) any request whose body is not exactly
    ``{appCode, token, signature, param}`` with the signature ``md5(path + param + md5(appCode)[:16])``.
    ``threads`` may be changed while serving (a reply arriving, a new thread)."""

    def __init__(self, threads: list[dict[str, Any]], app_code: str) -> None:
        self.threads = threads
        self.app_code = app_code
        self.rejected: list[str] = []

    def _check(self, req: Request, path: str) -> dict[str, Any] | Reply:
        try:
            body = json.loads(req.body)
        except ValueError:
            return self._reject("body is not JSON")
        if req.method != "POST" or not isinstance(body, dict) or set(body) != {"appCode", "token", "signature", "param"}:
            return self._reject(f"bad request shape: {sorted(body) if isinstance(body, dict) else type(body).__name__}")
        if body["appCode"] != self.app_code:
            return self._reject("unknown appCode")
        if not isinstance(body["param"], str) or body["signature"] != signature(path, body["param"], body["appCode"]):
            return self._reject("signature mismatch")
        try:
            param = json.loads(body["param"])
        except ValueError:
            return self._reject("param is not a JSON string")
        return param if isinstance(param, dict) else self._reject("param is not an object")

    def _reject(self, why: str) -> Reply:
        self.rejected.append(why)
        return _json({"resultCode": 403, "resultMsg": f"非法请求：{why}", "resultData": None})

    def list(self, req: Request) -> Reply:
        param = self._check(req, LIST_PATH)
        if isinstance(param, Reply):
            return param
        rows = int(param.get("rows") or 10)
        items = sorted(
            (t["list"] for t in self.threads if str(t["list"].get("fid")) == str(param.get("fid"))),
            key=lambda i: int(i["tid"]),
            reverse=True,
        )
        last = str(param.get("lastItem") or "")
        if last:
            items = [i for i in items if int(i["tid"]) < int(last)]
        return _json({"resultCode": 200, "resultMsg": "成功", "resultData": {"data": items[:rows]}})

    def content(self, req: Request) -> Reply:
        param = self._check(req, CONTENT_PATH)
        if isinstance(param, Reply):
            return param
        tid = str(param.get("tid"))
        for t in self.threads:
            if str(t["list"]["tid"]) == tid:
                return _json({"resultCode": 200, "resultMsg": "成功", "resultData": {"contentList": t["content"]}})
        return _json({"resultCode": 404, "resultMsg": "留言不存在", "resultData": None})

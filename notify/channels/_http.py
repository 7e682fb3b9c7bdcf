"""The one way HTTP channels post JSON: a kept-alive httpx client, errors as DeliveryResults.

Robot APIs (钉钉, 企业微信, 飞书) answer HTTP 200 with an error code in the body, so the body is
judged by the channel; transport errors and 5xx/429 are retryable, other 4xx are not.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import httpx

from notify.base import DeliveryResult

# Robot webhooks carry their credential in the URL (access_token, key, hook token), and httpx
# logs every request URL at INFO: keep that logger quiet so no token reaches a log file.
logging.getLogger("httpx").setLevel(logging.WARNING)


class JsonPoster:
    def __init__(self, timeout: float, user_agent: str = "yuqing-alerts/0.1") -> None:
        self.timeout = timeout
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()
        self._user_agent = user_agent

    def _get(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=self.timeout, headers={"User-Agent": self._user_agent}, follow_redirects=False)
            return self._client

    def post(self, url: str, payload: Any, headers: dict[str, str] | None = None) -> tuple[httpx.Response | None, DeliveryResult | None]:
        """(response, None) when the server answered 2xx; (response or None, failure) otherwise."""
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return self.post_bytes(url, body, headers)

    def post_bytes(
        self, url: str, body: bytes, headers: dict[str, str] | None = None
    ) -> tuple[httpx.Response | None, DeliveryResult | None]:
        hdrs = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        try:
            resp = self._get().post(url, content=body, headers=hdrs)
        except httpx.TimeoutException:
            return None, DeliveryResult(False, f"timeout after {self.timeout:g}s", retryable=True)
        except httpx.HTTPError as exc:
            # The exception text can carry the URL (with its token): the caller scrubs it.
            return None, DeliveryResult(False, f"{type(exc).__name__}: {exc}", retryable=True)
        if 200 <= resp.status_code < 300:
            return resp, None
        retryable = resp.status_code >= 500 or resp.status_code in (408, 429)
        return resp, DeliveryResult(False, f"HTTP {resp.status_code}: {resp.text[:200]}", retryable=retryable)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def json_body(resp: httpx.Response) -> dict[str, Any]:
    try:
        data = resp.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def errcode_result(resp: httpx.Response, retryable_codes: set[int]) -> DeliveryResult:
    """The answer of a robot webhook that reports in ``errcode``/``errmsg`` (钉钉, 企业微信): HTTP 200
    does not mean delivered; ``errcode`` 0 does, and only the listed codes (rate limits, busy) are
    worth another attempt."""
    body = json_body(resp)
    code = body.get("errcode", 0)
    if code == 0:
        return DeliveryResult(True, f"HTTP {resp.status_code} errcode 0")
    return DeliveryResult(False, f"errcode {code}: {body.get('errmsg', '')}"[:300], retryable=code in retryable_codes)

"""The ledger's web service: server-rendered Chinese pages for staff, a REST API with OpenAPI for
other systems, and the public disclosure page and feeds.

Authentication: a signed session cookie after sign-in (argon2 passwords), or ``Authorization:
Bearer <token>`` for the API. A request that carries a bearer token is judged by the token alone.
The cookie carries a random session token whose row in ``ledger_sessions`` makes it valid: sign-out,
a password change or reset and deactivation delete the rows, and the session ends at once in this
process, within ``ledger.auth_cache_seconds`` in other workers (``ledger.accounts.ActorCache``).
CSRF: every state-changing request authenticated by the cookie must carry the session's CSRF
token, in the ``csrf_token`` form field or the ``X-CSRF-Token`` header; bearer requests carry no
ambient credential and are exempt.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from ledger.errors import LedgerError
from ledger.security import LoginLimiter, new_csrf_token, same_token
from ledger.service import LedgerService
from ledger.states import CASE_LABELS, COMMITMENT_LABELS, ROLE_LABELS, Actor
from ledger.validation import describe_errors
from yuqing.store import Store

if TYPE_CHECKING:
    from alerts.store import AlertStore

log = logging.getLogger("ledger.web")
TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
# No inline script anywhere (nor javascript: links): script only from this site's own files.
# Inline style is allowed (the templates carry their CSS; style cannot run code).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
MAX_MESSAGE = 300  # characters of an error message echoed back (inputs may be megabytes)
MAX_TEXT_BODY = 2 * 1024 * 1024  # bytes of a request that is not an upload
SESSION_COOKIE = "yuqing_ledger"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class LoginRequired(Exception):
    pass


class CsrfRefused(Exception):
    pass


def _calendar_warning() -> str | None:
    """From December on, while next year's holiday schedule is unknown (deadlines would count
    Monday to Friday): the warning for the staff who can act on it."""
    from yuqing.timeutil import now
    from yuqing.workdays import schedule_warning

    return schedule_warning(now().date())


def templates() -> Jinja2Templates:
    t = Jinja2Templates(directory=str(TEMPLATES))
    t.env.globals.update(
        case_labels={k.value: v for k, v in CASE_LABELS.items()},
        commitment_labels={k.value: v for k, v in COMMITMENT_LABELS.items()},
        role_labels={k.value: v for k, v in ROLE_LABELS.items()},
        event_labels=event_labels(),
        alert_title=alert_title,
        calendar_warning=_calendar_warning,
    )
    t.env.filters["dt"] = lambda d, fmt="%Y-%m-%d %H:%M": d.strftime(fmt) if d else ""
    return t


def alert_title(title: str, rule: str, labels: dict[str, Any]) -> str:
    from web.guide import alert_title as titled

    return titled(title, rule, labels)


def event_labels() -> dict[str, str]:
    """Chinese names of audited events, for the 办理记录 table."""
    from ledger.states import CASE_RULES, COMMITMENT_RULES

    labels = {r.event: r.label for r in (*CASE_RULES.values(), *COMMITMENT_RULES.values())}
    labels.update(
        {
            "case.created": "登记",
            "case.fulfilled": "承诺全部落实",
            "case.disclosed": "承诺全部公开",
            "case.overdue": "超期督办提醒",
            "case.reminded": "到期提醒",
            "commitment.overdue": "承诺超期提醒",
            "commitment.reminded": "承诺到期提醒",
        }
    )
    labels["case.tracking"] = "转入承诺落实"
    return labels


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = new_csrf_token()
    return str(token)


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def csrf_protect(request: Request) -> None:
    """App-wide dependency: refuses cookie-authenticated state changes without the session's token."""
    if request.method in ("GET", "HEAD", "OPTIONS") or "authorization" in request.headers:
        return
    if _is_api(request) and "sid" not in request.session:
        return  # no session identity to ride on: the API answers 401 itself
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not same_token(request.session.get("csrf"), sent):
        raise CsrfRefused()


def current_actor(request: Request) -> Actor | None:
    cached = getattr(request.state, "actor", False)
    if cached is not False:
        return cast("Actor | None", cached)
    service: LedgerService = request.app.state.service
    token = _bearer(request)
    actor: Actor | None = None
    if token is not None:
        actor = service.actor_for_token(token, kept=True)
    elif "authorization" not in request.headers and isinstance(request.session.get("sid"), str):
        actor = service.actor_for_session(request.session["sid"], kept=True)
    request.state.actor = actor
    return actor


def require_actor(request: Request) -> Actor:
    actor = current_actor(request)
    if actor is None:
        raise LoginRequired()
    return actor


async def require_actor_async(request: Request) -> Actor:
    """``require_actor`` as an async dependency: a sign-in answer kept in this process
    (``ledger.accounts.ActorCache``) is taken on the event loop; only a database lookup goes to a
    worker thread (one thread hop fewer per API call)."""
    actor = getattr(request.state, "actor", False)
    if actor is False:
        actor = _kept_actor(request)
        if actor is None:
            return await run_in_threadpool(require_actor, request)
        request.state.actor = actor
    if actor is None:
        raise LoginRequired()
    return cast("Actor", actor)


def _kept_actor(request: Request) -> Actor | None:
    """The request's user if this process keeps the answer for its credential, else None."""
    accounts = request.app.state.service.accounts
    token = _bearer(request)
    if token is not None:
        return accounts.kept_actor(token=token)  # type: ignore[no-any-return]
    sid = request.session.get("sid") if "authorization" not in request.headers else None
    return accounts.kept_actor(session=sid) if isinstance(sid, str) else None


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def create_app(
    service: LedgerService, *, store: Store | None = None, alerts: AlertStore | None = None, secret_key: str | None = None
) -> FastAPI:
    """The ASGI app. ``store`` (optional) lists events to open cases from; without it that page is
    empty. ``alerts`` (optional) is where the alert engine keeps its alerts (``alert_*`` tables);
    without it the alert pages say so."""
    from web import alert_pages, api, briefing_pages, pages, public, timeliness_pages

    cfg = service.config
    app = FastAPI(
        title="yuqing 舆情回应台账 API",
        version="1",
        description="Cases (台账条目) and commitments (承诺事项) of the public-opinion response ledger. "
        "Authenticate with `Authorization: Bearer <token>` (tokens are issued by an administrator).",
        docs_url=None,  # served below with local assets: the page must work offline and under the CSP
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        openapi_url="/api/openapi.json",
        dependencies=[Depends(csrf_protect)],
    )
    app.state.service = service
    app.state.store = store
    app.state.alerts = alerts
    app.state.briefings = None  # briefings.runs.Archive, set by `yuqing run`
    app.state.limiter = LoginLimiter(service.db, cfg.login_max_failures, cfg.login_window_seconds)
    app.state.templates = templates()
    key = secret_key or (cfg.secret_key.get_secret_value() if cfg.secret_key else None) or service.meta("session_secret", new_csrf_token)
    app.add_middleware(
        SessionMiddleware,
        secret_key=key,
        session_cookie=SESSION_COOKIE,
        max_age=int(cfg.session_hours * 3600),
        same_site="lax",
        https_only=cfg.cookie_secure is True,
    )
    max_body = cfg.max_upload_bytes * 5 + 1024 * 1024

    app.add_middleware(LimitsAndHeaders, max_body=max_body, secure_on_https=cfg.cookie_secure is None)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        if _is_api(request):
            return JSONResponse(
                {"detail": "未登录或令牌无效", "error": "Unauthorized"}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused) -> Response:
        msg = "安全校验失败（CSRF），请刷新页面后重试"
        if _is_api(request):
            return JSONResponse({"detail": msg, "error": "CsrfRefused"}, status_code=403)
        return error_page(request, msg, 403)

    @app.exception_handler(LedgerError)
    async def _ledger_error(request: Request, exc: LedgerError) -> Response:
        message = _short(str(exc))
        if _is_api(request):
            body: dict[str, Any] = {"detail": message, "error": type(exc).__name__}
            if getattr(exc, "field", None):
                body["field"] = _short(str(exc.field), 60)  # type: ignore[attr-defined]
            return JSONResponse(body, status_code=exc.status)
        return error_page(request, message, exc.status)

    @app.exception_handler(DBAPIError)
    async def _database_down(request: Request, exc: DBAPIError) -> Response:
        # A lost connection (PostgreSQL restarting, a network cut) is temporary: say so with 503
        # and Retry-After rather than a 500. The request's transaction was rolled back unless the
        # connection broke during COMMIT itself, hence "refresh and check".
        if not exc.connection_invalidated and not isinstance(exc, OperationalError | InterfaceError):
            raise exc
        log.warning("ledger: database unavailable for %s %s: %s", request.method, request.url.path, str(exc.orig).splitlines()[0][:200])
        msg = "数据库暂时无法连接，请稍后刷新页面，确认操作是否已保存后再试"
        if _is_api(request):
            return JSONResponse({"detail": msg, "error": "DatabaseUnavailable"}, status_code=503, headers={"Retry-After": "10"})
        page = error_page(request, msg, 503)
        page.headers["Retry-After"] = "10"
        return page

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        # Never exc.errors() as it is: it echoes the input (megabytes, maybe) and may hold exception
        # objects that are not JSON (a 500 instead of a 422).
        errors = describe_errors(exc.errors())
        if _is_api(request):
            return JSONResponse({"detail": errors, "error": "InvalidInput"}, status_code=422)
        first = errors[0]["msg"] if errors else "内容有误"
        return error_page(request, f"提交的内容有误：{first}", 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = HTTP_MESSAGES.get(exc.status_code, f"请求未能完成（{exc.status_code}）")
        headers = dict(exc.headers or {})
        if _is_api(request):
            return JSONResponse({"detail": message, "error": f"HTTP{exc.status_code}"}, status_code=exc.status_code, headers=headers)
        response = error_page(request, message, exc.status_code)
        response.headers.update(headers)
        return response

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("ledger web: %s %s failed", request.method, request.url.path)
        message = "服务器内部错误，已记录。请稍后重试，或联系系统管理员"
        if _is_api(request):
            return JSONResponse({"detail": message, "error": "InternalError"}, status_code=500)
        return error_page(request, message, 500)

    @app.get("/api/docs", include_in_schema=False)
    def _docs() -> HTMLResponse:
        return HTMLResponse(SWAGGER_PAGE)

    import swagger_ui_bundle

    app.mount("/api/docs/assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger-ui")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    # Styles (and any script) come from files, so the Content-Security-Policy need allow no inline code.
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.include_router(public.router)
    app.include_router(api.router)
    app.include_router(pages.router)
    from web import alert_live, workbench

    app.include_router(workbench.router)
    app.include_router(alert_live.router)  # before alert_pages: /alerts/stream is no alert id
    app.include_router(alert_pages.router)
    app.include_router(briefing_pages.router)
    app.include_router(timeliness_pages.router)
    from web import scheme_pages

    app.include_router(scheme_pages.router)
    from web import policy_pages

    app.include_router(policy_pages.router)
    from web import post_pages, quality_pages

    app.include_router(post_pages.api_router)
    app.include_router(post_pages.router)
    app.include_router(quality_pages.router)
    return app


HTTP_MESSAGES = {
    400: "请求有误",
    401: "未登录或令牌无效",
    403: "无权访问",
    404: "页面不存在，请检查地址",
    405: "不支持这种请求方式",
    413: "请求过大",
    429: "请求过于频繁，请稍后再试",
}
SWAGGER_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>yuqing 舆情回应台账 API</title>
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script>
</body></html>
"""


def _short(text: str, limit: int = MAX_MESSAGE) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


class LimitsAndHeaders:
    """Refuses oversized bodies before they are read; adds the usual protective headers and the
    Content-Security-Policy; marks cookies ``Secure`` on https requests when ``secure_on_https``.
    Plain ASGI (not BaseHTTPMiddleware): it sits on every request, so it should cost nothing."""

    def __init__(self, app: Any, max_body: int, secure_on_https: bool = True) -> None:
        self.app = app
        self.max_body = max_body
        self.secure_on_https = secure_on_https

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length", b"")
        # Only uploads (multipart) may be large; forms and JSON are text typed in or sent by a system.
        limit = self.max_body if headers.get(b"content-type", b"").startswith(b"multipart/") else min(self.max_body, MAX_TEXT_BODY)

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("Content-Security-Policy", CSP)
                if self.secure_on_https and scope.get("scheme") == "https":
                    cookies = headers.getlist("set-cookie")
                    if cookies:
                        del headers["set-cookie"]
                        for c in cookies:
                            headers.append("set-cookie", c if "; secure" in c.lower() else c + "; secure")
            await send(message)

        if length.isdigit() and int(length) > limit:
            await PlainTextResponse(f"请求过大（上限 {limit // 1024} KB）", status_code=413)(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)


def _back(request: Request) -> str:
    """Where 返回上一页 leads: the referring page of this site (no script: the CSP forbids inline script)."""
    parts = urlsplit(request.headers.get("referer", ""))
    same = parts.netloc == request.url.netloc and parts.scheme in ("http", "https")
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return path if same and path.startswith("/") and not path.startswith("//") else "/cases"


def error_page(request: Request, message: str, status: int) -> HTMLResponse:
    t: Jinja2Templates = request.app.state.templates
    return t.TemplateResponse(
        request,
        "error.html",
        {
            "message": message,
            "status": status,
            "actor": getattr(request.state, "actor", None),
            "csrf": csrf_token(request),
            "back": _back(request),
        },
        status_code=status,
    )

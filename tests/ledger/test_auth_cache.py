"""The web process's sign-in cache (``ledger.accounts.ActorCache``, issue 9): sign-out, deactivation,
a password reset and token revocation end access at once in the process that made the change, and in
another process (a second uvicorn worker: its own service, same database) within
``ledger.auth_cache_seconds``. The other process's clock is a stand-in moved by the test, so the
test does not wait."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from ledger.service import LedgerService
from ledger.states import SYSTEM, Actor
from tests.ledger.conftest import Client, Env
from web import create_app


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def other(env: Env) -> Iterator[tuple[LedgerService, Clock, object]]:
    """A second web process on the same database: its own service (and so its own cache) and app."""
    svc = LedgerService(env.db, env.svc.config)
    clock = Clock()
    svc.accounts.actor_cache.clock = clock
    app = create_app(svc, secret_key="test-secret")  # the same signing key as env.app: cookies carry over
    yield svc, clock, app


def _user(env: Env, name: str) -> Actor:
    user = env.svc.create_user(SYSTEM, f"{name}{env.backend}", "lamp-harbour-91", "leader")
    actor = env.svc.actor(user.id)
    assert actor is not None
    return actor


def _signed_in(env: Env, app: object, username: str) -> Client:
    c = Client(env.portal, env.app)
    assert c.login(username, "lamp-harbour-91").status_code == 303
    there = Client(env.portal, app)
    there._c.cookies = httpx.Cookies(c._c.cookies)
    return there


def test_the_web_app_keeps_sign_in_answers_and_a_change_empties_them(env: Env) -> None:
    actor = _user(env, "kept")
    token = env.svc.issue_token(SYSTEM, actor.user_id, "matrix-kept")
    c = Client(env.portal, env.app, token=token)
    cache = env.svc.accounts.actor_cache
    assert c.get("/api/v1/me").json()["username"] == actor.username
    assert len(cache) == 1 and env.svc.accounts.kept_actor(token=token) == actor  # kept: the next call asks no query
    assert c.get("/api/v1/me").status_code == 200
    env.svc.revoke_token(SYSTEM, next(t.id for t in env.svc.list_tokens(SYSTEM) if t.name == "matrix-kept"))
    assert len(cache) == 0
    assert c.get("/api/v1/me").status_code == 401  # at once, in this process
    assert len(cache) == 0  # a refused credential is not kept
    assert env.client(None).get("/api/v1/me", headers={"Authorization": "Bearer yql_not-a-token"}).status_code == 401
    assert len(cache) == 0


def test_sign_out_deactivation_and_revocation_take_effect_at_once_in_the_same_process(env: Env) -> None:
    actor = _user(env, "same")
    cache = env.svc.accounts.actor_cache
    # sign-out: a copy of the cookie (stolen, or another tab) is refused on the next request
    c = _signed_in(env, env.app, actor.username)
    copy = Client(env.portal, env.app)
    copy._c.cookies = httpx.Cookies(c._c.cookies)
    assert copy.get("/cases").status_code == 200 and len(cache) >= 1
    c.form("/logout")
    assert copy.get("/cases").status_code == 303 and copy.get("/api/v1/me").status_code == 401
    # deactivation: both the session and the token
    c = _signed_in(env, env.app, actor.username)
    token = env.svc.issue_token(SYSTEM, actor.user_id, "matrix-same")
    api = Client(env.portal, env.app, token=token)
    assert c.get("/cases").status_code == 200 and api.get("/api/v1/me").status_code == 200
    assert env.svc.accounts.kept_actor(token=token) == actor
    env.svc.set_user_active(SYSTEM, actor.user_id, False)
    assert c.get("/cases").status_code == 303 and api.get("/api/v1/me").status_code == 401
    env.svc.set_user_active(SYSTEM, actor.user_id, True)
    # revocation of the token
    assert api.get("/api/v1/me").status_code == 200
    env.svc.revoke_token(SYSTEM, next(t.id for t in env.svc.list_tokens(SYSTEM) if t.name == "matrix-same"))
    assert api.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize("change", ["sign-out", "deactivation", "password reset", "token revocation"])
def test_another_process_follows_within_the_configured_seconds(env: Env, other: tuple[LedgerService, Clock, object], change: str) -> None:
    svc2, clock, app2 = other
    seconds = env.svc.config.auth_cache_seconds
    assert seconds > 0
    actor = _user(env, f"other{change.split()[0].replace('-', '')}")
    there = _signed_in(env, app2, actor.username)  # the cookie, used on the other process
    token = env.svc.issue_token(SYSTEM, actor.user_id, f"matrix-other-{change}")
    api = Client(env.portal, app2, token=token)
    assert there.get("/cases").status_code == 200 and api.get("/api/v1/me").status_code == 200
    if change == "sign-out":
        here = Client(env.portal, env.app)
        here._c.cookies = httpx.Cookies(there._c.cookies)
        assert here.form("/logout").status_code == 303
    elif change == "deactivation":
        env.svc.set_user_active(SYSTEM, actor.user_id, False)
    elif change == "password reset":
        env.svc.set_password(SYSTEM, actor.user_id, "another-lamp-92")
    else:
        env.svc.revoke_token(SYSTEM, next(t.id for t in env.svc.list_tokens(SYSTEM) if t.name == f"matrix-other-{change}"))
    ended_session = change != "token revocation"
    ended_token = change in ("deactivation", "token revocation")
    # within the configured seconds the other process may still answer from what it keeps ...
    clock.t += seconds * 0.9
    assert there.get("/cases").status_code == 200 and api.get("/api/v1/me").status_code == 200
    # ... and not after them
    clock.t += seconds * 0.11
    assert there.get("/cases").status_code == (303 if ended_session else 200)
    assert api.get("/api/v1/me").status_code == (401 if ended_token else 200)
    # the service's own lookups (not the web app's) never take a kept answer
    assert (svc2.accounts.actor_for_token(token) is None) == ended_token


def test_an_answer_read_while_accounts_changed_is_not_kept(env: Env) -> None:
    actor = _user(env, "race")
    token = env.svc.issue_token(SYSTEM, actor.user_id, "matrix-race")
    cache = env.svc.accounts.actor_cache
    generation = cache.generation  # a lookup starts and reads the user ...
    env.svc.revoke_token(SYSTEM, next(t.id for t in env.svc.list_tokens(SYSTEM) if t.name == "matrix-race"))
    cache.put("t:x", actor, None, generation)  # ... and would keep what it read after the revocation committed
    assert len(cache) == 0 and env.svc.accounts.actor_for_token(token, kept=True) is None


def test_zero_seconds_keeps_nothing(env: Env) -> None:
    actor = _user(env, "zero")
    token = env.svc.issue_token(SYSTEM, actor.user_id, "matrix-zero")
    env.svc.config = env.svc.config.model_copy(update={"auth_cache_seconds": 0})
    assert Client(env.portal, env.app, token=token).get("/api/v1/me").status_code == 200
    assert len(env.svc.accounts.actor_cache) == 0

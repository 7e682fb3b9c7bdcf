"""Concurrent updates of one case through a real server: real threads, real HTTP connections; all
send the version they read, exactly one wins and every other gets 409."""

from __future__ import annotations

import threading

import httpx

from ledger.states import SYSTEM
from tests.ledger.conftest import Env

N = 8


def _race(url: str, token: str, path: str, body: dict[str, object]) -> list[int]:
    barrier = threading.Barrier(N)
    codes: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
            c.get("/healthz")  # connect first, so the race is about the update, not the handshake
            barrier.wait()
            code = c.post(path, json=body).status_code
        with lock:
            codes.append(code)

    threads = [threading.Thread(target=worker) for _ in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return sorted(codes)


def test_one_of_many_concurrent_case_updates_wins(env: Env, live_server: str) -> None:
    case = env.case("in_progress")
    codes = _race(
        live_server,
        env.world.tokens["monitor"],
        f"/api/v1/cases/{case.id}/actions",
        {"action": "supervise", "version": case.version, "note": "请加快办理"},
    )
    assert codes == [200] + [409] * (N - 1)
    after = env.svc.get_case(SYSTEM, case.id)
    assert (after.version, after.supervise_count) == (case.version + 1, 1)
    assert [a.action for a in env.svc.audit(SYSTEM, case.id)].count("supervise") == 1


def test_one_of_many_concurrent_commitment_updates_wins(env: Env, live_server: str) -> None:
    case = env.case("fulfilling")
    com = case.commitments[0]
    codes = _race(
        live_server,
        env.world.tokens["unit"],
        f"/api/v1/commitments/{com.id}/actions",
        {"action": "fulfil", "version": com.version, "fulfilment": "已整改完毕"},
    )
    assert codes == [200] + [409] * (N - 1)
    after = env.svc.get_case(SYSTEM, case.id)
    assert (after.status, after.commitments[0].status, after.commitments[0].version) == ("fulfilled", "fulfilled", com.version + 1)
    assert [a.event for a in env.svc.audit(SYSTEM, case.id)][-2:] == ["commitment.fulfilled", "case.fulfilled"]

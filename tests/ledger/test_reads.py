"""The lean reads of ``ledger.reads`` (issue 9, web app speed) answer what the ORM reads answer: the
same cases, order, totals and every field of the API's ``CaseOut`` (co-units, commitments with
their units and attachments), for each role and filter, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from ledger import reads
from ledger.schemas import CaseAction, CaseOut, CommitmentAction, NewCase
from ledger.uploads import check_upload
from tests.ledger.conftest import Env
from tests.ledger.test_authz import PDF

FILTERS: list[dict[str, Any]] = [
    {},
    {"limit": 3},
    {"limit": 3, "offset": 3},
    {"limit": 5, "offset": 50},  # past the end: the total still comes
    {"status": "assigned"},
    {"status": "fulfilling"},
    {"overdue": True},
    {"overdue": False},
    {"text": "黑臭"},
    {"text": "100%_"},  # LIKE wildcards match only themselves
    {"sort": "deadline"},
    {"sort": "deadline", "limit": 2, "offset": 1},
]


def _world(env: Env) -> None:
    mon = env.world.actors["monitor"]
    env.case("pending", title="待交办的一件")
    a = env.world.actors
    env.svc.create_case(
        mon,
        NewCase(
            title="河道黑臭",
            summary="两家协办",
            source="12345",
            case_type="投诉",
            unit_id=a["unit"].unit_id,
            co_unit_ids=[a["other_unit"].unit_id],
        ),
    )
    env.case("in_progress", title="办理中")
    env.case("responded", title="已回复：黑臭水体")
    c = env.case("fulfilling", title="承诺落实中")
    env.case("closed", title="已办结")
    env.case("assigned", unit="other_unit", title="另一单位的 100%_ 案件")
    # a commitment with evidence files, fulfilled: attachments travel with the list
    c = env.case("fulfilling", title="带佐证材料")
    m = c.commitments[0]
    upload = check_upload("整改报告.pdf", PDF, allowed=["pdf"], max_bytes=65536)
    env.svc.act_on_commitment(
        env.world.actors["unit"], m.id, CommitmentAction(action="fulfil", version=m.version, fulfilment="已清淤"), files=[upload]
    )
    c = env.svc.get_case(mon, c.id)
    assert c.commitments[0].attachments, "the world needs an attachment"
    late = env.case("assigned", title="已超期")
    env.svc.act(mon, late.id, CaseAction(action="supervise", version=late.version, note="请加快"))


def _api(items: list[Any], overdue: list[bool]) -> list[dict[str, Any]]:
    out = (
        CaseOut.of(c, overdue=o) if hasattr(c, "__table__") else reads.case_out(c, overdue=o) for c, o in zip(items, overdue, strict=True)
    )
    return [c.model_dump() for c in out]


@pytest.mark.parametrize("who", ["monitor", "unit", "other_unit", "leader"])
def test_the_lean_case_page_answers_as_list_cases(env: Env, who: str) -> None:
    _world(env)
    actor = env.world.actors[who]
    at = env.svc.clock() + timedelta(days=30)  # past the replies' deadlines: some cases are overdue
    env.svc.clock = lambda: at
    if who == "monitor":  # a comparison over a world without late cases, files or co-units would prove little
        page = reads.case_page(env.svc, actor, limit=50)
        assert page.total == 9 and any(reads.is_overdue(c, at) for c in page.items)
        assert any(m.attachments for c in page.items for m in c.commitments) and any(c.co_units for c in page.items)
    for f in FILTERS:
        old = env.svc.list_cases(actor, **f)
        new = reads.case_page(env.svc, actor, at=at, **f)
        assert new.total == old.total, f
        assert [c.id for c in new.items] == [c.id for c in old.items], f
        want = _api(old.items, [env.svc.is_overdue(c, at) for c in old.items])
        got = _api(new.items, [reads.is_overdue(c, at) for c in new.items])
        assert got == want, f
        narrow = reads.case_page(env.svc, actor, at=at, narrow=True, **f)
        assert [c.id for c in narrow.items] == [c.id for c in old.items], f
        for o, n in zip(old.items, narrow.items, strict=True):
            assert (n.title, n.status, n.unit.name if n.unit else None) == (o.title, o.status, o.unit.name if o.unit else None)
            assert [(m.seq, m.status, m.content, m.due_at) for m in n.commitments] == [
                (m.seq, m.status, m.content, m.due_at) for m in o.commitments
            ]
            assert reads.is_overdue(n, at) == env.svc.is_overdue(o, at)


def test_bad_filters_are_refused_with_their_field(env: Env) -> None:
    mon = env.world.actors["monitor"]
    with pytest.raises(Exception, match="未知状态") as e:
        reads.case_page(env.svc, mon, status="nonsense")
    assert getattr(e.value, "field", None) == "status"
    with pytest.raises(Exception, match="未知排序") as e:
        reads.case_page(env.svc, mon, sort="random")
    assert getattr(e.value, "field", None) == "sort"

"""REST API (``/api/v1``) for other systems: 12345 platforms create cases, units update theirs with
their API tokens. Every answer is JSON; errors are ``{"detail": ..., "error": ...}`` with the
status of ``ledger.errors``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from fastapi.security import HTTPBearer
from pydantic import BaseModel

from ledger import reads
from ledger.schemas import AuditOut, CaseAction, CaseList, CaseOut, CommitmentAction, CommitmentOut, NewCase, NewCommitment, UnitOut
from ledger.service import LedgerService
from ledger.states import Actor
from web import require_actor_async

# Declared for the OpenAPI document; authentication itself is done by require_actor_async.
bearer = HTTPBearer(auto_error=False, description="API token issued by an administrator (yuqing ledger token ...)")
router = APIRouter(prefix="/api/v1", tags=["ledger"], dependencies=[Depends(bearer)])

ActorDep = Annotated[Actor, Depends(require_actor_async)]


def _svc(request: Request) -> LedgerService:
    return request.app.state.service  # type: ignore[no-any-return]


def _json(model: BaseModel) -> Response:
    """``model`` as the JSON FastAPI would send for it, without validating it a second time against
    the route's ``response_model`` (which still documents it): the lists and the status update are
    the calls made most (issue 9)."""
    return Response(model.model_dump_json(), media_type="application/json")


def _out(svc: LedgerService, case_id: int, actor: Actor) -> CaseOut:
    case = svc.get_case(actor, case_id)
    return CaseOut.of(case, overdue=svc.is_overdue(case))


@router.get("/me", summary="Who the token or session belongs to")
def me(actor: ActorDep) -> dict[str, object]:
    return {"user_id": actor.user_id, "username": actor.username, "role": actor.role.value, "unit_id": actor.unit_id}


@router.get("/units", response_model=list[UnitOut], summary="Units (交办单位)")
def units(request: Request, actor: ActorDep) -> list[UnitOut]:
    return [UnitOut.model_validate(u) for u in _svc(request).list_units()]


@router.get("/cases", response_model=CaseList, summary="Cases visible to the caller")
def list_cases(
    request: Request,
    actor: ActorDep,
    status: str | None = None,
    unit_id: int | None = None,
    overdue: bool | None = None,
    q: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    svc = _svc(request)
    at = svc.clock()
    page = reads.case_page(svc, actor, unit_id=unit_id, status=status, overdue=overdue, text=q, limit=limit, offset=offset, at=at)
    return _json(CaseList(total=page.total, items=[reads.case_out(c, overdue=reads.is_overdue(c, at)) for c in page.items]))


@router.post("/cases", response_model=CaseOut, status_code=201, summary="Register a case (monitors, administrators)")
def create_case(request: Request, actor: ActorDep, body: NewCase) -> CaseOut:
    svc = _svc(request)
    case = svc.create_case(actor, body)
    return CaseOut.of(case, overdue=svc.is_overdue(case))


@router.get("/cases/{case_id}", response_model=CaseOut)
def get_case(request: Request, actor: ActorDep, case_id: int) -> CaseOut:
    return _out(_svc(request), case_id, actor)


@router.post(
    "/cases/{case_id}/actions",
    response_model=CaseOut,
    summary="Change a case: assign, accept, respond, ...",
    responses={409: {"description": "not allowed in this state, or stale version"}, 403: {"description": "not allowed for this role/unit"}},
)
def case_action(request: Request, actor: ActorDep, case_id: int, body: CaseAction) -> Response:
    svc = _svc(request)
    case = svc.act(actor, case_id, body)
    return _json(CaseOut.of(case, overdue=svc.is_overdue(case)))


@router.get("/cases/{case_id}/audit", response_model=list[AuditOut], summary="The case's audit trail")
def audit(request: Request, actor: ActorDep, case_id: int) -> list[AuditOut]:
    return [AuditOut.of(a) for a in _svc(request).audit(actor, case_id)]


@router.post("/cases/{case_id}/commitments", response_model=CommitmentOut, status_code=201, summary="Record a commitment (承诺事项)")
def add_commitment(request: Request, actor: ActorDep, case_id: int, body: NewCommitment) -> CommitmentOut:
    return CommitmentOut.of(_svc(request).add_commitment(actor, case_id, body))


@router.post(
    "/commitments/{commitment_id}/actions",
    response_model=CommitmentOut,
    summary="Fulfil, disclose, revisit, ... a commitment",
    responses={409: {"description": "not allowed in this state, or stale version"}},
)
def commitment_action(request: Request, actor: ActorDep, commitment_id: int, body: CommitmentAction) -> CommitmentOut:
    return CommitmentOut.of(_svc(request).act_on_commitment(actor, commitment_id, body))

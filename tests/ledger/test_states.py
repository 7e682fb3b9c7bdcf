"""The state machine: property-based (no sequence of actions reaches an invalid state) on the pure
core and, model-based, through the service on SQLite and PostgreSQL; forbidden transitions are
refused with a clear error."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from ledger import states
from ledger.errors import NotFound, PermissionDenied, TransitionError
from ledger.schemas import CaseAction, CommitmentAction, NewCommitment
from ledger.service import view_of
from ledger.states import Actor, CaseStatus, CaseView, CommitmentStatus, CommitmentView, Role
from tests.ledger.conftest import Env

ACTORS = [
    Actor(1, "u1", Role.UNIT, unit_id=1),
    Actor(2, "u2", Role.UNIT, unit_id=2),
    Actor(3, "mon", Role.MONITOR),
    Actor(4, "lead", Role.LEADER),
    Actor(5, "adm", Role.ADMIN),
]
CASE_ACTIONS = [a for a in states.CASE_RULES if a != "add_commitment"]
COMMITMENT_ACTIONS = list(states.COMMITMENT_RULES)


Move = tuple[str, Actor, dict[str, Any]]  # (action, actor, keyword arguments of states.apply)


def changes(before: CaseView, after: CaseView) -> bool:
    """Whether a move changed a state: the case's, a commitment's, or the set of commitments."""
    return (before.status, [c.status for c in before.commitments]) != (after.status, [c.status for c in after.commitments])


def progress_moves(case: CaseView, actors: list[Actor], assign_to: list[int], new_commitment: Any) -> list[Move]:
    """Every move the state machine allows now that changes a state (``states.can`` says which are
    allowed; ``new_commitment(actor)`` is the commitment ``actor`` would record, None for none).
    At most two commitments, so that a walk gets somewhere instead of only adding them."""
    out: list[Move] = []
    for actor in actors:
        for action in CASE_ACTIONS:
            if states.can(case, action, actor):
                out += [(action, actor, {"unit_id": u}) for u in (assign_to if action == "assign" else [0])]
        new = new_commitment(actor)
        if new is not None and len(case.commitments) < 2 and states.can(case, "add_commitment", actor):
            out.append(("add_commitment", actor, {"new_commitment": new}))
        out += [
            (action, actor, {"commitment_id": c.id})
            for c in case.commitments
            for action in COMMITMENT_ACTIONS
            if states.can(case, action, actor, c.id)
        ]
    return [m for m in out if changes(case, states.apply(case, m[0], m[1], **m[2]))]


ALL_CASE_STATES = set(CaseStatus)
ALL_COMMITMENT_STATES = set(CommitmentStatus)


class PureMachine(RuleBasedStateMachine):
    # The states every run visited, over the whole test (the test asserts that they are all of them).
    visited: set[CaseStatus | CommitmentStatus] = set()

    def __init__(self) -> None:
        super().__init__()
        self.case = CaseView(status=CaseStatus.PENDING)
        self.next_id = 1
        self._visit()

    @rule(actor=st.sampled_from(ACTORS), action=st.sampled_from(CASE_ACTIONS), unit=st.sampled_from([1, 2]))
    def case_action(self, actor: Actor, action: str, unit: int) -> None:
        self._try(lambda: states.apply(self.case, action, actor, unit_id=unit))

    @rule(actor=st.sampled_from(ACTORS), unit=st.sampled_from([1, 2]))
    def add_commitment(self, actor: Actor, unit: int) -> None:
        new = CommitmentView(self.next_id, CommitmentStatus.OPEN, unit)
        if self._try(lambda: states.apply(self.case, "add_commitment", actor, new_commitment=new)):
            self.next_id += 1

    @rule(actor=st.sampled_from(ACTORS), action=st.sampled_from(COMMITMENT_ACTIONS), which=st.integers(0, 3))
    def commitment_action(self, actor: Actor, action: str, which: int) -> None:
        if not self.case.commitments:
            return
        cid = self.case.commitments[which % len(self.case.commitments)].id
        self._try(lambda: states.apply(self.case, action, actor, commitment_id=cid))

    @rule(data=st.data(), steps=st.integers(1, 10))
    def advance(self, data: st.DataObject, steps: int) -> None:
        """Up to ``steps`` moves that change a state, each drawn from those allowed now: random
        actions are mostly refused, and without these walks a run would not get past 办理中."""
        for _ in range(steps):
            new = CommitmentView(self.next_id, CommitmentStatus.OPEN, data.draw(st.sampled_from([1, 2])))
            moves = progress_moves(self.case, ACTORS, [1, 2], lambda a, new=new: new)
            if not moves:
                return
            move = data.draw(st.sampled_from(moves))
            assert self._try(partial(states.apply, self.case, move[0], move[1], **move[2])), move
            if move[0] == "add_commitment":
                self.next_id += 1
            assert states.invariant_violations(self.case) == []

    def _try(self, fn: Any) -> bool:
        before = self.case
        try:
            self.case = fn()
        except (PermissionDenied, TransitionError) as exc:
            assert any(w in str(exc) for w in ("「", "没有", "需要")), str(exc)
            assert self.case is before
            return False
        self._visit()
        return True

    def _visit(self) -> None:
        PureMachine.visited |= {self.case.status, *(c.status for c in self.case.commitments)}

    @invariant()
    def valid(self) -> None:
        assert states.invariant_violations(self.case) == []


def test_no_sequence_of_actions_reaches_an_invalid_state() -> None:
    PureMachine.visited = set()
    run_state_machine_as_test(PureMachine, settings=settings(max_examples=150, stateful_step_count=40, deadline=None))
    # The run went everywhere: every state of a case and of a commitment, not only up to 办理中.
    assert ALL_CASE_STATES - PureMachine.visited == set()
    assert ALL_COMMITMENT_STATES - PureMachine.visited == set()


def _walk(actions: list[tuple[str, Actor, dict[str, Any]]]) -> CaseView:
    case = CaseView(status=CaseStatus.PENDING)
    for action, actor, kw in actions:
        case = states.apply(case, action, actor, **kw)
        assert states.invariant_violations(case) == []
    return case


U1, U2, MON, LEAD, ADM = ACTORS


def test_the_whole_lifecycle_reaches_closed() -> None:
    case = _walk(
        [
            ("assign", MON, {"unit_id": 1}),
            ("accept", U1, {}),
            ("add_commitment", U1, {"new_commitment": CommitmentView(7, CommitmentStatus.OPEN, 2)}),
            ("respond", U1, {}),
            ("track", U1, {}),
            ("fulfil", U2, {"commitment_id": 7}),
        ]
    )
    assert case.status is CaseStatus.FULFILLED
    case = states.apply(case, "disclose", MON, commitment_id=7)
    assert case.status is CaseStatus.DISCLOSED
    assert states.apply(case, "close", ADM).status is CaseStatus.CLOSED


def test_a_rejected_fulfilment_sends_the_case_back() -> None:
    case = _walk(
        [
            ("assign", MON, {"unit_id": 1}),
            ("accept", U1, {}),
            ("add_commitment", MON, {"new_commitment": CommitmentView(1, CommitmentStatus.OPEN, 1)}),
            ("respond", U1, {}),
            ("track", MON, {}),
            ("fulfil", U1, {"commitment_id": 1}),
        ]
    )
    assert case.status is CaseStatus.FULFILLED
    case = states.apply(case, "reject", MON, commitment_id=1)
    assert (case.status, case.commitments[0].status) == (CaseStatus.FULFILLING, CommitmentStatus.OPEN)


@pytest.mark.parametrize("status", list(CaseStatus))
@pytest.mark.parametrize("action", CASE_ACTIONS)
def test_forbidden_transitions_are_refused_with_a_clear_error(status: CaseStatus, action: str) -> None:
    rule_ = states.CASE_RULES[action]
    if status in rule_.sources:
        return
    actor = U1 if Role.UNIT in rule_.roles else MON
    case = CaseView(status=status, unit_id=None if status is CaseStatus.PENDING else 1)
    if actor.role is Role.UNIT and status is CaseStatus.PENDING:
        # A case waiting for assignment belongs to no unit: the unit is refused before the state is.
        with pytest.raises(PermissionDenied, match=rf"^只有交办单位可以执行「{rule_.label}」$"):
            states.case_transition(case, action, actor)
        return
    with pytest.raises(TransitionError) as err:
        states.case_transition(case, action, actor)
    allowed = "、".join(s.label for s in CaseStatus if s in rule_.sources)
    assert str(err.value) == f"案件当前状态为「{status.label}」，不能执行「{rule_.label}」（仅限：{allowed}）"
    assert (err.value.action, err.value.state) == (action, status.value)


def test_roles_and_units_are_refused_by_name() -> None:
    assigned = CaseView(status=CaseStatus.ASSIGNED, unit_id=1)
    with pytest.raises(PermissionDenied, match=r"^领导无权执行「签收」$"):
        states.case_transition(assigned, "accept", LEAD)
    with pytest.raises(PermissionDenied, match=r"^只有交办单位可以执行「签收」$"):
        states.case_transition(assigned, "accept", U2)
    with pytest.raises(PermissionDenied, match=r"^承办单位无权执行「交办」$"):
        states.case_transition(CaseView(status=CaseStatus.PENDING), "assign", U1)
    with pytest.raises(TransitionError, match=r"^不能执行「办结」：尚有 1 项承诺未落实或未公开$"):
        states.case_transition(CaseView(CaseStatus.RESPONDED, 1, commitments=(CommitmentView(1, CommitmentStatus.OPEN, 1),)), "close", MON)
    with pytest.raises(TransitionError, match=r"^不能执行「退回」：已登记 1 项承诺，不能退回$"):
        states.case_transition(
            CaseView(CaseStatus.IN_PROGRESS, 1, commitments=(CommitmentView(1, CommitmentStatus.OPEN, 1),)), "return", U1
        )


# -- the same, through the service and a real database ----------------------------------------------
class ServiceMachine(RuleBasedStateMachine):
    """Model-based: every action goes to the service and to the pure model; they must agree."""

    env: Env
    visited: set[CaseStatus | CommitmentStatus] = set()  # the states the service reached, over the test

    @initialize()
    def new_case(self) -> None:
        self.case = self.env.case("pending")
        self.model = view_of(self.case)
        self.audit = 1
        ServiceMachine.visited.add(self.model.status)
        self.actors = {r: self.env.world.actors[r] for r in ("unit", "other_unit", "monitor", "leader", "admin")}

    def _run(self, expect: Any, call: Any) -> None:
        try:
            predicted = expect()
        except (PermissionDenied, TransitionError) as exc:
            predicted = exc
        try:
            call()
        except NotFound as exc:
            # The service hides a case from a unit that may not see it: "not found", where the model says "not allowed".
            assert isinstance(predicted, PermissionDenied), f"{exc} where the model predicted {predicted!r}"
            return
        except (PermissionDenied, TransitionError) as exc:
            assert isinstance(predicted, Exception), f"service refused what the model allows: {exc}"
            assert type(exc) is type(predicted) and str(exc) == str(predicted)
            return
        assert not isinstance(predicted, Exception), f"service allowed what the model refuses: {predicted}"
        before_status = self.model.status
        self.model = predicted
        self.case = self.env.svc.get_case(self.actors["admin"], self.case.id)
        got = view_of(self.case)
        assert got.status is self.model.status
        assert [c.status for c in got.commitments] == [c.status for c in self.model.commitments]
        assert got.unit_id == self.model.unit_id and got.extension_pending == self.model.extension_pending
        ServiceMachine.visited |= {got.status, *(c.status for c in got.commitments)}
        derived = 1 if (got.status is not before_status and self._last_was_commitment) else 0
        self.audit += 1 + derived
        assert len(self.env.svc.audit(self.actors["admin"], self.case.id)) == self.audit

    @rule(role=st.sampled_from(["unit", "monitor", "leader", "admin"]), action=st.sampled_from(CASE_ACTIONS))
    def case_action(self, role: str, action: str) -> None:
        self._case_action(role, action)

    @rule(role=st.sampled_from(["unit", "monitor", "leader"]))
    def add_commitment(self, role: str) -> None:
        self._add_commitment(role)

    @rule(role=st.sampled_from(["unit", "monitor", "admin"]), action=st.sampled_from(COMMITMENT_ACTIONS), which=st.integers(0, 2))
    def commitment_action(self, role: str, action: str, which: int) -> None:
        if not self.case.commitments:
            return
        self._commitment_action(role, action, self.case.commitments[which % len(self.case.commitments)].id)

    @rule(data=st.data(), steps=st.integers(1, 10))
    def advance(self, data: st.DataObject, steps: int) -> None:
        """Up to ``steps`` moves that change a state, each drawn from those the model allows now,
        through the service: without these walks a run would not get past 办理中."""
        roles = {a: r for r, a in self.actors.items()}
        unit_id = self.env.world.actors["unit"].unit_id
        assert unit_id is not None

        def new_commitment(actor: Actor) -> CommitmentView | None:
            # A unit commits only for itself; the office's commitment is the case unit's by default.
            return CommitmentView(-1, CommitmentStatus.OPEN, actor.unit_id or self.model.unit_id or unit_id)

        for _ in range(steps):
            moves = progress_moves(self.model, list(self.actors.values()), [unit_id], new_commitment)
            if not moves:
                return
            action, actor, kw = data.draw(st.sampled_from(moves))
            audit = self.audit
            if action == "add_commitment":
                self._add_commitment(roles[actor])
            elif "commitment_id" in kw:
                self._commitment_action(roles[actor], action, kw["commitment_id"])
            else:
                self._case_action(roles[actor], action)
            assert self.audit > audit, f"the service refused {action} by {actor.username}, which the model allows"

    def _case_action(self, role: str, action: str) -> None:
        actor = self.actors[role]
        unit_id = self.env.world.actors["unit"].unit_id
        req = CaseAction(
            action=action,
            version=self.case.version,
            note="说明",
            unit_id=unit_id,
            response="已回复",  # type: ignore[arg-type]
            extension_days=3,
            fields={"summary": f"摘要 {self.audit}"},
        )
        self._last_was_commitment = False
        self._run(lambda: states.apply(self.model, action, actor, unit_id=unit_id), lambda: self.env.svc.act(actor, self.case.id, req))

    def _add_commitment(self, role: str) -> None:
        actor = self.actors[role]
        unit_id = self.env.world.actors["unit"].unit_id
        self._last_was_commitment = False
        placeholder = CommitmentView(-1, CommitmentStatus.OPEN, unit_id)  # type: ignore[arg-type]
        self._run(
            lambda: states.apply(self.model, "add_commitment", actor, new_commitment=placeholder),
            lambda: self.env.svc.add_commitment(
                actor, self.case.id, NewCommitment(version=self.case.version, content="承诺", due_workdays=5)
            ),
        )
        self.model = view_of(self.case)  # learn the commitment's real id

    def _commitment_action(self, role: str, action: str, commitment_id: int) -> None:
        actor = self.actors[role]
        com = next(c for c in self.case.commitments if c.id == commitment_id)
        req = CommitmentAction(
            action=action,
            version=com.version,
            note="说明",
            fulfilment="已落实",
            disclosure_channel="县政府网站",  # type: ignore[arg-type]
            satisfaction="满意",
            revisit_result="回访满意",
        )
        self._last_was_commitment = True
        self._run(
            lambda: states.apply(self.model, action, actor, commitment_id=com.id),
            lambda: self.env.svc.act_on_commitment(actor, com.id, req),
        )

    @invariant()
    def valid(self) -> None:
        if hasattr(self, "case"):
            assert states.invariant_violations(view_of(self.case)) == []


def test_service_agrees_with_the_model_and_stays_valid(env: Env) -> None:
    ServiceMachine.env = env
    ServiceMachine.visited = set()
    run_state_machine_as_test(
        ServiceMachine, settings=settings(max_examples=12, stateful_step_count=25, deadline=None, suppress_health_check=list(HealthCheck))
    )
    # Through the service and the database too, the run went everywhere.
    assert ALL_CASE_STATES - ServiceMachine.visited == set()
    assert ALL_COMMITMENT_STATES - ServiceMachine.visited == set()

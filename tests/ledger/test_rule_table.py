"""The rule table drives the service's dispatcher (``ledger.transitions``): a rule that names a side
effect the dispatcher does not have, a side effect no rule uses, a needed field the request does
not carry, or an action the request schema and the table disagree on stops the program when the
module loads, with a message naming the table, the action and the mismatch."""

from __future__ import annotations

import dataclasses

import pytest

from ledger import states, transitions


def test_the_table_and_the_dispatcher_agree_today() -> None:
    transitions.check_rule_table()
    used = {r.effect for r in states.CASE_RULES.values() if r.effect}
    assert used == set(transitions.CASE_EFFECTS)
    assert {r.effect for r in states.COMMITMENT_RULES.values() if r.effect} == set(transitions.COMMITMENT_EFFECTS)


def test_a_missing_or_unused_side_effect_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(states.CASE_RULES, "close", dataclasses.replace(states.CASE_RULES["close"], effect="archive"))
    with pytest.raises(RuntimeError) as err:
        transitions.check_rule_table()
    assert "ledger.states.CASE_RULES['close']: no side effect 'archive'" in str(err.value)
    assert "ledger.states.CASE_RULES: side effect 'close' is used by no rule" in str(err.value)


def test_a_needed_field_the_request_lacks_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    rule = states.COMMITMENT_RULES["revisit"]
    monkeypatch.setitem(states.COMMITMENT_RULES, "revisit", dataclasses.replace(rule, needs=(("score", "请打分"),)))
    with pytest.raises(RuntimeError, match=r"COMMITMENT_RULES\['revisit'\]: needs 'score', which CommitmentAction does not have"):
        transitions.check_rule_table()


def test_an_action_missing_from_the_request_schema_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(states.CASE_RULES, "merge", dataclasses.replace(states.CASE_RULES["accept"], action="merge", label="合并"))
    with pytest.raises(RuntimeError, match=r"CaseAction\.action accepts \[.*\], the table routes \[.*'merge'.*\]"):
        transitions.check_rule_table()

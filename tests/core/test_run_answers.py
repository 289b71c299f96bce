"""How a run folds an agent's free-form question and the human's answer: the question stays
on the call's approval, the answer joins it with the decision, both reach the snapshot (what
the chat cell and exports read); a denied question keeps no answer."""

from __future__ import annotations

import pytest

from agentnb import ConfigurationError
from agentnb._core.approvals import ApprovalDecision, ApprovalGate
from agentnb._core.run import Run
from agentnb.events import RunPaused, ToolApprovalRequested, ToolApprovalResponded

QUESTION = "Which account should I use?"


def asked(*call_ids: str, question: str | None = QUESTION) -> Run:
    run = Run()
    for call_id in call_ids:
        run.apply(
            ToolApprovalRequested(
                call_id=call_id, name="ask_user", arguments={"q": 1}, question=question
            )
        )
    run.apply(RunPaused())
    return run


def test_the_question_is_kept_and_the_answer_joins_it() -> None:
    run = asked("c1")
    (call,) = run.awaiting_approval
    assert call.approval is not None and call.approval.question == QUESTION
    assert call.approval.answer is None and run.status == "paused"
    run.apply(ToolApprovalResponded(call_id="c1", approved=True, answer="savings"))
    assert (call.status, run.status) == ("running", "running")
    assert (call.approval.approved, call.approval.answer) == (True, "savings")
    shown = run.snapshot()["tool_calls"][0]["approval"]
    assert (shown["question"], shown["answer"]) == (QUESTION, "savings")


def test_a_denied_question_keeps_no_answer() -> None:
    run = asked("c1")
    run.apply(ToolApprovalResponded(call_id="c1", approved=False, reason="not now"))
    call = run.tool_calls[0]
    assert (call.status, call.error) == ("denied", "not now")
    assert call.approval is not None and call.approval.answer is None
    assert call.approval.question == QUESTION


def test_a_plain_approval_has_no_question() -> None:
    run = asked("c1", question=None)
    approval = run.tool_calls[0].approval
    assert approval is not None and approval.question is None
    assert run.snapshot()["tool_calls"][0]["approval"]["question"] is None


def test_an_empty_question_is_still_a_question() -> None:
    gate = ApprovalGate(asked("c1", question=""))
    gate.answer(None, "")
    assert [d.answer for d in gate._new_decisions()] == [""]


def test_answer_without_a_call_id_needs_exactly_one_question() -> None:
    gate = ApprovalGate(asked("c1", "c2"))
    with pytest.raises(ConfigurationError, match="2 calls wait for an answer"):
        gate.answer(None, "x")
    gate.answer("c1", "first")
    gate.answer(None, "second")  # only c2 still waits
    assert {d.call_id: d.answer for d in gate._new_decisions()} == {
        "c1": "first",
        "c2": "second",
    }


class _ApproveOnly:
    named = "Yes-or-no"
    supports_approvals = True
    supports_answers = False


def test_a_dialect_that_takes_only_approve_or_deny_refuses_any_answer() -> None:
    gate = ApprovalGate(asked("c1"), _ApproveOnly())
    with pytest.raises(ConfigurationError, match="Yes-or-no takes only approve / deny"):
        gate.answer("c1", "x")
    with pytest.raises(ConfigurationError, match="takes only approve / deny"):
        gate.decide(ApprovalDecision("c1", True, answer="x"))
    gate.deny("c1")


def test_answer_is_approve_with_the_answer() -> None:
    gate = ApprovalGate(asked("c1"))
    gate.answer("c1", "savings")
    (decision,) = gate._new_decisions()
    assert decision == ApprovalDecision("c1", True, None, "savings")

"""How a run folds approval events into its tool calls: the request (with the agent's
question, if it asks one) and the human's decision (with the answer, if one was given)."""

from __future__ import annotations

import time

from ..events import ToolApprovalRequested, ToolApprovalResponded, ToolCallStarted
from .transcript import ToolApproval, ToolCall

__all__ = ["open_approval", "record_decision", "start_of"]


def start_of(event: ToolApprovalRequested) -> ToolCallStarted:
    """The call's start as the request tells it (the first the run may hear of the call)."""
    return ToolCallStarted(
        call_id=event.call_id,
        name=event.name,
        arguments=event.arguments,
        received_at=event.received_at,
    )


def open_approval(call: ToolCall, event: ToolApprovalRequested) -> None:
    """The call now waits for a human decision (and an answer, when the agent asked)."""
    call.settle_arguments()
    at = event.received_at or time.time()
    call.approval = ToolApproval(
        event.approval_id, event.reason, question=event.question, requested_at=at
    )
    call.status = "awaiting_approval"


def record_decision(call: ToolCall, event: ToolApprovalResponded) -> None:
    """Keep the decision (and answer) on the call; an approved call waiting runs on. A denied
    call is left for the run to mark denied."""
    approval = call.approval or ToolApproval(requested_at=call.started_at)
    approval.approved = event.approved
    approval.decision_reason = event.reason
    approval.answer = event.answer
    approval.decided_at = event.received_at or time.time()
    call.approval = approval
    if event.approved and call.status == "awaiting_approval":
        call.status = "running"

"""How a run folds approval events into its tool calls: the request (with the agent's
question, if it asks one) and the decision (with the answer, if one was given).

A decision applies to one call, once: the first is kept, and a later one for the same call
(a platform's echo, a replay, a contradiction) changes nothing. A decision the stream carries
is the server's own (``decided_by="server"``), never shown as the user's. The arguments
shown when the approval was asked are kept, so a call reported later with other arguments
is marked (:attr:`ToolApproval.arguments_changed`)."""

from __future__ import annotations

import copy
import time
from typing import Any

from ..events import ToolApprovalRequested, ToolApprovalResponded, ToolCallStarted
from .transcript import ToolApproval, ToolCall

__all__ = ["note_reported_call", "open_approval", "record_decision", "start_of"]


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
        event.approval_id,
        event.reason,
        question=event.question,
        requested_at=at,
        asked_arguments=copy.deepcopy(call.arguments),
    )
    call.status = "awaiting_approval"


def note_reported_call(call: ToolCall, name: str, arguments: Any) -> None:
    """The platform reports the call again (its start or its end, with a name and arguments):
    mark the approval when they differ from what was shown when it was asked."""
    approval = call.approval
    if approval is None:
        return
    if (name and name != call.name) or (
        arguments is not None and arguments != approval.asked_arguments
    ):
        approval.arguments_changed = True


def record_decision(call: ToolCall, event: ToolApprovalResponded) -> bool:
    """Keep the first decision (and answer) on the call; an approved call waiting runs on.
    False: the call was decided already, and this decision changes nothing. A denied call
    is left for the run to mark denied."""
    approval = call.approval or ToolApproval(requested_at=call.started_at)
    if approval.approved is not None:
        return False
    approval.approved = event.approved
    approval.decided_by = event.decided_by
    approval.decision_reason = event.reason
    approval.answer = event.answer
    approval.decided_at = event.received_at or time.time()
    call.approval = approval
    if event.approved and call.status == "awaiting_approval":
        call.status = "running"
    return True

"""How a run folds approval events into its tool calls: the request (with the agent's
question, if it asks one) and the decision (with the answer, if one was given).

A decision is bound to one call as it was shown: (approval id, call id, name, arguments).
When the approval is asked, the version of the call the platform acts on is fixed
(:attr:`ToolApproval.asked`: the one its request names, else the call's latest parsed
arguments, else its streamed text), and the platform's other versions that disagree with it
are kept beside it (:attr:`ToolApproval.other_versions`), for every surface to show flagged;
a version the asked one only adds fields to (:func:`only_adds`), or that differs only in what a
dialect put aside (:class:`~.transcript.CardArguments`), does not disagree with it.
Then, until the decision is sent, nothing may move the binding: another name or arguments
reported for the call (streamed text included), or its approval id naming another call too,
is a protocol error for the call (:attr:`ToolApproval.protocol_error`), which the approval gate
denies whatever anyone answers. Other arguments reported after the decision mark the call
(:attr:`ToolApproval.arguments_changed`), and :attr:`ToolCall.unapproved` says so if it ran.

A decision applies to one call, once: the first is kept, and a later one for the same call
(a platform's echo, a replay, a contradiction) changes nothing. A decision the stream carries
is the server's own (``decided_by="server"``), never shown as the user's."""

from __future__ import annotations

import copy
import time
from typing import Any

from pydantic_core import PydanticSerializationError, to_json

from ..events import ToolApprovalRequested, ToolApprovalResponded, ToolCallStarted
from .transcript import CallVersion, ToolApproval, ToolCall, action_of, parse_json_or_text

__all__ = [
    "ANNOUNCED",
    "STREAMED",
    "asked_again",
    "disagreement",
    "note_reported_call",
    "note_streamed",
    "only_adds",
    "open_approval",
    "record_decision",
    "refuse",
    "remember_version",
    "start_of",
]

STREAMED = "the streamed arguments"
ANNOUNCED = "an earlier announcement of the call"
CHANGED = "its arguments (or name) changed after they were shown for approval"


def start_of(event: ToolApprovalRequested) -> ToolCallStarted:
    """The call's start as the request tells it (the first the run may hear of the call)."""
    return ToolCallStarted(
        call_id=event.call_id,
        name=event.name,
        arguments=event.arguments,
        received_at=event.received_at,
    )


def remember_version(call: ToolCall, name: str, arguments: Any) -> None:
    """Keep a name and parsed arguments the platform announced (a repeat of the last: no)."""
    if not name and arguments is None:
        return
    last = call.versions[-1] if call.versions else None
    if last is not None and (last.name, last.arguments) == (name or last.name, arguments):
        return
    # the event's own value, not a copy: nothing mutates an event's arguments, and a start
    # may carry a large value
    call.versions.append(CallVersion(ANNOUNCED, name or call.name, arguments))


def open_approval(call: ToolCall, event: ToolApprovalRequested) -> None:
    """The call now waits for a human decision (and an answer, when the agent asked), bound
    to the version of it the platform acts on."""
    call.settle_arguments()
    at = event.received_at or time.time()
    asked = _acted_on(call)
    call.approval = ToolApproval(
        event.approval_id,
        event.reason,
        question=event.question,
        requested_at=at,
        asked=asked,
        other_versions=_disagreeing(call, asked),
        for_run=event.for_run,
        agent_option=event.agent_option,
    )
    call.status = "awaiting_approval"


def asked_again(call: ToolCall, event: ToolApprovalRequested) -> bool:
    """A request for a call that already waits for a decision: the same request again
    changes nothing (True); another approval id, name or arguments is a protocol error for
    the call (True). False: the call's approval was decided, so this opens a new one."""
    approval = call.approval
    if approval is None or approval.approved is not None:
        return False
    asked = approval.asked
    if event.approval_id != approval.approval_id:
        refuse(call, f"it was asked about again under another approval id ({event.approval_id!r})")
    elif asked is not None and (
        (event.name and event.name != asked.name)
        or (event.arguments is not None and not _same_action(event.arguments, asked.arguments))
    ):
        approval.arguments_changed = True
        refuse(call, CHANGED)
    return True


def _acted_on(call: ToolCall) -> CallVersion:
    """The version of the call the platform acts on: its latest parsed arguments (the
    request's own, when it names them), else its streamed text."""
    text = call.arguments_text or None
    if text is not None and parse_json_or_text(text) != call.arguments:
        text = None  # the text is another version, not the JSON of this one
    return CallVersion("the approval request", call.name, copy.deepcopy(call.arguments), text)


def disagreement(call: ToolCall) -> str | None:
    """Why nothing may act on ``call`` though no one is asked about it (a notebook tool that
    runs without asking): the platform sent versions of it that disagree (parsed arguments
    against its streamed text, or starts with other names or arguments). None when they
    agree, or when its streamed text is its only version."""
    if call.arguments is None:
        return None
    parsed = CallVersion("", call.name, call.arguments)
    where = sorted({version.where for version in _disagreeing(call, parsed)})
    if not where:
        return None
    return (
        f"the platform sent versions of this call that disagree ({', '.join(where)} against "
        f"its parsed arguments): it was denied, and nothing ran"
    )


def only_adds(earlier: Any, later: Any) -> bool:
    """Whether ``later`` is ``earlier`` with fields added, at any depth of its objects (the
    same value included): more words about the same call, not another call. A field whose
    value changed, or that is gone, is another call."""
    if isinstance(earlier, dict) and isinstance(later, dict):
        return all(key in later and only_adds(value, later[key]) for key, value in earlier.items())
    return _same(earlier, later)


def _same_action(reported: Any, asked: Any) -> bool:
    """Whether ``reported`` arguments do what the ``asked`` ones do (what these put aside
    left out of both)."""
    return bool(action_of(reported, asked) == action_of(asked, asked))


def _same(one: Any, other: Any) -> bool:
    """Whether two versions of a call's arguments are the same value (NaN included)."""
    if one == other:
        return True
    try:
        return bool(
            to_json(one, inf_nan_mode="constants") == to_json(other, inf_nan_mode="constants")
        )
    except PydanticSerializationError:
        return False


def _disagreeing(call: ToolCall, asked: CallVersion) -> tuple[CallVersion, ...]:
    """The platform's other versions of the call that disagree with ``asked``, each once."""
    candidates = list(call.versions)
    if call.arguments_text:
        text = call.arguments_text
        candidates.append(CallVersion(STREAMED, call.name, parse_json_or_text(text), text))
    others: list[CallVersion] = []
    action = action_of(asked.arguments, asked.arguments)  # what it puts aside is no call
    for version in candidates:
        differs = (version.name and version.name != asked.name) or (
            version.arguments is not None
            and not only_adds(action_of(version.arguments, asked.arguments), action)
        )
        seen = any((o.name, o.arguments) == (version.name, version.arguments) for o in others)
        if differs and not seen:
            others.append(version)
    return tuple(others)


def refuse(call: ToolCall, why: str) -> None:
    """No decision can be bound to ``call`` (``why``): agentnb denies it, unless a decision
    was already sent (the first reason is kept)."""
    approval = call.approval
    if approval is not None and approval.approved is None and approval.protocol_error is None:
        approval.protocol_error = why


def note_reported_call(call: ToolCall, name: str, arguments: Any) -> None:
    """The platform reports the call again (its start or its end, with a name and arguments):
    mark the approval when they differ from what was shown when it was asked; before the
    decision is sent, that is a protocol error for the call."""
    approval = call.approval
    if approval is None:
        return
    asked = approval.asked
    shown_name = asked.name if asked is not None else call.name
    if (name and name != shown_name) or (
        arguments is not None and not _same_action(arguments, approval.asked_arguments)
    ):
        approval.arguments_changed = True
        refuse(call, CHANGED)


def note_streamed(call: ToolCall) -> None:
    """Argument text streamed for a call awaiting a decision moves what was shown: a protocol
    error for the call. (After the decision, the call's run may stream them again.)"""
    approval = call.approval
    if approval is not None and approval.approved is None:
        approval.arguments_changed = True
        refuse(call, CHANGED)


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

"""How a run folds tool-call events into its tool calls: starts (a call named before it was
started is made nameless), argument deltas, progress, results, denials, approval requests and
decisions, and a sub-agent's text under the call that runs it."""

from __future__ import annotations

import time

from ..events import (
    CallEvent,
    ReasoningDelta,
    TextDelta,
    ToolApprovalRequested,
    ToolApprovalResponded,
    ToolCallDelta,
    ToolCallDenied,
    ToolCallFinished,
    ToolCallProgress,
    ToolCallStarted,
    ToolQuestionAnswered,
    ToolQuestionAsked,
)
from .approval_fold import (
    asked_again,
    note_reported_call,
    note_streamed,
    open_approval,
    record_decision,
    refuse,
    remember_version,
    start_of,
)
from .transcript import Part, ToolCall

__all__ = ["CallEvent", "CallFold"]


class CallFold:
    """A run's tool calls: kept in ``calls`` in the order they started, found by id, each
    with its place among the run's ``parts``. Both lists are the run's own."""

    def __init__(self, parts: list[Part], calls: list[ToolCall]) -> None:
        self._parts = parts
        self._calls = calls
        self._by_id = {call.call_id: call for call in calls}
        self._approval_ids: dict[str, str] = {}
        """Each approval id asked, and the call it first named."""

    def get(self, call_id: str) -> ToolCall | None:
        return self._by_id.get(call_id)

    def apply(self, event: CallEvent) -> None:
        """Fold one event about a tool call into that call."""
        match event:
            case ToolCallStarted():
                self._start(event)
            case ToolCallDelta():
                call = self._call(event.call_id, event.received_at)
                call.stream("arguments", event.arguments_delta)
                note_streamed(call)
                if call.finished_at is not None:  # sent after the result (ag-ui-langgraph)
                    call.settle_arguments()
            case ToolCallProgress():
                call = self._call(event.call_id, event.received_at)
                call.output = event.output
                call.ran_by = event.ran_by or call.ran_by
            case ToolCallFinished():
                self._finish(event)
            case ToolCallDenied():
                self._deny(event.call_id, event.reason, event.received_at)
            case ToolApprovalRequested():
                self._ask(event)
            case ToolApprovalResponded():
                self._decide(event)
            case ToolQuestionAsked():
                self._call(event.call_id, event.received_at).asks = event.question
            case ToolQuestionAnswered():
                self._call(event.call_id, event.received_at).asks = None

    def sub_agent_delta(self, event: TextDelta | ReasoningDelta) -> None:
        """A sub-agent's text belongs to its call (a path to no known call makes one)."""
        call = self._call(event.parent_call_id or "", event.received_at)
        call.sub_agent = call.sub_agent or event.agent
        call.stream("text" if event.type == "text_delta" else "reasoning", event.delta)

    def drop_from(self, position: int) -> None:
        """Forget the calls from ``position`` on (a step the platform discarded)."""
        for call in self._calls[position:]:
            self._by_id.pop(call.call_id, None)
        del self._calls[position:]

    def forget_oldest(self, count: int) -> set[str]:
        """Forget the ``count`` oldest top-level calls that have ended (a call still running
        or awaiting approval stays), each with the calls made inside it, and their places
        among the parts: the ids forgotten."""
        gone: set[str] = set()
        forgotten = 0
        for call in self._calls:
            if call.parent_call_id in gone:
                gone.add(call.call_id)
            elif (
                forgotten < count
                and call.parent_call_id is None
                and call.status not in ("running", "awaiting_approval")
            ):
                gone.add(call.call_id)
                forgotten += 1
        self._calls[:] = [c for c in self._calls if c.call_id not in gone]
        self._parts[:] = [p for p in self._parts if p.call_id not in gone]
        for call_id in gone:
            del self._by_id[call_id]
        self._approval_ids = {a: c for a, c in self._approval_ids.items() if c not in gone}
        return gone

    def end_open(self, completed: bool, why: str, at: float) -> None:
        """The run ended at ``at``: a call still open never gets its result. In a completed
        run the server just never reported it (see ToolStatus); otherwise it failed, ``why``."""
        for call in self._calls:
            if call.status not in ("running", "awaiting_approval"):
                continue
            call.settle_arguments()
            call.finished_at = at
            call.asks = None
            if completed:
                call.status = "no_result"
            else:
                call.status = "failed"
                call.error = call.error or why

    def _call(self, call_id: str, at: float) -> ToolCall:
        """The call, or a new nameless one when an event names a call never started."""
        return self._by_id.get(call_id) or self._start(
            ToolCallStarted(call_id=call_id, name="", received_at=at)
        )

    def _ask(self, event: ToolApprovalRequested) -> None:
        known = self._by_id.get(event.call_id)
        if known is not None and asked_again(known, event):
            return
        call = self._start(start_of(event))
        open_approval(call, event)
        if event.approval_id is not None:
            self._bind_approval_id(call, event.approval_id)

    def _bind_approval_id(self, call: ToolCall, approval_id: str) -> None:
        """An approval id names one call: one naming two is a protocol error for both (a
        decision sent under it could be applied to either)."""
        first = self._approval_ids.get(approval_id)
        other = self._by_id.get(first or "")
        if other is None or first == call.call_id:
            self._approval_ids[approval_id] = call.call_id  # new, or its call was discarded
            return
        refuse(call, f"its approval id {approval_id!r} also names tool call {first!r}")
        refuse(other, f"its approval id {approval_id!r} also names tool call {call.call_id!r}")

    def _start(self, event: ToolCallStarted) -> ToolCall:
        existing = self._by_id.get(event.call_id)
        if existing is not None:
            note_reported_call(existing, event.name, event.arguments)
            remember_version(existing, event.name, event.arguments)
            existing.name = event.name or existing.name
            if event.arguments is not None:
                existing.arguments = event.arguments
            return existing
        parent_id = self._parent_id(event)
        parent = self._by_id.get(parent_id or "")
        call = ToolCall(
            call_id=event.call_id,
            name=event.name,
            arguments=event.arguments,
            started_at=event.received_at or time.time(),
            parent_call_id=parent_id,
            agent=event.agent,
            depth=parent.depth + 1 if parent is not None else int(parent_id is not None),
        )
        if parent is not None:
            parent.sub_agent = parent.sub_agent or event.agent
        remember_version(call, event.name, event.arguments)
        self._by_id[call.call_id] = call
        self._calls.append(call)
        self._parts.append(Part("tool", call_id=call.call_id))
        return call

    def _parent_id(self, event: ToolCallStarted) -> str | None:
        """The call's parent, unless the call would be its own ancestor (a stream naming the
        call itself, or a call under it, as its parent): then it starts at the top, so the
        tree stays a tree."""
        seen: set[str] = set()
        above = event.parent_call_id
        while above is not None and above not in seen:
            if above == event.call_id:
                return None
            seen.add(above)
            known = self._by_id.get(above)
            above = known.parent_call_id if known is not None else None
        return event.parent_call_id

    def _finish(self, event: ToolCallFinished) -> None:
        call = self._call(event.call_id, event.received_at)
        note_reported_call(call, "", event.arguments)
        if event.arguments is not None:
            call.arguments = event.arguments
        call.settle_arguments()
        call.usage = event.usage or call.usage
        call.model = event.model or call.model
        call.ran_by = event.ran_by or call.ran_by
        call.output = event.output
        call.shown = event.shown
        call.error = event.error
        call.status = "failed" if event.error is not None else "succeeded"
        call.finished_at = event.received_at or time.time()
        call.asks = None

    def _deny(self, call_id: str, reason: str | None, at: float) -> None:
        call = self._call(call_id, at)
        call.settle_arguments()
        if reason is None and call.approval is not None:
            reason = call.approval.decision_reason
        call.error = reason if reason is not None else call.error
        call.status = "denied"
        call.finished_at = call.finished_at or at or time.time()
        call.asks = None

    def _decide(self, event: ToolApprovalResponded) -> None:
        call = self._call(event.call_id, event.received_at)
        if not record_decision(call, event):
            return
        if not event.approved:
            self._deny(call.call_id, event.reason, event.received_at)

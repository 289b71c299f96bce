"""The Vercel AI SDK UI message stream (ai 7's ``uiMessageChunkSchema``), shared by ``vercel``
and ``seekrflow-vercel``. Chunks are read as the SDK's ``processUIMessageStream`` reads them,
and the message they build is kept to be sent back as history."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from .._core.approvals import ApprovalDecision
from .._core.run import Run
from ..events import (
    Event,
    RunCompleted,
    RunFailed,
    RunPaused,
    RunStarted,
    StepReset,
    StepStarted,
    ToolApprovalRequested,
    ToolApprovalResponded,
    ToolCallDelta,
    ToolCallDenied,
    ToolCallFinished,
    ToolCallProgress,
    ToolCallStarted,
    Usage,
    reasoning_delta,
    text_delta,
)
from ..sse import ServerSentEvent
from ._base import Translator
from ._frames import (
    as_dict,
    first_number,
    first_str,
    is_done_marker,
    parse_json,
    reported_failure,
    str_list,
)
from ._frames import unknown as keep_unknown
from ._nested import NESTED_PART, NestedCalls, message_usage
from ._uimessage_parts import UIMessageBuilder

__all__ = ["UIMessageTranslator"]

_Frame = dict[str, Any]
_KEPT_PARTS = frozenset(
    {"source-url", "source-document", "file", "reasoning-file", "custom", "steering-message"}
)
"""Parts the SDK adds to the message that a run has no place for."""


class UIMessageTranslator(Translator):
    """One run's UI message stream. ``finish`` (or a bare ``[DONE]``) completes the run."""

    def __init__(self, thread_id: str | None = None) -> None:
        self.paused = False
        self._thread_id = thread_id
        self.builder = UIMessageBuilder()
        self._usage: Usage | None = None
        self._model: str | None = None
        self._execution_time: float | None = None
        self._followups: list[str] = []
        self._nested = NestedCalls()

    @property
    def text(self) -> str:
        """The answer text read so far."""
        return self.builder.text_of("text")

    def follow(self, run: Run) -> None:
        self.builder.read_from(run)

    def message(self) -> dict[str, Any]:
        """The assistant message so far, in the SDK's ``UIMessage`` shape (history)."""
        return self.builder.message()

    def record_decisions(self, decisions: Sequence[ApprovalDecision]) -> None:
        """Put a human's decisions into the message, as the SDK's
        ``addToolApprovalResponse`` does (the tool parts become ``approval-responded``). Each
        decision goes on its own call's part, never on another part its approval id names."""
        for decision in decisions:
            self.builder.respond(decision.call_id, decision.approved, decision.reason)

    def on_response(self, headers: Mapping[str, str]) -> list[Event]:
        self.paused = False  # a new response continues the message
        return []

    def translate(self, sse: ServerSentEvent) -> list[Event]:
        if is_done_marker(sse):
            return [] if self.done or self.paused else self._complete({})
        frame = as_dict(parse_json(sse.data))
        kind = first_str(frame, "type") if frame is not None else None
        if frame is None or kind is None:
            return [keep_unknown(sse)]
        handler = self._HANDLERS.get(kind)
        if handler is None:
            return self._kept_part(kind, frame, sse)
        events = handler(self, frame)
        return [keep_unknown(sse)] if events is None else events

    def _kept_part(self, kind: str, frame: _Frame, sse: ServerSentEvent) -> list[Event]:
        if kind in _KEPT_PARTS or kind.startswith("data-"):
            self.builder.add(frame)
        return [keep_unknown(sse)]

    # ---- one function per frame type; None means "not the shape we know" ----------------
    def _start(self, frame: _Frame) -> list[Event]:
        self._read_metadata(frame)
        metadata = as_dict(frame.get("messageMetadata")) or {}
        message_id = first_str(frame, "messageId")
        if message_id:
            self.builder.id = message_id
        self.builder.merge_metadata(frame.get("messageMetadata"))
        self.run_id = first_str(metadata, "runId", "run_id") or message_id or self.run_id
        self._thread_id = first_str(metadata, "threadId", "thread_id") or self._thread_id
        return [RunStarted(run_id=self.run_id, thread_id=self._thread_id)]

    def _step_start(self, frame: _Frame) -> list[Event]:
        self.builder.step_start()
        return [StepStarted()]

    def _step_reset(self, frame: _Frame) -> list[Event]:
        self.builder.reset_step()
        return [StepReset()]

    def _read_metadata(self, frame: _Frame) -> bool:
        metadata = as_dict(frame.get("messageMetadata")) or {}
        usage, model = message_usage(frame)
        seconds = first_number(metadata, "executionTime", "execution_time")
        self._usage = usage or self._usage
        self._model = model or self._model
        self._execution_time = seconds if seconds is not None else self._execution_time
        return usage is not None or seconds is not None or model is not None

    def _followup_part(self, frame: _Frame) -> list[Event] | None:
        data = frame.get("data")
        followups = str_list(data) or str_list((as_dict(data) or {}).get("followups"))
        if not followups:
            return None
        self.builder.add(frame)
        self._followups = followups
        return []

    def _block_start(self, kind: str, frame: _Frame) -> list[Event]:
        self.builder.block_start(kind, first_str(frame, "id") or "")
        return []

    def _block_end(self, kind: str, frame: _Frame) -> list[Event]:
        self.builder.block_end(kind, first_str(frame, "id") or "")
        return []

    def _block_delta(self, kind: str, frame: _Frame) -> list[Event] | None:
        keys = ("delta", "textDelta", "text") if kind == "text" else ("delta", "text")
        delta = first_str(frame, *keys)
        if delta is None:
            return None
        self.builder.block_delta(kind, first_str(frame, "id") or "", delta)
        return [text_delta(delta) if kind == "text" else reasoning_delta(delta)]

    def _tool_input(self, frame: _Frame, *, whole: bool) -> list[Event] | None:
        """A call named, its arguments to stream (``tool-input-start``) or given whole
        (``tool-input-available``)."""
        call_id = first_str(frame, "toolCallId")
        if call_id is None:
            return None
        name = first_str(frame, "toolName") or ""
        if whole:
            self.builder.tool_input_available(call_id, name, frame)
            return [ToolCallStarted(call_id=call_id, name=name, arguments=frame.get("input"))]
        self.builder.tool_input_start(call_id, name, frame)
        return [ToolCallStarted(call_id=call_id, name=name)]

    def _tool_input_delta(self, frame: _Frame) -> list[Event] | None:
        call_id = first_str(frame, "toolCallId")
        delta = first_str(frame, "inputTextDelta")
        if call_id is None or delta is None:
            return None
        self.builder.tool_input_delta(call_id, delta)
        return [ToolCallDelta(call_id=call_id, arguments_delta=delta)]

    def _tool_input_error(self, frame: _Frame) -> list[Event] | None:
        call_id = first_str(frame, "toolCallId")
        if call_id is None:
            return None
        name = first_str(frame, "toolName") or ""
        error = first_str(frame, "errorText") or "the tool call failed"
        self.builder.tool_input_error(call_id, name, {**frame, "errorText": error})
        started = ToolCallStarted(call_id=call_id, name=name)
        return [
            started,
            ToolCallFinished(call_id=call_id, error=error, arguments=frame.get("input")),
        ]

    def _approval_request(self, frame: _Frame) -> list[Event] | None:
        call_id = first_str(frame, "toolCallId")
        approval_id = first_str(frame, "approvalId")
        if call_id is None or approval_id is None:
            return None
        self.builder.approval_request(call_id, frame)
        reason = first_str(frame, "reason")
        return [ToolApprovalRequested(call_id=call_id, approval_id=approval_id, reason=reason)]

    def _approval_response(self, frame: _Frame) -> list[Event] | None:
        approval_id = first_str(frame, "approvalId")
        approved = frame.get("approved")
        if approval_id is None or not isinstance(approved, bool):
            return None
        reason = first_str(frame, "reason")
        call_id = self.builder.approval_response(approval_id, approved, reason)
        if call_id is None:
            return None
        return [ToolApprovalResponded(call_id=call_id, approved=approved, reason=reason)]

    def _tool_output(self, frame: _Frame) -> list[Event] | None:
        call_id = first_str(frame, "toolCallId")
        if call_id is None:
            return None
        self.builder.output(call_id, frame)
        if frame.get("preliminary") is True:
            return [ToolCallProgress(call_id=call_id, output=frame.get("output"))]
        output = frame.get("output")
        return [ToolCallFinished(call_id=call_id, output=output, **self._nested.spent_in(call_id))]

    def _tool_output_error(self, frame: _Frame) -> list[Event] | None:
        call_id = first_str(frame, "toolCallId")
        if call_id is None:
            return None
        error = first_str(frame, "errorText") or "the tool call failed"
        self.builder.output_error(call_id, error)
        return [ToolCallFinished(call_id=call_id, error=error, **self._nested.spent_in(call_id))]

    def _tool_output_denied(self, frame: _Frame) -> list[Event] | None:
        call_id = first_str(frame, "toolCallId")
        if call_id is None:
            return None
        self.builder.output_denied(call_id)
        return [ToolCallDenied(call_id=call_id)]

    def _metadata(self, frame: _Frame) -> list[Event] | None:
        self.builder.merge_metadata(frame.get("messageMetadata"))
        return [] if self._read_metadata(frame) else None

    def _error(self, frame: _Frame) -> list[Event]:
        self.done = True
        return [reported_failure(frame, ("errorText", "error", "message"))]

    def _abort(self, frame: _Frame) -> list[Event]:
        self.done = True
        reason = first_str(frame, "reason")
        message = "the server aborted the run" + (f": {reason}" if reason else "")
        return [RunFailed(message=message, code="aborted")]

    def _finish(self, frame: _Frame) -> list[Event]:
        self.builder.merge_metadata(frame.get("messageMetadata"))
        if self._awaiting_approval():
            self._read_metadata(frame)
            self.paused = True
            return [RunPaused(reason="tool calls await approval", usage=self._usage)]
        return self._complete(frame)

    def _awaiting_approval(self) -> bool:
        return any(p.get("state") == "approval-requested" for p in self.builder.parts)

    def _complete(self, frame: _Frame) -> list[Event]:
        self.done = True
        self._read_metadata(frame)
        return [
            RunCompleted(
                usage=self._usage,
                execution_time=self._execution_time,
                followups=self._followups,
                finish_reason=first_str(frame, "finishReason"),
                model=self._model,
            )
        ]

    _HANDLERS: ClassVar[dict[str, Callable[..., list[Event] | None]]] = {
        "start": _start,
        "start-step": _step_start,
        "reset-step": _step_reset,
        "finish-step": lambda self, frame: [],
        "text-start": lambda self, frame: self._block_start("text", frame),
        "text-delta": lambda self, frame: self._block_delta("text", frame),
        "text-end": lambda self, frame: self._block_end("text", frame),
        "reasoning-start": lambda self, frame: self._block_start("reasoning", frame),
        "reasoning-delta": lambda self, frame: self._block_delta("reasoning", frame),
        "reasoning-end": lambda self, frame: self._block_end("reasoning", frame),
        "reasoning": lambda self, frame: self._block_delta("reasoning", frame),
        "tool-input-start": lambda self, frame: self._tool_input(frame, whole=False),
        "tool-input-delta": _tool_input_delta,
        "tool-input-available": lambda self, frame: self._tool_input(frame, whole=True),
        "tool-input-error": _tool_input_error,
        "tool-approval-request": _approval_request,
        "tool-approval-response": _approval_response,
        "tool-output-available": _tool_output,
        "tool-output-error": _tool_output_error,
        "tool-output-denied": _tool_output_denied,
        "message-metadata": _metadata,
        "error": _error,
        "abort": _abort,
        "finish": _finish,
        "data-followups": _followup_part,
        NESTED_PART: lambda self, frame: self._nested.translate(frame),
    }
    """What each frame kind is translated by (made once, not per run)."""

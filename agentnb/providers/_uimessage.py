"""The Vercel AI SDK "UI message stream": data-only frames of typed JSON objects.

Shared by the generic ``vercel`` dialect and SeekrFlow's ``/runs/stream/vercel``. Usage and
execution time are read from ``messageMetadata`` (``start``, ``message-metadata``, ``finish``);
follow-up questions from a ``data-followups`` part. Other ``data-*`` parts are kept as
``UnknownEvent``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..events import (
    Event,
    ReasoningDelta,
    RunCompleted,
    RunFailed,
    RunStarted,
    TextDelta,
    ToolCallDelta,
    ToolCallFinished,
    ToolCallStarted,
    Usage,
)
from ..sse import ServerSentEvent
from ._base import Translator
from ._frames import (
    as_dict,
    failure,
    first_number,
    first_str,
    is_done_marker,
    parse_json,
    parse_usage,
    str_list,
)
from ._frames import unknown as keep_unknown

__all__ = ["UIMessageTranslator"]

_Frame = dict[str, Any]
_STRUCTURAL = frozenset(
    {"start-step", "finish-step", "text-start", "text-end", "reasoning-start", "reasoning-end"}
)
"""Frames that only delimit parts; the events they bracket carry everything."""


def _usage_in(frame: Mapping[str, Any]) -> Usage | None:
    metadata = as_dict(frame.get("messageMetadata")) or {}
    return parse_usage(frame.get("usage")) or parse_usage(metadata.get("usage"))


class UIMessageTranslator(Translator):
    """One run's UI message stream. ``finish`` (or a bare ``[DONE]``) completes the run."""

    def __init__(self, thread_id: str | None = None) -> None:
        self.done = False
        self._thread_id = thread_id
        self.run_id: str | None = None
        self._usage: Usage | None = None
        self._execution_time: float | None = None
        self._followups: list[str] = []
        self._answer: list[str] = []
        self._handlers: dict[str, Callable[[_Frame], list[Event] | None]] = {
            "start": self._start,
            "text-delta": self._text,
            "reasoning-delta": self._reasoning,
            "reasoning": self._reasoning,
            "tool-input-start": self._tool_input_start,
            "tool-input-delta": self._tool_input_delta,
            "tool-input-available": self._tool_input_available,
            "tool-input-error": self._tool_error,
            "tool-output-available": self._tool_output,
            "tool-output-error": self._tool_error,
            "message-metadata": self._metadata,
            "error": self._error,
            "abort": self._abort,
            "finish": self._finish,
            "data-followups": self._followup_part,
        }

    @property
    def text(self) -> str:
        """The answer text read so far (for dialects that keep history client-side)."""
        return "".join(self._answer)

    def translate(self, sse: ServerSentEvent) -> list[Event]:
        if is_done_marker(sse):
            return [] if self.done else self._complete({})
        frame = as_dict(parse_json(sse.data))
        kind = first_str(frame, "type") if frame is not None else None
        if frame is None or kind is None:
            return [keep_unknown(sse)]
        if kind in _STRUCTURAL:
            return []
        handler = self._handlers.get(kind)
        events = handler(frame) if handler is not None else None
        return [keep_unknown(sse)] if events is None else events

    # ---- one function per frame type; None means "not the shape we know" ----------------
    def _start(self, frame: _Frame) -> list[Event]:
        self._read_metadata(frame)
        metadata = as_dict(frame.get("messageMetadata")) or {}
        self.run_id = first_str(metadata, "runId", "run_id") or first_str(frame, "messageId")
        self._thread_id = first_str(metadata, "threadId", "thread_id") or self._thread_id
        return [RunStarted(run_id=self.run_id, thread_id=self._thread_id)]

    def _read_metadata(self, frame: _Frame) -> bool:
        metadata = as_dict(frame.get("messageMetadata")) or {}
        usage = _usage_in(frame)
        seconds = first_number(metadata, "executionTime", "execution_time")
        self._usage = usage or self._usage
        self._execution_time = seconds if seconds is not None else self._execution_time
        return usage is not None or seconds is not None

    def _followup_part(self, frame: _Frame) -> list[Event] | None:
        data = frame.get("data")
        followups = str_list(data) or str_list((as_dict(data) or {}).get("followups"))
        if not followups:
            return None
        self._followups = followups
        return []

    def _text(self, frame: _Frame) -> list[Event] | None:
        delta = first_str(frame, "delta", "textDelta", "text")
        if delta is None:
            return None
        self._answer.append(delta)
        return [TextDelta(delta=delta)]

    def _reasoning(self, frame: _Frame) -> list[Event] | None:
        delta = first_str(frame, "delta", "text")
        return None if delta is None else [ReasoningDelta(delta=delta)]

    def _tool_input_start(self, frame: _Frame) -> list[Event] | None:
        call_id = first_str(frame, "toolCallId")
        if call_id is None:
            return None
        return [ToolCallStarted(call_id=call_id, name=first_str(frame, "toolName") or "")]

    def _tool_input_delta(self, frame: _Frame) -> list[Event] | None:
        call_id = first_str(frame, "toolCallId")
        delta = first_str(frame, "inputTextDelta")
        if call_id is None or delta is None:
            return None
        return [ToolCallDelta(call_id=call_id, arguments_delta=delta)]

    def _tool_input_available(self, frame: _Frame) -> list[Event] | None:
        call_id = first_str(frame, "toolCallId")
        if call_id is None:
            return None
        name = first_str(frame, "toolName") or ""
        return [ToolCallStarted(call_id=call_id, name=name, arguments=frame.get("input"))]

    def _tool_output(self, frame: _Frame) -> list[Event] | None:
        call_id = first_str(frame, "toolCallId")
        if call_id is None:
            return None
        return [ToolCallFinished(call_id=call_id, output=frame.get("output"))]

    def _tool_error(self, frame: _Frame) -> list[Event] | None:
        call_id = first_str(frame, "toolCallId")
        if call_id is None:
            return None
        error = first_str(frame, "errorText") or "the tool call failed"
        return [ToolCallFinished(call_id=call_id, error=error, arguments=frame.get("input"))]

    def _metadata(self, frame: _Frame) -> list[Event] | None:
        return [] if self._read_metadata(frame) else None

    def _error(self, frame: _Frame) -> list[Event]:
        self.done = True
        message = first_str(frame, "errorText", "error", "message") or "the agent reported an error"
        retry_after = first_number(frame, "retryAfter", "retry_after")
        return [failure(message, frame.get("code"), retry_after)]

    def _abort(self, frame: _Frame) -> list[Event]:
        self.done = True
        return [RunFailed(message="the server aborted the stream", code="aborted")]

    def _finish(self, frame: _Frame) -> list[Event]:
        return self._complete(frame)

    def _complete(self, frame: _Frame) -> list[Event]:
        self.done = True
        self._read_metadata(frame)
        return [
            RunCompleted(
                usage=self._usage,
                execution_time=self._execution_time,
                followups=self._followups,
            )
        ]

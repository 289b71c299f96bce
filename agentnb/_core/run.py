"""`Run`: folds a run's events into its state. The one source of truth that the widget, the
history store and callers read."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic_core import from_json

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
    UnknownEvent,
    Usage,
)

__all__ = [
    "MAX_UNKNOWN_BYTES",
    "MAX_UNKNOWN_EVENTS",
    "Part",
    "Run",
    "RunErrorInfo",
    "RunStatus",
    "ToolCall",
]

RunStatus = Literal["pending", "running", "completed", "failed", "cancelled", "interrupted"]
TERMINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed", "cancelled", "interrupted"})
ToolStatus = Literal["running", "succeeded", "failed"]
_MERGE_LOCK = threading.Lock()
MAX_UNKNOWN_EVENTS = 1000
"""A run keeps at most this many frames its dialect did not recognise (the rest are counted)."""
MAX_UNKNOWN_BYTES = 1024 * 1024
"""... and at most this many characters of their data in all."""


@dataclass
class ToolCall:
    """One tool call of a run."""

    call_id: str
    name: str
    arguments: Any = None
    arguments_text: str = ""
    output: Any = None
    error: str | None = None
    status: ToolStatus = "running"
    started_at: float = 0.0
    finished_at: float | None = None

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish, or None while running."""
        if self.finished_at is None:
            return None
        return max(0.0, self.finished_at - self.started_at)

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "name": self.name,
            "arguments": self.arguments,
            "arguments_text": self.arguments_text,
            "output": self.output,
            "error": self.error,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration": self.duration,
        }


@dataclass
class RunErrorInfo:
    """Why a run did not complete."""

    message: str
    code: str | None = None
    retry_after: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"message": self.message, "code": self.code, "retry_after": self.retry_after}


@dataclass
class Part:
    """One block of the transcript, in arrival order: reasoning, answer text, or a tool call.

    Consecutive deltas of one kind extend the same part; text is kept as chunks so appending
    stays linear however long the answer grows.
    """

    kind: Literal["reasoning", "text", "tool"]
    chunks: list[str] = field(default_factory=list)
    call_id: str | None = None
    length: int = 0

    @property
    def text(self) -> str:
        # Readers on any thread merge the chunks seen so far; the loop thread may append
        # meanwhile, which only adds after position k, so nothing is lost. The lock keeps two
        # readers from merging the same prefix twice.
        with _MERGE_LOCK:
            chunks = self.chunks
            k = len(chunks)
            if k > 1:
                joined = "".join(chunks[:k])
                chunks[:k] = [joined]
                return joined
            return chunks[0] if k else ""

    def append(self, delta: str) -> None:
        self.chunks.append(delta)
        self.length += len(delta)


@dataclass
class Run:
    """The state of one agent run, built by :meth:`apply` from its events."""

    agent: str = ""
    message: str = ""
    local_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    """agentnb's own id for the run (the history's key); ``run_id`` is the platform's."""
    provider: str = ""
    connection: str = ""
    run_id: str | None = None
    thread_id: str | None = None
    status: RunStatus = "pending"
    parts: list[Part] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage | None = None
    execution_time: float | None = None
    followups: list[str] = field(default_factory=list)
    final_output: Any = None
    error: RunErrorInfo | None = None
    unknown_events: list[UnknownEvent] = field(default_factory=list)
    """Frames the dialect did not recognise, kept verbatim up to :data:`MAX_UNKNOWN_EVENTS`
    frames and :data:`MAX_UNKNOWN_BYTES` characters of data."""
    unknown_dropped: int = 0
    """Unrecognised frames past those caps: counted, not kept."""
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    first_token_at: float | None = None
    finished_at: float | None = None
    event_count: int = 0
    retries: int = 0
    resumes: int = 0
    version: int = 0
    """Bumped on every change; observers compare it to skip work."""
    _calls: dict[str, ToolCall] = field(default_factory=dict, repr=False)
    _unknown_size: int = field(default=0, repr=False)

    # ---- reading -------------------------------------------------------------------------
    @property
    def text(self) -> str:
        """The answer so far (markdown)."""
        return "".join(p.text for p in self.parts if p.kind == "text")

    @property
    def reasoning(self) -> str:
        """The reasoning so far."""
        return "".join(p.text for p in self.parts if p.kind == "reasoning")

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def ttft(self) -> float | None:
        """Seconds from the request to the first reasoning or answer token."""
        if self.first_token_at is None or self.started_at is None:
            return None
        return max(0.0, self.first_token_at - self.started_at)

    @property
    def duration(self) -> float | None:
        """Seconds from the request to the end (or to now, while running)."""
        if self.started_at is None:
            return None
        end = self.finished_at if self.finished_at is not None else time.time()
        return max(0.0, end - self.started_at)

    @property
    def tokens_per_second(self) -> float | None:
        """Completion tokens per second of generation (after the first token)."""
        if self.usage is None or self.usage.completion_tokens is None:
            return None
        if self.first_token_at is None or self.finished_at is None:
            return None
        span = self.finished_at - self.first_token_at
        return self.usage.completion_tokens / span if span > 0 else None

    def tool_call(self, call_id: str) -> ToolCall | None:
        return self._calls.get(call_id)

    # ---- folding -------------------------------------------------------------------------
    def start(self, at: float | None = None) -> None:
        """Mark the request as sent."""
        if self.started_at is None:
            self.started_at = at if at is not None else time.time()
        if self.status == "pending":
            self.status = "running"
        self.version += 1

    def apply(self, event: Event) -> None:
        """Fold one event into the state."""
        self.event_count += 1
        self.version += 1
        if self.status == "pending":
            self.start(event.received_at or None)
        match event:
            case TextDelta() | ReasoningDelta():
                self._append_delta("text" if event.type == "text_delta" else "reasoning", event)
            case ToolCallStarted():
                self._start_tool(event)
            case ToolCallDelta():
                call = self._calls.get(event.call_id) or self._start_tool(
                    ToolCallStarted(call_id=event.call_id, name="", received_at=event.received_at)
                )
                call.arguments_text += event.arguments_delta
            case ToolCallFinished():
                self._finish_tool(event)
            case RunStarted():
                self.run_id = event.run_id or self.run_id
                self.thread_id = event.thread_id or self.thread_id
            case RunCompleted():
                self._complete(event)
            case RunFailed():
                self.error = RunErrorInfo(event.message, event.code, event.retry_after)
                self._finish("failed", event.received_at)
            case UnknownEvent():
                self._keep_unknown(event)

    def finish(self, status: RunStatus, error: RunErrorInfo | None = None) -> None:
        """End the run from outside the stream (cancelled, interrupted, failed by transport)."""
        if self.done:
            return
        if error is not None:
            self.error = error
        self._finish(status, None)

    # ---- internals -----------------------------------------------------------------------
    def _keep_unknown(self, event: UnknownEvent) -> None:
        size = len(event.data) + len(event.event)
        full = len(self.unknown_events) >= MAX_UNKNOWN_EVENTS
        if full or self._unknown_size + size > MAX_UNKNOWN_BYTES:
            self.unknown_dropped += 1
            return
        self._unknown_size += size
        self.unknown_events.append(event)

    def _append_delta(self, kind: Literal["text", "reasoning"], event: Event) -> None:
        delta: str = event.delta  # type: ignore[union-attr]
        if not delta:
            return
        if self.first_token_at is None:
            self.first_token_at = event.received_at or time.time()
        last = self.parts[-1] if self.parts else None
        if last is None or last.kind != kind:
            last = Part(kind)
            self.parts.append(last)
        last.append(delta)

    def _start_tool(self, event: ToolCallStarted) -> ToolCall:
        existing = self._calls.get(event.call_id)
        if existing is not None:
            existing.name = event.name or existing.name
            if event.arguments is not None:
                existing.arguments = event.arguments
            return existing
        call = ToolCall(
            call_id=event.call_id,
            name=event.name,
            arguments=event.arguments,
            started_at=event.received_at or time.time(),
        )
        self._calls[call.call_id] = call
        self.tool_calls.append(call)
        self.parts.append(Part("tool", call_id=call.call_id))
        return call

    def _finish_tool(self, event: ToolCallFinished) -> None:
        call = self._calls.get(event.call_id) or self._start_tool(
            ToolCallStarted(call_id=event.call_id, name="", received_at=event.received_at)
        )
        if event.arguments is not None:
            call.arguments = event.arguments
        if call.arguments is None and call.arguments_text:
            call.arguments = _parse_json_or_text(call.arguments_text)
        call.output = event.output
        call.error = event.error
        call.status = "failed" if event.error is not None else "succeeded"
        call.finished_at = event.received_at or time.time()

    def _complete(self, event: RunCompleted) -> None:
        if event.usage is not None:
            self.usage = event.usage.merged(self.usage)
        self.execution_time = event.execution_time
        self.followups = list(event.followups)
        self.final_output = event.final_output
        if not self.text and isinstance(event.final_output, str):
            self._append_delta(
                "text",
                TextDelta(delta=event.final_output, seq=event.seq, received_at=event.received_at),
            )
        self._finish("completed", event.received_at)

    def _finish(self, status: RunStatus, at: float | None) -> None:
        self.status = status
        self.finished_at = at or time.time()
        for call in self.tool_calls:
            if call.status == "running" and status != "completed":
                call.status = "failed"
                call.error = call.error or f"run {status}"
                call.finished_at = self.finished_at
        self.version += 1

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy of the whole state (for widgets and the history)."""
        return {
            "local_id": self.local_id,
            "agent": self.agent,
            "message": self.message,
            "provider": self.provider,
            "connection": self.connection,
            "run_id": self.run_id,
            "thread_id": self.thread_id,
            "status": self.status,
            "parts": [{"kind": p.kind, "text": p.text, "call_id": p.call_id} for p in self.parts],
            "tool_calls": [c.to_dict() for c in self.tool_calls],
            "usage": self.usage.model_dump() if self.usage else None,
            "execution_time": self.execution_time,
            "followups": list(self.followups),
            "error": self.error.to_dict() if self.error else None,
            "started_at": self.started_at,
            "first_token_at": self.first_token_at,
            "finished_at": self.finished_at,
            "ttft": self.ttft,
            "duration": self.duration if self.done else None,
            "tokens_per_second": self.tokens_per_second,
            "event_count": self.event_count,
            "unknown_dropped": self.unknown_dropped,
        }


def _parse_json_or_text(text: str) -> Any:
    """The JSON value of ``text``; the text itself when it is not JSON or is nested too deep
    to parse safely (pydantic-core stops at a depth limit where ``json`` would recurse)."""
    try:
        return from_json(text)
    except ValueError:
        return text

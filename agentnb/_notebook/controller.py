"""The kernel side of the chat cell: reads each `Run` and sends the views only what changed.

Everything here runs on agentnb's background loop (a daemon thread), so a cell returns at
once, the stream goes on while other cells run, and a Stop click is handled while the kernel
is idle. Entry points called from other threads (the kernel's comm handler, the notebook
code that attaches a run) hop onto the loop with ``call_soon_threadsafe``.

Protocol (kernel → views, custom widget messages)::

    {"kind": "delta", "seq": n, "now": t, "ops": [op, ...]}   at most ``max_fps`` a second
    {"kind": "snapshot", "seq": n, "now": t, "state": {"turns": [...]}}
    {"kind": "notice", "text": "..."}                           a request was refused

    op: {"op": "turn", "t", "turn"}        a new turn (its whole state, usually empty)
        {"op": "part", "t", "i", "kind", "call_id", "text"}   part i appears
        {"op": "text", "t", "i", "text"}   text appended to part i
        {"op": "tool", "t", "call"}        a tool call's fields changed (merged)
        {"op": "args", "t", "call_id", "text"}  streamed argument text appended
        {"op": "meta", "t", "meta"}        run-level fields changed (merged)

Views → kernel: ``{"kind": "hello", "have": n}`` when a view starts, ``{"kind": "resync",
"have": n}`` on a gap, ``{"kind": "stop", "t": k}``, ``{"kind": "followup", "text": s}`` and
``{"kind": "send", "text": s}`` (the chat cell's input box).

Deltas are numbered; a snapshot carries the number of the last delta it includes, so a view
that applies the snapshot and then only the deltas numbered after it applies nothing twice.
The last frame of a run goes out as soon as the run ends, even inside the rate limit, so
``wait()`` returns after the views and the static copy are final.
The structured transcript (same shape as a snapshot's state, plus ``seq``) is also written to
the synced ``transcript`` trait when a turn starts, at tool-call boundaries and when a run
ends — never per token — so a view created later, or a notebook saved with widget state,
starts from it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .._core.handle import RunHandle
from .._core.loop import get_loop
from .._core.run import Run, ToolCall
from ..events import Event, ToolCallFinished, ToolCallStarted

__all__ = ["MAX_TOOL_OUTPUT_CHARS", "ChatController", "ControllerSink", "StartRun"]

MAX_TOOL_OUTPUT_CHARS = 256_000
"""A tool output longer than this (as text) is sent cut to this length, marked truncated."""

StartRun = Callable[[str], "RunHandle | None"]
"""Starts the next run of a conversation for a follow-up or a typed message."""


class ControllerSink(Protocol):
    """Where the controller's output goes (the widget)."""

    def send(self, content: dict[str, Any]) -> None:
        """Send one custom message to every view."""

    def set_transcript(self, transcript: dict[str, Any]) -> None:
        """Write the synced transcript state."""

    def run_ended(self) -> None:
        """A run ended and its last frame went out (refresh static copies)."""


# ---- wire shapes --------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    """``value`` if it is JSON data, else its ``str`` (tool outputs can be anything)."""
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value


def tool_wire(call: ToolCall, *, with_arguments_text: bool = True) -> dict[str, Any]:
    """A tool call as the views get it; a huge output is cut to ``MAX_TOOL_OUTPUT_CHARS``."""
    wire: dict[str, Any] = {
        "call_id": call.call_id,
        "name": call.name,
        "arguments": _jsonable(call.arguments),
        "error": call.error,
        "status": call.status,
        "started_at": call.started_at,
        "finished_at": call.finished_at,
        "duration": call.duration,
    }
    if with_arguments_text:
        wire["arguments_text"] = call.arguments_text
    output = _jsonable(call.output)
    text = output if isinstance(output, str) else json.dumps(output, indent=2)
    if len(text) > MAX_TOOL_OUTPUT_CHARS:
        wire["output"] = text[:MAX_TOOL_OUTPUT_CHARS]
        wire["output_truncated"] = True
        wire["output_chars"] = len(text)
    else:
        wire["output"] = output
    return wire


def meta_wire(run: Run) -> dict[str, Any]:
    """Run-level fields shown in the status line, error banner and chips."""
    return {
        "status": run.status,
        "agent": run.agent,
        "message": run.message,
        "run_id": run.run_id,
        "thread_id": run.thread_id,
        "usage": run.usage.model_dump() if run.usage else None,
        "ttft": run.ttft,
        "started_at": run.started_at,
        "first_token_at": run.first_token_at,
        "finished_at": run.finished_at,
        "duration": run.duration if run.done else None,
        "tokens_per_second": run.tokens_per_second,
        "execution_time": run.execution_time,
        "followups": list(run.followups),
        "error": run.error.to_dict() if run.error else None,
    }


def _tool_signature(call: ToolCall) -> tuple[Any, ...]:
    return (call.name, call.status, call.error, call.finished_at, call.arguments is None)


def _suffix(chunks: list[str], total: int, start: int) -> str:
    """Characters ``start:total`` of the text held as ``chunks``, touching only the tail."""
    need = total - start
    if need <= 0:
        return ""
    picked: list[str] = []
    have = 0
    for chunk in reversed(chunks):
        picked.append(chunk)
        have += len(chunk)
        if have >= need:
            break
    tail = "".join(reversed(picked))
    return tail[len(tail) - need :]


# ---- one turn -----------------------------------------------------------------------------


@dataclass
class _Turn:
    """A run shown by the widget, and what of it the views have been sent."""

    run: Run
    handle: RunHandle | None
    sent_text: list[int] = field(default_factory=list)
    sent_tools: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    sent_args: dict[str, int] = field(default_factory=dict)
    sent_meta: dict[str, Any] = field(default_factory=dict)
    announced: bool = False
    ended: bool = False

    def wire(self) -> dict[str, Any]:
        run = self.run
        return {
            "parts": [
                {"kind": p.kind, "text": _suffix(list(p.chunks), p.length, 0), "call_id": p.call_id}
                for p in run.parts
            ],
            "tools": [tool_wire(c) for c in run.tool_calls],
            "meta": meta_wire(run),
        }

    def mark_all_sent(self) -> None:
        run = self.run
        self.sent_text = [p.length for p in run.parts]
        self.sent_tools = {c.call_id: _tool_signature(c) for c in run.tool_calls}
        self.sent_args = {c.call_id: len(c.arguments_text) for c in run.tool_calls}
        self.sent_meta = meta_wire(run)

    def diff(self, t: int) -> list[dict[str, Any]]:
        """The ops that bring a view from what was sent to the run's current state."""
        if not self.announced:
            self.announced = True
            op = {"op": "turn", "t": t, "turn": self.wire()}
            self.mark_all_sent()
            return [op]
        ops: list[dict[str, Any]] = []
        parts = list(self.run.parts)
        for i, part in enumerate(parts):
            chunks = list(part.chunks)
            if i >= len(self.sent_text):
                ops.append(
                    {
                        "op": "part",
                        "t": t,
                        "i": i,
                        "kind": part.kind,
                        "call_id": part.call_id,
                        "text": _suffix(chunks, part.length, 0),
                    }
                )
                self.sent_text.append(part.length)
            elif part.length > self.sent_text[i]:
                text = _suffix(chunks, part.length, self.sent_text[i])
                ops.append({"op": "text", "t": t, "i": i, "text": text})
                self.sent_text[i] = part.length
        for call in list(self.run.tool_calls):
            ops.extend(self._tool_ops(t, call))
        meta = meta_wire(self.run)
        changed = {k: v for k, v in meta.items() if self.sent_meta.get(k, object()) != v}
        if changed:
            ops.append({"op": "meta", "t": t, "meta": changed})
            self.sent_meta = meta
        return ops

    def _tool_ops(self, t: int, call: ToolCall) -> list[dict[str, Any]]:
        ops: list[dict[str, Any]] = []
        signature = _tool_signature(call)
        known = call.call_id in self.sent_tools
        if not known:
            ops.append({"op": "tool", "t": t, "call": tool_wire(call)})
            self.sent_args[call.call_id] = len(call.arguments_text)
        elif self.sent_tools[call.call_id] != signature:
            ops.append({"op": "tool", "t": t, "call": tool_wire(call, with_arguments_text=False)})
        self.sent_tools[call.call_id] = signature
        sent_args = self.sent_args.get(call.call_id, 0)
        if len(call.arguments_text) > sent_args:
            text = call.arguments_text[sent_args:]
            ops.append({"op": "args", "t": t, "call_id": call.call_id, "text": text})
            self.sent_args[call.call_id] = len(call.arguments_text)
        return ops


# ---- the controller -----------------------------------------------------------------------


class ChatController:
    """Routes the runs of one widget to its views, on the background loop."""

    def __init__(
        self,
        sink: ControllerSink,
        *,
        start_run: StartRun | None = None,
        max_fps: float = 30.0,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if max_fps <= 0:
            raise ValueError(f"max_fps must be positive, got {max_fps!r}")
        self._sink = sink
        self._start_run = start_run
        self._interval = 1.0 / max_fps
        self._loop = loop or get_loop()
        self._turns: list[_Turn] = []
        self._lock = threading.Lock()
        self._seq = 0
        self._flush_handle: asyncio.TimerHandle | None = None
        self._last_flush = float("-inf")
        self._snapshot_wanted = False
        self._transcript_dirty = False
        self._ended_pending = False
        self._starting = False
        self._closed = False
        self.frames_sent = 0
        """Messages sent to the views (deltas and snapshots), for tests and benchmarks."""

    # ---- any thread --------------------------------------------------------------------
    def add(self, run: Run, handle: RunHandle | None = None) -> int:
        """Show ``run`` as the next turn (returns its index); with a handle, follow it live."""
        with self._lock:
            self._turns.append(_Turn(run=run, handle=handle))
            index = len(self._turns) - 1
        self._loop.call_soon_threadsafe(self._follow, index)
        return index

    @property
    def start_run(self) -> StartRun | None:
        """The callback that starts the next turn's run, if the cell can start runs."""
        return self._start_run

    def receive(self, content: Any) -> None:
        """A message from a view, on whatever thread the kernel delivered it."""
        self._loop.call_soon_threadsafe(self._on_message, content)

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._close)

    @property
    def seq(self) -> int:
        return self._seq

    @property
    def runs(self) -> list[Run]:
        return [turn.run for turn in list(self._turns)]

    @property
    def handles(self) -> list[RunHandle]:
        return [turn.handle for turn in list(self._turns) if turn.handle is not None]

    # ---- loop thread -------------------------------------------------------------------
    def _follow(self, index: int) -> None:
        turn = self._turns[index]
        self._transcript_dirty = True
        if turn.handle is not None:
            turn.handle.add_listener(lambda r, e: self._on_event(index, r, e))
        else:
            turn.ended = turn.run.done
        self._schedule()

    def _on_event(self, index: int, run: Run, event: Event | None) -> None:
        turn = self._turns[index]
        turn.run = run
        if isinstance(event, ToolCallStarted | ToolCallFinished):
            self._transcript_dirty = True
        if event is None and not turn.ended:
            turn.ended = True
            self._transcript_dirty = True
            self._ended_pending = True
            # The end goes out at once, before the handle's waiters wake: a cell that waited
            # for the run ends with the views and the static copy already final.
            if self._flush_handle is not None:
                self._flush_handle.cancel()
            self._flush()
            return
        self._schedule()

    def _schedule(self) -> None:
        if self._flush_handle is not None or self._closed:
            return
        delay = max(0.0, self._last_flush + self._interval - self._loop.time())
        self._flush_handle = self._loop.call_later(delay, self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        if self._closed:
            return
        ops: list[dict[str, Any]] = []
        for t, turn in enumerate(self._turns):
            ops.extend(turn.diff(t))
        sent = False
        if ops:
            self._seq += 1
            self._send({"kind": "delta", "seq": self._seq, "now": time.time(), "ops": ops})
            sent = True
        if self._snapshot_wanted:
            self._snapshot_wanted = False
            self._send(
                {"kind": "snapshot", "seq": self._seq, "now": time.time(), "state": self._state()}
            )
            sent = True
        if sent:
            self._last_flush = self._loop.time()
        if self._transcript_dirty:
            self._transcript_dirty = False
            self._guard(self._sink.set_transcript, {"seq": self._seq, **self._state()})
        if self._ended_pending:
            self._ended_pending = False
            self._guard(self._sink.run_ended)

    def _state(self) -> dict[str, Any]:
        return {"turns": [turn.wire() for turn in self._turns]}

    def _send(self, content: dict[str, Any]) -> None:
        self.frames_sent += 1
        self._guard(self._sink.send, content)

    def _guard(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except Exception as exc:  # a closed comm must not break the run or the loop
            warnings.warn(f"agentnb: chat widget update failed: {exc!r}", stacklevel=1)

    def _notice(self, text: str) -> None:
        self._send({"kind": "notice", "text": text})

    def _on_message(self, content: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("kind")
        if kind in ("hello", "resync"):
            self._snapshot_wanted = True
            self._schedule()
        elif kind == "stop":
            self._stop(content.get("t"))
        elif kind in ("followup", "send"):
            text = content.get("text")
            if isinstance(text, str) and text.strip():
                self._begin_next(text.strip())

    def _stop(self, index: Any) -> None:
        turns = self._turns
        if isinstance(index, int) and 0 <= index < len(turns):
            turns = [turns[index]]
        for turn in turns:
            if turn.handle is not None and not turn.run.done:
                turn.handle.cancel()

    def _begin_next(self, text: str) -> None:
        if self._start_run is None:
            self._notice("This cell cannot start runs; copy the question into a new cell.")
            return
        if self._starting or any(not turn.run.done for turn in self._turns):
            self._notice("A run is still going; wait for it to end or stop it first.")
            return
        self._starting = True
        start_run = self._start_run
        # The caller's callback may block (open a thread on the server, wait on the loop):
        # run it on a worker thread so the loop stays free.
        future = self._loop.run_in_executor(None, start_run, text)
        future.add_done_callback(self._started)

    def _started(self, future: asyncio.Future[RunHandle | None]) -> None:
        self._starting = False
        try:
            handle = future.result()
        except Exception as exc:
            self._notice(f"Could not start the run: {exc}")
            return
        if handle is None:
            return
        if not isinstance(handle, RunHandle):
            self._notice(f"start_run returned {type(handle).__name__}, not a RunHandle.")
            return
        self.add(handle.run, handle)

    def _close(self) -> None:
        self._closed = True
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None

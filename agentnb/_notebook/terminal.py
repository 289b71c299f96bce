"""Text views of a run: live in a terminal, or as a plain-text output in a notebook.

Everything a server sent (answer, reasoning, tool names, arguments, outputs, errors) goes
through :func:`~agentnb._core.text.terminal_safe` first, so a server cannot write the
clipboard, retitle the window or clear the screen through the answer."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import IO, Any

from IPython.display import display

from .._core.run import Run
from .._core.text import terminal_safe
from ..events import (
    Event,
    ReasoningDelta,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
)
from .static import status_line

__all__ = ["PlainDisplay", "TerminalPrinter", "summary_line"]

DIM, RED, GREEN, CYAN, RESET = "\x1b[2m", "\x1b[31m", "\x1b[32m", "\x1b[36m", "\x1b[0m"


def summary_line(run: Run) -> str:
    """One line: status, duration, time to first token, tokens, rate, run id, tools, error
    (the same status line the widget's static copy shows), safe for a terminal."""
    bits = [status_line(run)]
    if run.tool_calls:
        bits.append(f"{len(run.tool_calls)} tool call(s)")
    if run.error is not None:
        code = f"[{run.error.code}] " if run.error.code else ""
        bits.append(f"error: {code}{run.error.message}")
    return terminal_safe(" · ".join(bits))


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else _as_json(value)
    text = " ".join(terminal_safe(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _as_json(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (RecursionError, ValueError):  # nested too deep, or a cycle
        return f"({type(value).__name__} nested too deeply to show)"


class TerminalPrinter:
    """A run listener printing the run as it streams: reasoning dimmed, tool calls as one-line
    notes, the answer as it arrives, and a summary line at the end."""

    def __init__(self, out: IO[str] | None = None, *, color: bool | None = None) -> None:
        self._out = out or sys.stdout
        if color is None:
            color = self._out.isatty() and os.environ.get("NO_COLOR") is None
        self._color = color
        self._last: str | None = None

    def _paint(self, text: str, code: str) -> str:
        return f"{code}{text}{RESET}" if self._color else text

    def _switch(self, kind: str, header: str | None = None) -> None:
        if self._last is not None and self._last != kind:
            self._out.write("\n")
        if self._last != kind and header:
            self._out.write(header)
        self._last = kind

    def __call__(self, run: Run, event: Event | None) -> None:
        match event:
            case ReasoningDelta():
                fresh = self._last != "reasoning"
                self._switch("reasoning", self._paint("thinking: ", DIM))
                delta = event.delta.lstrip() if fresh else event.delta
                self._out.write(self._paint(terminal_safe(delta), DIM))
            case TextDelta():
                self._switch("text")
                self._out.write(terminal_safe(event.delta))
            case ToolCallStarted():
                self._switch("tool")
                args = "" if event.arguments is None else _short(event.arguments, 80)
                self._out.write(self._paint(f"→ {_short(event.name, 80)}({args})\n", CYAN))
            case ToolCallFinished():
                self._switch("tool")
                self._out.write(self._tool_result(run, event))
            case None:
                self._switch("end")
                ok = run.status == "completed"
                self._out.write(self._paint(summary_line(run), GREEN if ok else RED) + "\n")
                self._out.write(self._followups(run))
            case _:
                return
        self._out.flush()

    def _followups(self, run: Run) -> str:
        if not run.followups:
            return ""
        lines = [f"  • {_short(question, 200)}" for question in run.followups]
        return self._paint("follow-ups:\n" + "\n".join(lines) + "\n", CYAN)

    def _tool_result(self, run: Run, event: ToolCallFinished) -> str:
        call = run.tool_call(event.call_id)
        name = _short(call.name if call else event.call_id, 80)
        took = f" ({call.duration:.2f} s)" if call and call.duration is not None else ""
        if event.error is not None:
            return self._paint(f"  ✗ {name}{took}: {_short(event.error)}\n", RED)
        return self._paint(f"  ✓ {name}{took}: {_short(event.output)}\n", DIM)


class PlainDisplay:
    """A run listener showing the run as one text output in a notebook, refreshed through a
    display handle at most ten times a second (display updates find their output by id, so
    they land in the right cell whichever cell is running)."""

    interval = 0.1

    def __init__(self) -> None:
        self._handle = display(  # type: ignore[no-untyped-call]
            {"text/plain": "(starting…)"}, raw=True, display_id=True
        )
        self._last = 0.0

    def __call__(self, run: Run, event: Event | None) -> None:
        now = time.monotonic()
        if event is not None and now - self._last < self.interval:
            return
        self._last = now
        if self._handle is not None:
            self._handle.update({"text/plain": render_plain(run)}, raw=True)


def render_plain(run: Run) -> str:
    """The whole run as plain text."""
    lines: list[str] = []
    if run.reasoning:
        lines.append("thinking: " + terminal_safe(run.reasoning.strip()))
    for call in run.tool_calls:
        args = "" if call.arguments is None else _short(call.arguments, 80)
        outcome = (
            f"✗ {_short(call.error)}"
            if call.error is not None
            else ("…" if call.status == "running" else f"✓ {_short(call.output)}")
        )
        lines.append(f"→ {_short(call.name, 80)}({args}) {outcome}")
    if run.text:
        lines.append(terminal_safe(run.text))
    lines.append(summary_line(run))
    return "\n".join(lines)

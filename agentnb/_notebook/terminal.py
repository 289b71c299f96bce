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

from .._core.run import Run, ToolCall
from .._core.shown_call import shown_call, visible
from .._core.text import terminal_safe
from ..events import (
    Event,
    ReasoningDelta,
    RunPaused,
    StepReset,
    TextDelta,
    ToolApprovalRequested,
    ToolApprovalResponded,
    ToolCallDenied,
    ToolCallFinished,
    ToolCallStarted,
    Usage,
)
from .call_tree import MAX_INDENT, call_tree
from .static import NO_RESULT_NOTE, TOOL_MARKS, status_line
from .static_pieces import tokens_text

__all__ = ["PlainDisplay", "TerminalPrinter", "summary_line"]

DIM, RED, GREEN, YELLOW, CYAN, RESET = (
    "\x1b[2m",
    "\x1b[31m",
    "\x1b[32m",
    "\x1b[33m",
    "\x1b[36m",
    "\x1b[0m",
)


def summary_line(run: Run) -> str:
    """One line: status, duration, time to first token, tokens, rate, run id, tools (with
    how many were denied or never reported a result), error (the same status line the
    widget's static copy shows), safe for a terminal."""
    bits = [status_line(run)]
    if run.tool_calls:
        statuses = [call.status for call in run.tool_calls]
        odd = [
            f"{statuses.count(status)} {label}"
            for status, label in (("denied", "denied"), ("no_result", "without a result"))
            if status in statuses
        ]
        bits.append(f"{len(run.tool_calls)} tool call(s)" + (f" ({', '.join(odd)})" if odd else ""))
    if run.error is not None:
        code = f"[{run.error.code}] " if run.error.code else ""
        bits.append(f"error: {code}{run.error.message}")
    return terminal_safe(" · ".join(bits))


def _short(value: Any, limit: int = 120) -> str:
    """``value`` on one line, clipped: every line break, control or format character in it
    shown as ``⟨U+XXXX⟩`` (it comes from the server: it must not forge a line)."""
    text = visible(value if isinstance(value, str) else _as_json(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _as_json(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (RecursionError, ValueError):  # nested too deep, or a cycle
        return f"({type(value).__name__} nested too deeply to show)"


def _indent(level: int) -> str:
    """Two spaces per level of nesting, at most ``MAX_INDENT`` levels."""
    return "  " * min(level, MAX_INDENT)


def _nested_mark(level: int, agent: str | None) -> str:
    """``↳ [agent] `` before a call made inside another (and its depth past the cap)."""
    if level == 0:
        return ""
    depth = f"[depth {level}] " if level > MAX_INDENT else ""
    return f"↳ {depth}" + (f"[{_short(agent, 40)}] " if agent else "")


class TerminalPrinter:
    """A run listener printing the run as it streams: reasoning dimmed, tool calls as one-line
    notes (awaiting approval, approved, denied with the reason, no result), a pause, the
    answer as it arrives, and a summary line at the end.

    A call a sub-agent made inside another is indented under it with the agent's name (the
    tree of :mod:`agentnb._notebook.call_tree`); what a sub-agent writes or thinks inside a
    call is printed dimmed on that call's indented ``┆`` lines, never in the answer."""

    def __init__(self, out: IO[str] | None = None, *, color: bool | None = None) -> None:
        self._out = out or sys.stdout
        if color is None:
            color = self._out.isatty() and os.environ.get("NO_COLOR") is None
        self._color = color
        self._last: str | None = None
        self._shown: set[str] = set()
        """Calls whose start line was printed."""
        self._denied: set[str] = set()
        """Calls whose denial was printed."""
        self._level: dict[str, int] = {}
        """The nesting level of each call seen (0 at the top), by the call tree's rule."""

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
            case TextDelta() | ReasoningDelta() if event.parent_call_id is not None:
                self._sub_agent(run, event)
            case ReasoningDelta():
                fresh = self._last != "reasoning"
                self._switch("reasoning", self._paint("thinking: ", DIM))
                delta = event.delta.lstrip() if fresh else event.delta
                self._out.write(self._paint(terminal_safe(delta), DIM))
            case TextDelta():
                self._switch("text")
                self._out.write(terminal_safe(event.delta))
            case ToolCallStarted():
                self._level_of(run, event.call_id)  # its place is where it started
                if event.arguments is None or event.call_id in self._shown:
                    return  # one line a call, with its arguments: printed once they are known
                self._switch("tool")
                self._start_line(event.call_id, event.name, event.arguments, run)
            case ToolCallFinished():
                self._switch("tool")
                self._show_start(run, event.call_id)
                self._out.write(self._tool_result(run, event))
            case ToolApprovalRequested() | ToolApprovalResponded() | ToolCallDenied():
                self._switch("tool")
                self._approval(run, event)
            case RunPaused():
                self._switch("tool")
                self._out.write(self._paint(self._pause(run), YELLOW))
            case StepReset():
                self._switch("tool")
                note = "↺ the agent discarded its last step (the text above may not stand)\n"
                self._out.write(self._paint(note, DIM))
            case None:
                self._switch("end")
                for call in run.tool_calls:  # started, never given arguments nor a result
                    self._show_start(run, call.call_id)
                self._out.write(self._unreported(run))
                self._out.write(self._unapproved(run))
                ok = run.status == "completed"
                self._out.write(self._paint(summary_line(run), GREEN if ok else RED) + "\n")
                self._out.write(self._followups(run))
            case _:
                return
        self._out.flush()

    def _level_of(self, run: Run, call_id: str) -> int:
        """A call's nesting level: its parent's + 1 when the parent was seen before it."""
        level = self._level.get(call_id)
        if level is None:
            call = run.tool_call(call_id)
            parent = call.parent_call_id if call is not None else None
            level = self._level[parent] + 1 if parent in self._level else 0
            self._level[call_id] = level
        return level

    def _show_start(self, run: Run, call_id: str) -> None:
        call = run.tool_call(call_id)
        if call_id not in self._shown and call is not None:
            self._start_line(call_id, call.name, call.arguments, run)

    def _start_line(self, call_id: str, name: str, arguments: object, run: Run) -> None:
        self._shown.add(call_id)
        level = self._level_of(run, call_id)
        call = run.tool_call(call_id)
        mark = _nested_mark(level, call.agent if call is not None else None)
        shown = shown_call(ToolCall(call_id, name, arguments), value_chars=80)
        flags = "".join(f"  ⚠ {note}" for note in shown.warnings())
        line = f"{_indent(level)}{mark}→ {shown.signature()}{flags}\n"
        self._out.write(self._paint(line, CYAN))

    def _sub_agent(self, run: Run, event: TextDelta | ReasoningDelta) -> None:
        """A sub-agent's text or reasoning, on the dimmed ``┆`` lines of its call, its line
        breaks folded to spaces (compact: the answer is the top agent's)."""
        call_id = event.parent_call_id or ""
        kind = f"{event.type}/{call_id}"
        if self._last != kind:
            if self._last == "tool":
                self._last = None  # a tool line ended with its line break
            level = self._level_of(run, call_id) + 1
            who = _short(event.agent, 40) if event.agent else "sub-agent"
            thinks = " thinking" if event.type == "reasoning_delta" else ""
            self._switch(kind, self._paint(f"{_indent(level)}┆ {who}{thinks}: ", DIM))
        delta = terminal_safe(event.delta).replace("\r", " ").replace("\n", " ")
        self._out.write(self._paint(delta, DIM))

    def _approval(
        self, run: Run, event: ToolApprovalRequested | ToolApprovalResponded | ToolCallDenied
    ) -> None:
        call = run.tool_call(event.call_id)
        name = _short(call.name if call and call.name else event.call_id, 80)
        pad = _indent(self._level_of(run, event.call_id))
        if isinstance(event, ToolApprovalRequested):
            self._show_start(run, event.call_id)
            why = f": {_short(event.reason, 200)}" if event.reason else ""
            if event.question is not None:
                why = f" asks: {_short(event.question, 500)}"
            else:
                why = f" awaits approval{why}"
            line = f"{pad}  {TOOL_MARKS['awaiting_approval']} {name}{why}\n"
            self._out.write(self._paint(line, YELLOW))
        elif isinstance(event, ToolApprovalResponded) and event.decided_by == "server":
            if (
                call is not None
                and call.approval is not None
                and call.approval.decided_by != "server"
            ):
                return  # the platform's echo of the decision made here: shown already
            said = "approved" if event.approved else "denied"
            line = f"{pad}  ⚠ {name} {said} by the server itself, not by you\n"
            self._out.write(self._paint(line, YELLOW))
        elif isinstance(event, ToolApprovalResponded) and event.approved:
            said = "approved" if event.answer is None else f"answered: {_short(event.answer, 200)}"
            self._out.write(self._paint(f"{pad}  ✓ {name} {said}\n", GREEN))
        elif event.call_id not in self._denied:
            self._denied.add(event.call_id)
            reason = event.reason or (call.error if call else None)
            why = f": {_short(reason, 200)}" if reason else ""
            line = f"{pad}  {TOOL_MARKS['denied']} {name} denied{why}\n"
            self._out.write(self._paint(line, RED))

    def _pause(self, run: Run) -> str:
        names = ", ".join(_short(c.name or c.call_id, 80) for c in run.awaiting_approval)
        waiting = f" on {names}" if names else ""
        return f"{TOOL_MARKS['awaiting_approval']} paused: waiting for a decision{waiting}\n"

    def _unreported(self, run: Run) -> str:
        calls = [call for call in run.tool_calls if call.status == "no_result"]
        if not calls:
            return ""
        lines = [f"  {TOOL_MARKS['no_result']} {_short(c.name, 80)}: no result\n" for c in calls]
        return self._paint("".join(lines) + f"    {NO_RESULT_NOTE}\n", YELLOW)

    def _unapproved(self, run: Run) -> str:
        """The calls that ran without the user's approval, one line each, before the summary."""
        lines = [f"  ⚠ {_short(c.name, 80)}: {c.unapproved}\n" for c in run.unapproved_calls]
        return self._paint("".join(lines), YELLOW) if lines else ""

    def _followups(self, run: Run) -> str:
        if not run.followups:
            return ""
        lines = [f"  • {_short(question, 200)}" for question in run.followups]
        return self._paint("follow-ups:\n" + "\n".join(lines) + "\n", CYAN)

    def _tool_result(self, run: Run, event: ToolCallFinished) -> str:
        call = run.tool_call(event.call_id)
        name = _short(call.name if call else event.call_id, 80)
        took = f" ({call.duration:.2f} s)" if call and call.duration is not None else ""
        tokens = tokens_text(call.usage) if call and isinstance(call.usage, Usage) else ""
        took += f" [{tokens}]" if tokens else ""
        pad = _indent(self._level_of(run, event.call_id))
        if event.error is not None:
            return self._paint(f"{pad}  ✗ {name}{took}: {_short(event.error)}\n", RED)
        return self._paint(f"{pad}  ✓ {name}{took}: {_short(event.output)}\n", DIM)


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
    tree = call_tree(run.tool_calls)
    for root in (call for call in run.tool_calls if not tree.is_nested(call)):
        for call, opening in tree.walk(root):
            if opening:
                lines += _plain_call(call, tree.level[call.call_id])
    if run.text:
        lines.append(terminal_safe(run.text))
    lines.append(summary_line(run))
    return "\n".join(lines)


def _plain_call(call: ToolCall, level: int) -> list[str]:
    """A call's line, indented by its level, and one line of what its sub-agent wrote (named
    as the live printer names it)."""
    args = "" if call.arguments is None else _short(call.arguments, 80)
    pad, mark = _indent(level), _nested_mark(level, call.agent)
    lines = [f"{pad}{mark}→ {_short(call.name, 80)}({args}) {_plain_outcome(call)}"]
    if call.agent_text:
        who = _short(call.sub_agent, 40) if call.sub_agent else "sub-agent"
        lines.append(f"{_indent(level + 1)}┆ {who}: {_short(call.agent_text, 160)}")
    return lines


def _plain_outcome(call: ToolCall) -> str:
    """How a call ended (or waits), after its arguments."""
    mark = TOOL_MARKS.get(call.status, "…")
    match call.status:
        case "running":
            return "…"
        case "awaiting_approval":
            return f"{mark} awaiting approval"
        case "denied":
            return f"{mark} denied" + (f": {_short(call.error)}" if call.error else "")
        case "no_result":
            return f"{mark} no result (the platform never reported it)"
        case "failed":
            return f"{mark} {_short(call.error)}"
    return f"{mark} {_short(call.output)}"

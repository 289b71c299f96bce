"""`agentnb.show`: display a run as a chat cell, without magics."""

from __future__ import annotations

import sys
from typing import IO, Any

from ._controller import StartRun
from ._handle import RunHandle, StreamSource
from ._run import Run
from ._static import static_text
from ._widget import ChatCell, _kernel_shell
from .events import Event, ReasoningDelta, TextDelta, ToolCallFinished, ToolCallStarted

__all__ = ["show"]


def _is_stream(value: Any) -> bool:
    return (
        isinstance(getattr(value, "run", None), Run)
        and hasattr(value, "__aenter__")
        and hasattr(value, "__aiter__")
    )


def _as_source(value: Any) -> RunHandle | Run:
    if isinstance(value, RunHandle | Run):
        return value
    if _is_stream(value):
        stream: StreamSource = value
        return RunHandle.start(lambda: stream, run=stream.run)
    raise TypeError(
        "agentnb.show() takes a RunHandle, a RunStream (client.stream(...)), a finished Run "
        f"or a ChatCell, not {type(value).__name__}"
    )


def show(
    source: RunHandle | Run | StreamSource | ChatCell, *, on_followup: StartRun | None = None
) -> ChatCell:
    """Display a run as a live chat cell and return the `ChatCell`.

    ``source`` may be a `RunHandle` (followed live), a stream from
    ``AsyncAgentClient.stream(...)`` (started on agentnb's background loop; the handle is
    ``cell.handle``), a finished `Run` (shown as it is) or a `ChatCell`.
    ``on_followup(text) -> RunHandle | None`` lets the follow-up chips start the next run of
    the conversation, shown as the cell's next turn (so it must not display the run itself);
    without it the chips copy the question.

    In a notebook the display holds the live view plus a static copy (HTML, markdown, text)
    that is refreshed when the run ends, so saved notebooks show the final answer. A cell
    ending with ``agentnb.show(...)`` shows the cell once (the returned value is not echoed).
    Outside a notebook the run is printed as text as it streams.
    """
    if isinstance(source, ChatCell):
        if on_followup is not None:
            raise TypeError("on_followup is set when the ChatCell is built, not by show()")
        cell = source
    else:
        cell = ChatCell(_as_source(source), on_followup=on_followup)
    shell = _kernel_shell()
    if shell is None:
        _print_live(cell)
        return cell
    cell.publish()
    cell._echo_guard = shell.execution_count
    return cell


# ---- outside a notebook -------------------------------------------------------------------


class _TerminalPrinter:
    """Prints a run as it streams: reasoning and answer text, one line per tool call."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out
        self._last_kind = ""

    def __call__(self, run: Run, event: Event | None) -> None:
        out = self._out
        if isinstance(event, ReasoningDelta | TextDelta):
            kind = event.type
            if kind != self._last_kind:
                label = "[thinking] " if kind == "reasoning_delta" else ""
                out.write(("\n" if self._last_kind else "") + label)
                self._last_kind = kind
            out.write(event.delta)
        elif isinstance(event, ToolCallStarted):
            out.write(f"\n→ {event.name}({_short(event.arguments)})\n")
            self._last_kind = "tool"
        elif isinstance(event, ToolCallFinished):
            call = run.tool_call(event.call_id)
            name = call.name if call else event.call_id
            mark = "✗ " + (event.error or "") if event.error else "✓"
            out.write(f"← {name} {mark}\n")
            self._last_kind = "tool"
        elif event is None:
            out.write("\n" + static_text([run], answer_chars=0).split("\n", 1)[0] + "\n")
        out.flush()


def _short(value: Any, limit: int = 120) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _print_live(cell: ChatCell, out: IO[str] | None = None) -> None:
    stream = out or sys.stdout
    handle = cell.handle
    if handle is not None:
        handle.add_listener(_TerminalPrinter(stream))
        return
    stream.write(static_text(cell.runs, answer_chars=None) + "\n")
    stream.flush()

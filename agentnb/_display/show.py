"""`show_live`: display a live or finished run as a chat cell, without magics (what
`agentnb.show` does once it has found the run)."""

from __future__ import annotations

import sys
import weakref
from typing import IO, Any

from IPython.display import display

from .._core.handle import RunHandle, StreamSource
from .._core.run import Run
from .controller import StartRun
from .environment import kernel_shell
from .marimo import in_marimo, show_in_marimo
from .static_copy import static_text
from .terminal import TerminalPrinter
from .verdicts import VerdictKeeper
from .widget import ChatCell

__all__ = ["show_live"]


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
        "agentnb.show() takes a RunHandle, an AsyncRunStream (client.stream(...)), a finished Run "
        f"or a ChatCell, not {type(value).__name__}"
    )


def show_live(
    source: RunHandle | Run | StreamSource | ChatCell,
    *,
    on_followup: StartRun | None = None,
    keep_verdict: VerdictKeeper | None = None,
) -> ChatCell:
    """Display a run as a live chat cell and return the `ChatCell`.

    ``source`` may be a `RunHandle` (followed live), a stream from
    ``AsyncAgentClient.stream(...)`` (started on agentnb's background loop; the handle is
    ``cell.handle``), a finished `Run` (shown as it is) or a `ChatCell`.
    ``on_followup(text) -> RunHandle | None`` lets the follow-up chips start the next run of
    the conversation, shown as the cell's next turn (so it must not display the run itself);
    without it the chips copy the question. ``keep_verdict`` as for `ChatCell` (a `ChatCell`
    given keeps its own).

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
        cell = ChatCell(_as_source(source), on_followup=on_followup, keep_verdict=keep_verdict)
    shell = kernel_shell()
    if shell is None:
        if in_marimo():
            show_in_marimo(cell)
            return cell
        _print_live(cell)
        return cell
    cell.publish()
    cell._echo_guard = shell.execution_count
    if cell.handle is not None:
        _shown_live[cell.handle] = shell.execution_count
        shell.display_formatter.ipython_display_formatter.for_type(RunHandle, _echo_handle)
    return cell


_shown_live: weakref.WeakKeyDictionary[RunHandle, int] = weakref.WeakKeyDictionary()
"""Each handle a chat cell follows, with the execution count of the cell that showed it."""


def _echo_handle(handle: RunHandle) -> None:
    """A handle a cell ends with (``agentnb.ask(...)`` as its last line): nothing where the
    cell shows its run live above, whose status the handle's text would contradict at once
    (``status=running chars=0`` under a finished answer); its text anywhere else."""
    shell = kernel_shell()
    if shell is not None and _shown_live.get(handle) == shell.execution_count:
        return
    shown = {"text/plain": repr(handle), "text/html": handle._repr_html_()}
    display(shown, raw=True)  # type: ignore[no-untyped-call]


# ---- outside a notebook -------------------------------------------------------------------


def _print_live(cell: ChatCell, out: IO[str] | None = None) -> None:
    stream = out or sys.stdout
    handle = cell.handle
    if handle is not None:
        printer = TerminalPrinter(stream)
        handle.add_listener(printer, catch_up=printer.catch_up)  # a fast run may be gone
        return
    stream.write(static_text(cell.runs, answer_chars=None) + "\n")
    stream.flush()

"""The ``Approve? [y/N]`` prompt a run that blocks a terminal asks at (or, when the agent asks
a free-form question, an ``Answer:`` prompt whose line is the answer); ``--approve ask``
chooses it (:func:`agentnb._app.run_flags.approval_policy`).

The prompt runs when the platform pauses the run (the approver is consulted on agentnb's
loop, see :mod:`agentnb._core.approvals`). It reads the terminal from a helper thread that
polls, so that Ctrl-C — which cancels the run from the main thread — also ends the question
instead of leaving a reader behind to swallow the next line typed at the shell's prompt.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import sys
import threading
from typing import IO, Any

if sys.platform != "win32":
    import termios

from .._core.approvals import ApprovalDecision, question_of
from .._core.run import ToolCall
from .._core.text import excerpt, terminal_safe

__all__ = ["TerminalApprover", "answer_prompt", "question", "wait_for_readers"]

NO_TERMINAL = (
    "nobody could approve it: no terminal to ask at (stdin is not a tty); pass --approve all "
    "to allow it"
)
NO_ANSWER = "no answer at the approval prompt (end of input)"
NO_REPLY = "the user gave no answer to the question (an empty line)"
AT_PROMPT = "the user said no at the approval prompt"
MAX_ARGUMENTS = 2000
"""Characters of a call's arguments the prompt shows (they are what a person approves)."""


class TerminalApprover:
    """Asks ``Approve NAME(ARGS)? [y/N]`` for each call awaiting approval; ``y``/``yes``
    approves, anything else (or Enter) denies. A call whose agent asks a question gets the
    question and an ``Answer:`` prompt instead: the line typed is the answer (an empty line
    denies). Without a terminal on stdin, or at the end of
    input, the call is denied with a reason saying so."""

    poll = 0.05
    """Seconds between two checks whether the run was cancelled while the question waits."""

    def __init__(self, out: IO[str] | None = None) -> None:
        self._out = out

    async def __call__(self, call: ToolCall) -> ApprovalDecision:
        stop = threading.Event()
        try:
            return await asyncio.to_thread(self.ask, call, stop)
        finally:
            stop.set()  # cancelled (Ctrl-C): the reading thread gives up at its next poll

    def ask(self, call: ToolCall, stop: threading.Event) -> ApprovalDecision:
        """Ask about ``call`` and wait for the answer (or for ``stop``)."""
        fd = _terminal_fd()
        if fd is None:
            return ApprovalDecision(call.call_id, False, NO_TERMINAL)
        if stop.is_set():  # cancelled before this thread started: touch nothing typed since
            return ApprovalDecision(call.call_id, False, NO_ANSWER)
        out = self._out or sys.stderr
        _drop_typeahead(fd)
        asked = question_of(call)
        out.write(question(call) if asked is None else answer_prompt(call, asked))
        out.flush()
        with _reading:
            answer = _read_line(fd, stop)
        if answer is None:
            if not stop.is_set():
                out.write("\n")
                out.flush()
            return ApprovalDecision(call.call_id, False, NO_ANSWER)
        if asked is not None:
            if not answer.strip():
                return ApprovalDecision(call.call_id, False, NO_REPLY)
            return ApprovalDecision(call.call_id, True, answer=answer)
        approved = answer.strip().lower() in ("y", "yes")
        return ApprovalDecision(call.call_id, approved, None if approved else AT_PROMPT)


class _Readers:
    """How many questions are reading the terminal, so the shell can wait until none is
    before it draws its prompt (a reader still polling would swallow the next line typed)."""

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()

    def __enter__(self) -> None:
        with self._changed:
            self._count += 1

    def __exit__(self, *exc: object) -> None:
        with self._changed:
            self._count -= 1
            self._changed.notify_all()

    def wait_until_none(self, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._count == 0, timeout)


_reading = _Readers()


def wait_for_readers(timeout: float = 2.0) -> bool:
    """Wait until no approval question reads the terminal any more (a cancelled run's
    question stops at its next poll); False if one still does after ``timeout`` seconds."""
    return _reading.wait_until_none(timeout)


def question(call: ToolCall) -> str:
    """``Approve NAME(ARGS)? [y/N] `` with the whole arguments, safe for a terminal."""
    shown = call.arguments_text if call.arguments is None else call.arguments
    arguments = excerpt(shown, MAX_ARGUMENTS)
    name = terminal_safe(call.name or call.call_id)
    return f"Approve {name}({arguments})? [y/N] "


def answer_prompt(call: ToolCall, asked: str) -> str:
    """``NAME asks: QUESTION`` and the ``Answer:`` prompt, safe for a terminal."""
    name = terminal_safe(call.name or call.call_id)
    shown = excerpt(asked, MAX_ARGUMENTS) or "(an empty question)"
    return f"{name} asks: {shown}\nAnswer (an empty line denies): "


def _terminal_fd() -> int | None:
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):  # replaced or closed stdin (pytest, daemons)
        return None
    return fd if os.isatty(fd) else None


def _drop_typeahead(fd: int) -> None:
    """Forget keys typed before the question, so that a stray ``y`` typed while the run
    streamed cannot approve a call nobody has seen yet."""
    if sys.platform != "win32":
        with contextlib.suppress(termios.error):
            termios.tcflush(fd, termios.TCIFLUSH)


def _read_line(fd: int, stop: threading.Event) -> str | None:
    """One line from the terminal ``fd``; None at the end of input or once ``stop`` is set."""
    data = b""
    while not stop.is_set():
        if not _readable(fd, TerminalApprover.poll):
            continue
        chunk = os.read(fd, 1024)
        if not chunk:
            return None
        data += chunk
        if b"\n" in data:
            return data.decode(errors="replace").splitlines()[0] if data.strip() else ""
    return None


def _readable(fd: int, timeout: float) -> bool:
    if sys.platform == "win32":  # select() takes only sockets there: block on the read
        return True
    ready: list[Any] = select.select([fd], [], [], timeout)[0]
    return bool(ready)

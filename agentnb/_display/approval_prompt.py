"""The ``Approve? [y/N]`` prompt a run that blocks a terminal asks at (or, when the agent asks
a free-form question, an ``Answer:`` prompt whose line is the answer); ``--approve ask``
chooses it (:func:`agentnb._app.front.run_flags.approval_policy`).

The prompt shows the call through :mod:`agentnb._core.shown_call`: every argument key with
its value, long values clipped one by one (the prompt then says so, and ``v`` prints the
whole call before asking again), and nothing the server sent can start a line or move the
cursor; what a dialect put aside (an ACP agent's bookkeeping) is left to ``v`` too. A short
call is one line, ``Approve name(key: value)? [y/N]``. A call the platform
sent in versions that disagree shows the one it acts on, then the others flagged; Enter (or
anything but ``y``) denies. A call that offers to be allowed for the rest of the run (a read
of the notebook) names what it will read and takes ``a`` too: ``[y/a/N]``.

The prompt runs when the platform pauses the run (the approver is consulted on agentnb's
loop, see :mod:`agentnb._core.approvals`). It reads the terminal from a helper thread that
polls, so that Ctrl-C — which cancels the run from the main thread — also ends the question
instead of leaving a reader behind to swallow the next line typed at the shell's prompt.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import select
import sys
import threading
from typing import IO, Any

if sys.platform != "win32":
    import termios

from .._core.approvals import ApprovalDecision, question_of
from .._core.loop import interrupt_kept
from .._core.questions import QuestionReply
from .._core.run import ToolCall
from .._core.shown_call import ShownCall, is_plain_identifier, shown_call, visible
from .question_prompt import NO_ANSWER as NO_FORM_ANSWER
from .question_prompt import form_reply
from .terminal import TerminalPrinter, fit_lines, terminal_width

__all__ = ["TerminalApprover", "answer_prompt", "question", "wait_for_readers", "whole_call"]

NO_TERMINAL = (
    "nobody could approve it: no terminal to ask at (stdin is not a tty); pass --approve all "
    "to allow it"
)
NO_ANSWER = "no answer at the approval prompt (end of input)"
NO_REPLY = "the user gave no answer to the question (an empty line)"
AT_PROMPT = "the user said no at the approval prompt"
MAX_QUESTION = 2000
"""Characters of an agent's question the ``Answer:`` prompt shows before ``v`` is needed."""
ONE_LINE = 100
"""A call whose whole signature is this short (and needs no warning) is asked on one line."""
FOR_RUN = "a"
"""What to type to approve a call and, for the rest of the run, what it offers (the reads)."""
WHOLE = "v"
"""What to type at the prompt to see the whole call (or question) before deciding."""
REPLY = "Answer (an empty line denies): "


class TerminalApprover:
    """Asks ``Approve NAME(ARGS)? [y/N]`` for each call awaiting approval; ``y``/``yes``
    approves, anything else (or Enter) denies. A call whose agent asks a question gets the
    question and an ``Answer:`` prompt instead: the line typed is the answer (an empty line
    denies). What the person answers is recorded as theirs (``decided_by="user"``). Without a
    terminal on stdin, or at the end of input, the call is denied with a reason saying so
    (by the policy)."""

    poll = 0.05
    """Seconds between two checks whether the run was cancelled while the question waits."""

    def __init__(self, out: IO[str] | None = None) -> None:
        self._out = out
        self._printer: TerminalPrinter | None = None

    async def __call__(self, call: ToolCall) -> ApprovalDecision:
        stop = threading.Event()
        try:
            return await asyncio.to_thread(self.ask, call, stop)
        finally:
            stop.set()  # cancelled (Ctrl-C): the reading thread gives up at its next poll

    async def answer_question(self, call: ToolCall) -> QuestionReply:
        """The person's reply, typed here, to the question a running call asks (an MCP
        server's form or link: :mod:`.question_prompt`); declined, saying why, without a
        terminal."""
        stop = threading.Event()
        try:
            return await asyncio.to_thread(self.ask_question, call, stop)
        finally:
            stop.set()

    def ask_question(self, call: ToolCall, stop: threading.Event) -> QuestionReply:
        """Ask the question ``call`` asks and wait for the reply (or for ``stop``)."""
        fd = _terminal_fd()
        if fd is None:
            return QuestionReply("decline", reason="there is no terminal to ask at")
        if stop.is_set():
            return QuestionReply("decline", reason=NO_FORM_ANSWER)
        out = self._out or sys.stderr
        _drop_typeahead(fd)
        width = terminal_width(out)

        def write(text: str) -> None:
            out.write(fit_lines(text, width))
            out.flush()

        with _reading:
            return form_reply(call, lambda: _read_line(fd, stop), write)

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
        width = terminal_width(out)  # lines wrapped at word boundaries, as the run's
        printed = self._printer.asked(call.call_id) if self._printer and asked is None else None
        said = question(call, printed) if asked is None else answer_prompt(call, asked)
        out.write(fit_lines(said, width))
        out.flush()
        with _reading:
            answer = _read_line(fd, stop)
            while answer is not None and answer.strip().lower() == WHOLE:
                whole = whole_call(call) if asked is None else f"{visible(asked)}\n{REPLY}"
                out.write(fit_lines(whole, width))
                out.flush()
                answer = _read_line(fd, stop)
        if answer is None:
            if not stop.is_set():
                out.write("\n")
                out.flush()
            return ApprovalDecision(call.call_id, False, NO_ANSWER)
        if asked is not None:
            if not answer.strip():
                return ApprovalDecision(call.call_id, False, NO_REPLY, by_user=True)
            return ApprovalDecision(call.call_id, True, answer=answer, by_user=True)
        said = answer.strip().lower()
        for_run = _for_run(call) is not None and said == FOR_RUN
        approved = for_run or said in ("y", "yes")
        reason = None if approved else AT_PROMPT
        return ApprovalDecision(call.call_id, approved, reason, for_run=for_run, by_user=True)


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
        with interrupt_kept(), self._changed:
            return self._changed.wait_for(lambda: self._count == 0, timeout)


_reading = _Readers()


def printed_with(printer: TerminalPrinter, approve: object) -> TerminalPrinter:
    """``printer``, its run's calls decided by ``approve``: where that is a terminal prompt,
    each call it asks about reads once, as the call's line (under its ``→`` line the question
    alone, where that line shows the call as asked; else the call, left to the prompt)."""
    if isinstance(approve, TerminalApprover):
        approve._printer, printer.prompted = printer, True
    return printer


def wait_for_readers(timeout: float = 2.0) -> bool:
    """Wait until no approval question reads the terminal any more (a cancelled run's
    question stops at its next poll); False if one still does after ``timeout`` seconds."""
    return _reading.wait_until_none(timeout)


def question(call: ToolCall, printed: str | None = None) -> str:
    """The ``[y/N]`` prompt for ``call``: one line when the call is short and plain (the
    question alone under the call's line ``printed`` above it, where that line shows it so),
    else the call with one line per argument, what the person must know, and the prompt
    saying whether values are clipped (``v`` then shows the whole call)."""
    shown = _shown(call)
    notes = shown.warnings()
    signature = shown.signature()
    # a read says what it reads above the question: its head line, and what it sends
    read = [shown.head(), *shown.sends] if shown.reads_notebook and shown.reason else []
    choices = _choices(call)
    # a card's text values are not quoted: only a line of their own tells where one ends
    if not (notes or shown.clipped or shown.diff or shown.card) and len(signature) <= ONE_LINE:
        asked = shown.name if printed and printed.endswith(f"→ {signature}") else signature
        return "\n".join([*read, f"Approve {asked}? {choices}] "])
    # the diff is read as lines below the call, not again as an escaped string
    lines = [f"{shown.name} wants to run:", *shown.lines(beside_diff=True)[1:-1]]
    lines += [*shown.other_lines(), *shown.diff_block()]
    lines += [f"⚠ {note}" for note in notes]
    left = shown.left_out()
    asked = f"({left}: {WHOLE} shows the whole call) {choices}/v" if left else choices
    return "\n".join([*read, *lines, f"Approve {shown.name}? {asked}] "])


def _choices(call: ToolCall) -> str:
    """``[y/N`` or, for a call that offers to be allowed for the run, what ``a`` does too:
    in the agent's words where the agent decides what that covers."""
    allowed = _for_run(call)
    if allowed is None:
        return "[y/N"
    option = call.approval.agent_option if call.approval is not None else None
    if option is not None:
        return (
            f"({FOR_RUN}: the agent's option “{visible(option)}”: it decides what that "
            f"covers and how long it keeps it) [y/{FOR_RUN}/N"
        )
    return f"({FOR_RUN}: approve, and the later {visible(allowed)} in this run) [y/{FOR_RUN}/N"


def _for_run(call: ToolCall) -> str | None:
    return call.approval.for_run if call.approval is not None else None


def whole_call(call: ToolCall) -> str:
    """The whole call, no value clipped, then the prompt again."""
    shown = _shown(call)
    lines = [*shown.whole(), *shown.other_lines(whole=True)]
    return "\n".join([*lines, f"Approve {shown.name}? {_choices(call)}] "])


def answer_prompt(call: ToolCall, asked: str) -> str:
    """``NAME asks: QUESTION`` and the ``Answer:`` prompt; a long question is clipped, with
    ``v`` to show it whole."""
    name = _shown(call).name
    shown = visible(asked) or "(an empty question)"
    if len(shown) <= MAX_QUESTION:
        return f"{name} asks: {shown}\n{REPLY}"
    hidden = len(shown) - MAX_QUESTION
    return (
        f"{name} asks: {shown[:MAX_QUESTION]}… (+{hidden:,} chars)\n"
        f"Answer ({WHOLE} shows the whole question; an empty line denies): "
    )


def _shown(call: ToolCall) -> ShownCall:
    """The call as the prompt shows it: a nameless one (a stream that named none) by its id."""
    shown = shown_call(call)
    if shown.name:
        return shown
    return dataclasses.replace(
        shown, name=visible(call.call_id), name_is_plain=is_plain_identifier(call.call_id)
    )


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

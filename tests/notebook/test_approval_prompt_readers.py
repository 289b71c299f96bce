"""The terminal approval question gives the terminal back when its run is cancelled: once
``wait_for_readers`` returns, a line typed at the shell's prompt reaches the shell."""

from __future__ import annotations

import io
import os
import pty
import select
import threading
import time
from collections.abc import Iterator

import pytest
from agentnb_testing import PATIENCE_S, ctrl_c_as_a_wait_takes_its_lock_back

from agentnb._core.run import ToolCall
from agentnb._display import approval_prompt
from agentnb._display.approval_prompt import TerminalApprover, wait_for_readers

pytestmark = pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, int]]:
    keyboard, tty = pty.openpty()
    monkeypatch.setattr(approval_prompt, "_terminal_fd", lambda: tty)
    yield keyboard, tty
    os.close(keyboard)
    os.close(tty)


def asking(stop: threading.Event) -> tuple[threading.Thread, io.StringIO]:
    out = io.StringIO()
    call = ToolCall(call_id="c1", name="place_trade", arguments={"shares": 1})
    thread = threading.Thread(target=TerminalApprover(out).ask, args=(call, stop), daemon=True)
    thread.start()
    deadline = time.monotonic() + PATIENCE_S
    while "[y/N]" not in out.getvalue():
        assert time.monotonic() < deadline, "the question was never asked"
        time.sleep(0.01)
    return thread, out


def test_a_cancelled_question_stops_reading_before_wait_for_readers_returns(
    terminal: tuple[int, int],
) -> None:
    keyboard, tty = terminal
    stop = threading.Event()
    thread, _ = asking(stop)
    stop.set()
    assert wait_for_readers(PATIENCE_S)
    assert not thread.is_alive() or (thread.join(PATIENCE_S) is None and not thread.is_alive())
    os.write(keyboard, b"print(6 * 7)\n")
    assert select.select([tty], [], [], PATIENCE_S)[0], "the typed line was swallowed"
    assert os.read(tty, 1024).startswith(b"print(6 * 7)")


def test_wait_for_readers_waits_while_a_question_is_open(terminal: tuple[int, int]) -> None:
    stop = threading.Event()
    thread, _ = asking(stop)
    assert not wait_for_readers(0.2)  # the question is open until stop  # checked: cannot race
    stop.set()
    assert wait_for_readers(PATIENCE_S)
    thread.join(PATIENCE_S)


def test_a_question_cancelled_before_it_starts_touches_nothing_typed(
    terminal: tuple[int, int],
) -> None:
    keyboard, tty = terminal
    stop = threading.Event()
    stop.set()
    out = io.StringIO()
    call = ToolCall(call_id="c1", name="place_trade", arguments={})
    decision = TerminalApprover(out).ask(call, stop)
    assert not decision.approved and out.getvalue() == ""
    os.write(keyboard, b"y\n")
    assert select.select([tty], [], [], PATIENCE_S)[0]
    assert os.read(tty, 1024).startswith(b"y")


def test_a_ctrl_c_while_waiting_for_an_open_question_is_the_interrupt(
    terminal: tuple[int, int],
) -> None:
    """``agentnb run`` waits for the question to let go of the terminal after a first Ctrl-C:
    a second one landing as CPython's ``Condition.wait`` takes its lock back is the
    interrupt, not ``RuntimeError``."""
    stop = threading.Event()
    thread, _ = asking(stop)
    try:
        with pytest.raises(KeyboardInterrupt), ctrl_c_as_a_wait_takes_its_lock_back():
            # the question is open until stop: no wait ends before the interrupt lands
            wait_for_readers(0.2)  # checked: cannot race
    finally:
        stop.set()
    assert wait_for_readers(PATIENCE_S)
    thread.join(PATIENCE_S)

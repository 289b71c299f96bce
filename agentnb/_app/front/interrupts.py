"""Interrupting the kernel (JupyterLab's ■, ``I, I``) stops the agent runs it should.

Runs stream on agentnb's own loop thread, and a kernel interrupt (SIGINT, sent by the kernel
manager or, with ``interrupt_mode = "message"``, by the kernel itself) reaches Python code
only as a signal handler on the main thread. ipykernel installs ``default_int_handler`` while
it handles a message (so a running cell gets ``KeyboardInterrupt``) and, in between, the
handler kept in ``kernel.saved_sigint_handler`` — ``SIG_IGN`` from its start-up, so an
interrupt of an idle kernel is dropped. Hence two hooks:

* while a cell runs, the interrupt raises ``KeyboardInterrupt`` in it (``--wait`` cancels its
  run then); the shell's ``post_run_cell`` event cancels every run that cell started;
* while the kernel is idle, agentnb's handler, put in ``kernel.saved_sigint_handler`` so
  ipykernel itself reinstalls it after every message, cancels every run still streaming and
  then calls the handler it took the place of. A run paused for a person's approval is not
  streaming: it waits for a decision (its cell's Approve / Deny, ``handle.deny``) or its own
  Stop, and an interrupt aimed at whatever else was going on must not throw that decision
  away, in this cell or any other.

Outside a Jupyter kernel (terminal IPython, scripts) only the first applies.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from ..._core.handle import RunHandle
from ..._core.run import Run
from ...events import Event

__all__ = ["cancel_streaming", "install", "track", "uninstall"]

_live: dict[int, tuple[RunHandle, int]] = {}
"""Runs still streaming: id(handle) → (handle, the cell that started it). Plain dict
operations only (atomic under the GIL): the idle handler reads it inside a signal handler,
where taking a lock the interrupted code holds would deadlock."""
_cells: list[int] = [0]
_cell_counter = [0]


def track(handle: RunHandle) -> None:
    """Remember ``handle`` until its run ends, with the cell executing now."""
    key = id(handle)
    _live[key] = (handle, _cells[-1])

    def forget(run: Run, event: Event | None) -> None:
        _live.pop(key, None)

    handle.add_listener(forget, end_only=True)


def cancel_streaming(cell: int | None = None, *, paused_too: bool = True) -> int:
    """Cancel the runs still going (only those ``cell`` started, if given; without
    ``paused_too``, not those paused for a person's approval); how many."""
    chosen = [
        h
        for h, started_in in list(_live.values())
        if (cell is None or started_in == cell) and (paused_too or not _waits_for_person(h))
    ]
    for handle in chosen:
        if not handle.done:
            handle.cancel()
    return len(chosen)


def _waits_for_person(handle: RunHandle) -> bool:
    return handle.status == "paused" or bool(handle.awaiting_approval)


# ---- cells ----------------------------------------------------------------------------------
def _pre_run_cell(info: Any = None) -> None:
    _cell_counter[0] += 1
    _cells.append(_cell_counter[0])


def _post_run_cell(result: Any = None) -> None:
    cell = _cells.pop() if len(_cells) > 1 else 0
    if isinstance(getattr(result, "error_in_exec", None), KeyboardInterrupt):
        cancel_streaming(cell)


# ---- an idle kernel ---------------------------------------------------------------------------
class _IdleInterrupt:
    """The SIGINT handler of an idle kernel: cancel the streaming runs (not those waiting
    for a person's approval), then chain."""

    def __init__(self, previous: Any) -> None:
        self.previous = previous
        self.active = True

    def __call__(self, signum: int, frame: Any) -> None:
        if self.active:
            cancel_streaming(paused_too=False)
        if callable(self.previous):
            self.previous(signum, frame)


def _hooked_kernel(shell: Any, *, hooked: bool) -> Any:
    """Register (``hooked``) or unregister the cell hooks on ``shell``; its kernel, or None
    for a shell that is not an ipykernel (or one that keeps no idle handler)."""
    events = shell.events
    if (_pre_run_cell in events.callbacks["pre_run_cell"]) != hooked:
        change = events.register if hooked else events.unregister
        change("pre_run_cell", _pre_run_cell)
        change("post_run_cell", _post_run_cell)
    kernel = getattr(shell, "kernel", None)
    return kernel if hasattr(kernel, "saved_sigint_handler") else None


def install(shell: Any) -> None:
    """Hook ``shell`` (and its kernel, if any) so that interrupts cancel runs. Idempotent;
    only from the main thread, where the shell runs cells and signal handlers run."""
    if threading.current_thread() is not threading.main_thread():
        return
    kernel = _hooked_kernel(shell, hooked=True)
    if kernel is None:
        return
    current = kernel.saved_sigint_handler
    if isinstance(current, _IdleInterrupt):
        current.active = True
    else:
        kernel.saved_sigint_handler = _IdleInterrupt(current)


def uninstall(shell: Any) -> None:
    """Undo :func:`install` (a handler someone chained after agentnb's is kept, disarmed)."""
    kernel = _hooked_kernel(shell, hooked=False)
    if kernel is None:
        return
    current = kernel.saved_sigint_handler
    if isinstance(current, _IdleInterrupt):
        kernel.saved_sigint_handler = current.previous
    for handler in (current, signal.getsignal(signal.SIGINT)):
        if isinstance(handler, _IdleInterrupt):
            handler.active = False

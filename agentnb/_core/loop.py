"""The background event loop agentnb owns: one daemon thread, started on first use.

Cells return at once because streams run here, not on the kernel's loop (which stalls
whenever a cell blocks). Sync code waits on ``concurrent.futures.Future`` objects from this
loop, so it works inside a running notebook loop without patching asyncio.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
import threading
import time
import weakref
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = [
    "TURN_BUDGET",
    "get_loop",
    "in_loop_thread",
    "run_sync",
    "submit",
    "take_turn",
    "turn_is_over",
]

T = TypeVar("T")

TURN_BUDGET = 0.004
"""Seconds of one turn of an event loop that agentnb's streams use before they let the
loop's timers, I/O and other tasks (a Stop click, a widget message) go first."""

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def get_loop() -> asyncio.AbstractEventLoop:
    """The background loop, started on first call."""
    global _loop, _thread
    with _lock:
        if _loop is not None and _thread is not None and _thread.is_alive():
            return _loop
        loop = asyncio.new_event_loop()
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(_finalize_async_generators_in_place, loop)
            loop.call_soon(started.set)
            loop.run_forever()

        thread = threading.Thread(target=run, name="agentnb-loop", daemon=True)
        thread.start()
        started.wait()
        _loop, _thread = loop, thread
        return loop


def _finalize_async_generators_in_place(loop: asyncio.AbstractEventLoop) -> None:
    """Async generators left unfinished are closed by a task on their loop. asyncio schedules
    it with ``call_soon_threadsafe``, which writes to the loop's wake-up pipe: a system call
    for each of the several generators httpx leaves behind every response. On this loop's
    own thread (where they are almost always collected) a plain ``call_soon`` does."""
    thread = threading.current_thread()

    def finalize(agen: Any) -> None:
        if loop.is_closed():
            return
        if threading.current_thread() is thread:
            loop.call_soon(_close_async_generator, loop, agen)
        else:
            loop.call_soon_threadsafe(_close_async_generator, loop, agen)

    sys.set_asyncgen_hooks(firstiter=None, finalizer=finalize)


def _close_async_generator(loop: asyncio.AbstractEventLoop, agen: Any) -> None:
    loop.create_task(agen.aclose())


def in_loop_thread() -> bool:
    return _thread is not None and threading.current_thread() is _thread


def submit(coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
    """Schedule a coroutine on the background loop from any thread."""
    return asyncio.run_coroutine_threadsafe(coro, get_loop())


def run_sync(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run a coroutine on the background loop and wait for its result.

    On ``KeyboardInterrupt`` (a kernel interrupt) the coroutine is cancelled before the
    interrupt propagates, so nothing keeps running behind the user's back.
    """
    if in_loop_thread():
        coro.close()
        raise RuntimeError("run_sync() called from the agentnb loop thread would deadlock")
    future = submit(coro)
    try:
        return future.result(timeout)
    except BaseException:
        future.cancel()
        raise


# ---- fair turns ----------------------------------------------------------------------------
class _Turns:
    """One loop's budget for the turn it is in. A turn of an asyncio loop runs every task
    that is ready: with 200 streams ready at once, their work alone held the loop for
    hundreds of milliseconds. Streams check :func:`turn_is_over` between two pieces of work
    and, once the budget is used, wait for the next turn (:func:`take_turn`), where a new
    budget starts; the tasks that waited go first, in the order they gave way."""

    __slots__ = ("ends", "renewing")

    def __init__(self) -> None:
        self.ends = time.perf_counter() + TURN_BUDGET
        self.renewing = False

    def renew(self) -> None:
        self.ends = time.perf_counter() + TURN_BUDGET
        self.renewing = False


_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Turns] = weakref.WeakKeyDictionary()


def _turns_of(loop: asyncio.AbstractEventLoop) -> _Turns:
    turns = _turns.get(loop)
    if turns is None:
        turns = _turns[loop] = _Turns()
    return turns


def turn_is_over() -> bool:
    """Whether this turn of the running loop has used agentnb's budget (cheap: call it
    between two events)."""
    return time.perf_counter() > _turns_of(asyncio.get_running_loop()).ends


async def take_turn() -> None:
    """Wait until a turn of the running loop with budget left (at once if this one has, or
    when the task is being cancelled: a Stop's cleanup never queues behind other work)."""
    loop = asyncio.get_running_loop()
    turns = _turns_of(loop)
    task = asyncio.current_task()
    while time.perf_counter() > turns.ends and not (task is not None and task.cancelling()):
        if not turns.renewing:
            turns.renewing = True
            loop.call_soon(turns.renew)  # runs at the start of the next turn's work
        await asyncio.sleep(0)

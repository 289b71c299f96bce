"""The background event loop agentnb owns: one daemon thread, started on first use.

Cells return at once because streams run here, not on the kernel's loop (which stalls
whenever a cell blocks). Sync code waits on ``concurrent.futures.Future`` objects from this
loop, so it works inside a running notebook loop without patching asyncio.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import selectors
import sys
import threading
import time
import weakref
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

__all__ = [
    "TURN_BUDGET",
    "WAIT_SLICE",
    "get_loop",
    "in_loop_thread",
    "result_of",
    "run_sync",
    "submit",
    "take_turn",
    "turn_is_over",
    "turns_of",
    "wait_for",
    "wait_slices",
]

T = TypeVar("T")

TURN_BUDGET = 0.004
"""Seconds of one turn of an event loop that agentnb's streams use before they let the
loop's timers, I/O and other tasks (a Stop click, a widget message) go first."""

WAIT_SLICE = 0.1
"""Seconds a blocking wait lasts at most before Python's signal handlers get to run. A
wait on a lock returns to Python when a signal arrives, unless the process's SIGINT
handler was installed with ``SA_RESTART`` (polars installs one): then the wait goes on and
a Ctrl-C (a kernel's interrupt) would land only once it is over, after the runs it should
have stopped."""

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def get_loop() -> asyncio.AbstractEventLoop:
    """The background loop, started on first call."""
    global _loop, _thread
    with _lock:
        if _loop is not None and _thread is not None and _thread.is_alive():
            return _loop
        loop = _new_loop()
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


class _TurnSelector(selectors.DefaultSelector):
    """The platform's selector, which tells the loop's :class:`_Turns` when a turn begins:
    each turn of a selector loop starts when its select returns."""

    turns: _Turns | None = None

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(timeout)
        if self.turns is not None:
            self.turns.start()
        return ready


def _new_loop() -> asyncio.AbstractEventLoop:
    """agentnb's loop: a selector loop whose turns start their budget when they start (see
    :class:`_Turns`); on Windows, asyncio's default (its turns renewed as anywhere else)."""
    if sys.platform == "win32":
        return asyncio.new_event_loop()
    selector = _TurnSelector()
    loop = asyncio.SelectorEventLoop(selector)
    selector.turns = turns_of(loop)
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
        return result_of(future, timeout)
    except BaseException:
        future.cancel()
        raise


def wait_slices(timeout: float | None = None) -> Iterator[float]:
    """The waits, each at most :data:`WAIT_SLICE`, that a blocking wait of ``timeout``
    seconds (None: no end) is made of, so that Python's signal handlers run between two of
    them: a Ctrl-C then raises ``KeyboardInterrupt`` while agentnb waits, whatever SIGINT
    handler the process has. At least one, of 0 s when ``timeout`` is."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        left = WAIT_SLICE if deadline is None else deadline - time.monotonic()
        yield max(0.0, min(WAIT_SLICE, left))
        if deadline is not None and time.monotonic() >= deadline:
            return


def wait_for(event: threading.Event, timeout: float | None = None) -> bool:
    """``event.wait(timeout)``, in :func:`wait_slices`."""
    return any(event.wait(piece) for piece in wait_slices(timeout))


def result_of(future: concurrent.futures.Future[T], timeout: float | None = None) -> T:
    """``future.result(timeout)``, in :func:`wait_slices`."""
    for piece in wait_slices(timeout):
        try:
            return future.result(piece)
        except concurrent.futures.TimeoutError:
            if future.done():
                raise  # the future's own TimeoutError
    raise concurrent.futures.TimeoutError(f"no result within {timeout} s")


# ---- fair turns ----------------------------------------------------------------------------
class _Turns:
    """One loop's budget for the turn it is in, and the streams waiting for the next one.

    A turn of an asyncio loop runs every task that is ready: with 200 streams ready at once,
    their work alone held the loop for hundreds of milliseconds. Streams check
    :func:`turn_is_over` between two pieces of work and, once the budget is used, queue in
    :func:`take_turn`. The queue is served like a baton: a new turn wakes the first waiter,
    and each waiter, once its piece of work is done, wakes the next while the budget lasts.
    A waiting stream is resumed once, when its time comes, not at every turn of the loop
    (polling with ``sleep(0)`` resumed each waiter about 20 times per wait at 200 streams)."""

    __slots__ = ("ends", "loop", "renewing", "waiting")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.ends = time.perf_counter() + TURN_BUDGET
        self.renewing = False
        self.waiting: collections.deque[asyncio.Future[None]] = collections.deque()

    def over(self) -> bool:
        return time.perf_counter() > self.ends

    def start(self) -> None:
        """A turn of the loop begins (agentnb's own loop says so: :class:`_TurnSelector`):
        its budget starts now. On any other loop a turn's budget starts when a stream that
        gave way is served (:meth:`_renew`), so the first piece of work after an idle spell
        may find the last budget used up and give way once."""
        self.ends = time.perf_counter() + TURN_BUDGET

    def wait(self) -> asyncio.Future[None]:
        """A place at the end of the queue; a new turn is asked for if none is."""
        waiter = self.loop.create_future()
        self.waiting.append(waiter)
        self._ask_for_a_turn()
        return waiter

    def pass_on(self) -> None:
        """A woken waiter's piece of work is done: the next one goes, in this turn while its
        budget lasts, else in the next."""
        if self.over():
            self._ask_for_a_turn()
        else:
            self._wake_next()

    def _ask_for_a_turn(self) -> None:
        if not self.renewing:
            self.renewing = True
            self.loop.call_soon(self._renew)  # runs once the loop's I/O has been looked at

    def _renew(self) -> None:
        self.renewing = False
        self.ends = time.perf_counter() + TURN_BUDGET
        self._wake_next()

    def _wake_next(self) -> None:
        waiting = self.waiting
        while waiting:
            waiter = waiting.popleft()
            if not waiter.done():  # a waiter cancelled while it waited is skipped
                waiter.set_result(None)
                return


_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Turns] = weakref.WeakKeyDictionary()


def turns_of(loop: asyncio.AbstractEventLoop) -> _Turns:
    """The budget and waiters of ``loop``'s turns."""
    turns = _turns.get(loop)
    if turns is None:
        turns = _turns[loop] = _Turns(loop)
    return turns


def turn_is_over() -> bool:
    """Whether this turn of the running loop has used agentnb's budget (cheap: call it
    between two events)."""
    return turns_of(asyncio.get_running_loop()).over()


async def take_turn() -> None:
    """Wait for this task's place in a turn with budget left (at once if this one has, or
    when the task is being cancelled: a Stop's cleanup never queues behind other work)."""
    turns = turns_of(asyncio.get_running_loop())
    task = asyncio.current_task()
    if not turns.over() or (task is not None and task.cancelling()):
        return
    waiter = turns.wait()
    try:
        await waiter
    finally:
        if waiter.done() and not waiter.cancelled():
            # This task holds the baton: the next waiter goes once its piece of work is
            # done (the callback runs after this task's step, on the loop's next pass).
            turns.loop.call_soon(turns.pass_on)

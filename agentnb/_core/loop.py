"""The background event loop agentnb owns: one daemon thread, started on first use.

Cells return at once because streams run here, not on the kernel's loop (which stalls
whenever a cell blocks). Sync code waits on ``concurrent.futures.Future`` objects from this
loop, so it works inside a running notebook loop without patching asyncio.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

__all__ = [
    "get_loop",
    "in_loop_thread",
    "interrupt_kept",
    "result_of",
    "run_sync",
    "submit",
    "wait_for",
    "wait_slices",
]

T = TypeVar("T")

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
        loop = asyncio.new_event_loop()
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(started.set)
            loop.run_forever()

        thread = threading.Thread(target=run, name="agentnb-loop", daemon=True)
        thread.start()
        started.wait()
        _loop, _thread = loop, thread
        return loop


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


@contextmanager
def interrupt_kept() -> Iterator[None]:
    """A Ctrl-C, not the ``RuntimeError`` CPython's ``Condition.wait`` can put in its place:
    landing after the wait gave its lock up and before it took it back, the interrupt leaves
    the lock free, and the ``with`` around the wait then fails to release it
    (python/cpython#78667). The lock is free and the event or future still usable."""
    try:
        yield
    except RuntimeError as error:
        if isinstance(error.__context__, KeyboardInterrupt):
            raise error.__context__ from None
        raise


def wait_for(event: threading.Event, timeout: float | None = None) -> bool:
    """``event.wait(timeout)``, in :func:`wait_slices`."""
    with interrupt_kept():
        return any(event.wait(piece) for piece in wait_slices(timeout))


def result_of(future: concurrent.futures.Future[T], timeout: float | None = None) -> T:
    """``future.result(timeout)``, in :func:`wait_slices`."""
    for piece in wait_slices(timeout):
        try:
            with interrupt_kept():
                return future.result(piece)
        except concurrent.futures.TimeoutError:
            if future.done():
                raise  # the future's own TimeoutError
    raise concurrent.futures.TimeoutError(f"no result within {timeout} s")

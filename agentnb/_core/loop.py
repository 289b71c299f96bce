"""The background event loop agentnb owns: one daemon thread, started on first use.

Cells return at once because streams run here, not on the kernel's loop (which stalls
whenever a cell blocks). Sync code waits on ``concurrent.futures.Future`` objects from this
loop, so it works inside a running notebook loop without patching asyncio.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["get_loop", "in_loop_thread", "run_sync", "submit"]

T = TypeVar("T")

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
        return future.result(timeout)
    except BaseException:
        future.cancel()
        raise

"""The one runner for the user's own code under a bound: a notebook function the agent calls
(client tools) and an evaluator applied to a run.

Where it runs: a sync function on a thread of its own, never on agentnb's loop (which reads
every stream) nor on the kernel's main thread (a cell waiting on a run there would wait for
itself). An ``async def`` function is awaited on the loop it was handed (the kernel's, where
the user's objects live) or, with none, on a loop of its own thread. One call at a time per
process unless ``parallel=True``; what it prints or displays is captured for its caller. A
thread cannot be killed: past its time limit a sync call is abandoned (it may still be running;
it no longer holds the line), an async one is cancelled.

A read of the notebook (a summary of a value: the user's ``repr``, a lazy property) is
bounded by :func:`call_within` instead: one short call on a thread of its own that, past its
time, is stopped (an exception raised in it), so an abandoned summary does not go on
spinning after the read: only a call blocked inside C code (a sleep, a socket) runs on until
that returns, and stops then.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import ctypes
import inspect
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, TextIO

from .loop import interrupt_kept

__all__ = [
    "MAX_OUTPUT_CHARS",
    "Outcome",
    "call_abandoned",
    "call_within",
    "calling_run",
    "run_user_code",
]

MAX_OUTPUT_CHARS = 20_000
"""What a call's captured output keeps; the rest is counted, not kept."""

_LINE = threading.Semaphore(1)  # one call at a time in this process
_captured: contextvars.ContextVar[_Output | None] = contextvars.ContextVar(
    "agentnb_user_output", default=None
)
_enclosing: contextvars.ContextVar[_Call | None] = contextvars.ContextVar(
    "agentnb_enclosing_call", default=None
)
calling_run: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "agentnb_calling_run", default=None
)
"""The ``local_id`` of the run whose client tool this call is (set where the call runs)."""
_installed = threading.Lock()
_active = 0


@dataclass(frozen=True)
class Outcome:
    """What came of one call: ``status`` is ``"ok"`` (``value``), ``"error"`` (``error``,
    raised by the function) or ``"timed_out"`` (``abandoned`` when it may still be running:
    a sync function past its time; an async one is cancelled)."""

    status: Literal["ok", "error", "timed_out"]
    value: Any = None
    error: BaseException | None = None
    output: str = ""
    duration: float = 0.0
    abandoned: bool = False


class _Output:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = self.dropped = 0

    def add(self, text: str) -> None:
        room = MAX_OUTPUT_CHARS - self.size
        self.parts.append(text[: max(room, 0)])
        self.size += min(len(text), max(room, 0))
        self.dropped += max(len(text) - room, 0)

    def text(self) -> str:
        cut = f"\n[{self.dropped} more characters of output not kept]" if self.dropped else ""
        return "".join(self.parts) + cut


class _Routed:
    """``sys.stdout`` / ``sys.stderr`` while calls run: a call's writes go to its output,
    everyone else's to the stream it replaced."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner

    def write(self, text: str) -> int:
        output = _captured.get()
        if output is None:
            return self.inner.write(text)
        output.add(text)
        return len(text)

    def flush(self) -> None:
        if _captured.get() is None:
            self.inner.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _publish_routed(publish: Callable[..., Any]) -> Callable[..., Any]:
    def routed(data: Mapping[str, Any], *args: Any, **kwargs: Any) -> Any:
        output = _captured.get()
        if output is None:
            return publish(data, *args, **kwargs)
        text = data.get("text/plain")
        output.add(f"{text}\n" if isinstance(text, str) else f"[display: {', '.join(data)}]\n")
        return None

    routed.agentnb_routed = publish  # type: ignore[attr-defined]
    return routed


def _display_publisher() -> Any:
    """IPython's display publisher when a shell runs (never imports IPython)."""
    shell = getattr(sys.modules.get("IPython.core.interactiveshell"), "InteractiveShell", None)
    if shell is None or not shell.initialized():
        return None
    return getattr(shell.instance(), "display_pub", None)


@contextlib.contextmanager
def _capturing() -> Iterator[None]:
    """Route output while any call runs (installed by the first, removed by the last)."""
    global _active
    with _installed:
        _active += 1
        if _active == 1:
            sys.stdout, sys.stderr = _Routed(sys.stdout), _Routed(sys.stderr)
            if (pub := _display_publisher()) is not None:
                pub.publish = _publish_routed(pub.publish)
    try:
        yield
    finally:
        with _installed:
            _active -= 1
            if _active == 0:
                if isinstance(sys.stdout, _Routed):
                    sys.stdout = sys.stdout.inner
                if isinstance(sys.stderr, _Routed):
                    sys.stderr = sys.stderr.inner
                pub = _display_publisher()
                if pub is not None and hasattr(pub.publish, "agentnb_routed"):
                    pub.publish = pub.publish.agentnb_routed


class _Call:
    """One call on its thread: takes the line, runs, hands the line back once (by itself
    when it ends, or by the caller who abandoned it).

    A call made inside another (a tool that starts a run with tools of its own) shares the
    line its enclosing call holds: that call waits for this one, so taking the line would
    wait for ever."""

    def __init__(self, parallel: bool, enclosing: _Call | None) -> None:
        self._lock = threading.Lock()
        self._holds = self.abandoned = False
        self._parallel = parallel
        self._enclosing = enclosing

    @property
    def holds_line(self) -> bool:
        return self._holds or (self._enclosing is not None and self._enclosing.holds_line)

    def take_line(self) -> bool:
        needs_line = not self._parallel and not (
            self._enclosing is not None and self._enclosing.holds_line
        )
        if needs_line:
            _LINE.acquire()
        with self._lock:
            if self.abandoned:
                if needs_line:
                    _LINE.release()
                return False
            self._holds = needs_line
            return True

    def give_back(self, *, abandon: bool = False) -> None:
        with self._lock:
            self.abandoned = self.abandoned or abandon
            if self._holds:
                self._holds = False
                _LINE.release()


def _call_on_thread(
    fn: Callable[..., Any],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    call: _Call,
    output: _Output,
    user_loop: asyncio.AbstractEventLoop | None,
    done: Callable[[str, Any], None],
    run_id: str | None,
) -> None:
    if not call.take_line():
        return
    calling_run.set(run_id)  # an async function's task on the user's loop copies it
    _captured.set(output)
    _enclosing.set(call)  # what this call starts (a run, its tools) knows it runs inside it
    try:
        if inspect.iscoroutinefunction(fn):
            if user_loop is not None and user_loop.is_running():
                # the line is handed back when the coroutine ends
                done("awaiting", asyncio.run_coroutine_threadsafe(fn(*args, **kwargs), user_loop))
                return
            value = asyncio.run(fn(*args, **kwargs))
        else:
            value = fn(*args, **kwargs)
    except BaseException as exc:  # the user's failure is the outcome
        call.give_back()
        done("error", exc)
        return
    call.give_back()
    done("ok", value)


def call_abandoned() -> bool:
    """Whether the caller gave up on the call running on this thread (its run was stopped,
    its time ran out): a call that waits on something else may stop it then."""
    call = _enclosing.get()
    return call is not None and call.abandoned


async def run_user_code(
    fn: Callable[..., Any],
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    *,
    time_limit: float | None,
    parallel: bool = False,
    user_loop: asyncio.AbstractEventLoop | None = None,
) -> Outcome:
    """Call ``fn(*args, **kwargs)`` as this module says, without blocking the caller's loop,
    and return its :class:`Outcome` (the function's errors are in it, never raised).
    Cancelling the awaiting task abandons the call (an async one is cancelled)."""
    loop = asyncio.get_running_loop()
    result: asyncio.Future[tuple[str, Any]] = loop.create_future()
    call, output = _Call(parallel, _enclosing.get()), _Output()
    started = time.monotonic()

    def done(kind: str, payload: Any) -> None:
        def settle() -> None:
            if not result.done():
                result.set_result((kind, payload))

        if call.abandoned:
            return  # nobody waits for it any more
        with contextlib.suppress(RuntimeError):  # the caller's loop closed meanwhile
            loop.call_soon_threadsafe(settle)

    def outcome(status: Any, **fields: Any) -> Outcome:
        return Outcome(status, output=output.text(), duration=time.monotonic() - started, **fields)

    awaited: concurrent.futures.Future[Any] | None = None
    with _capturing():
        threading.Thread(
            target=_call_on_thread,
            args=(fn, args, kwargs or {}, call, output, user_loop, done, calling_run.get()),
            name=f"agentnb-user-code:{getattr(fn, '__name__', 'function')}",
            daemon=True,
        ).start()
        try:
            async with asyncio.timeout(time_limit):
                kind, payload = await asyncio.shield(result)
                if kind == "awaiting":
                    awaited = payload
                    try:
                        kind, payload = "ok", await asyncio.wrap_future(payload)
                    except asyncio.CancelledError:
                        task = asyncio.current_task()
                        if task is None or task.cancelling():
                            raise  # this task was cancelled (or timed out), not the coroutine
                        kind, payload = "error", RuntimeError("the function was cancelled")
                    except BaseException as exc:
                        kind, payload = "error", exc
                    finally:
                        call.give_back()
        except (TimeoutError, asyncio.CancelledError) as stopped:
            if awaited is not None:
                awaited.cancel()
            call.give_back(abandon=True)
            if isinstance(stopped, asyncio.CancelledError):
                raise
            return outcome("timed_out", abandoned=awaited is None)
    if kind == "error":
        return outcome("error", error=payload)
    return outcome("ok", value=payload)


class ReadStopped(BaseException):
    """Raised inside a call :func:`call_within` gave up on: it stops there. A
    ``BaseException``, so the user's ``except Exception`` does not swallow it."""


_within = threading.local()


def call_within(fn: Callable[[], Any], limit: float, name: str) -> tuple[str, Any]:
    """``fn()`` on a thread named ``name`` within ``limit`` seconds of its work (see
    :func:`_ended_within`): ``("ok", value)``,
    ``("error", exception)`` or ``("timed_out", None)``, when the thread is stopped (see
    the module's docstring). Called from inside such a call, ``fn`` runs there, under the
    same bound (no thread waits on another)."""
    if getattr(_within, "active", False):
        try:
            return "ok", fn()
        except ReadStopped:
            raise
        except Exception as exc:  # the user's code failed: the caller says so
            return "error", exc
    box: dict[str, Any] = {}
    done = threading.Event()

    def work() -> None:
        try:
            _within.active = True
            try:
                box["value"] = fn()
            except ReadStopped:
                box["stopped"] = True
            except BaseException as exc:  # the user's code failed: the caller says so
                box["error"] = exc
            finally:
                done.set()
        except ReadStopped:  # it came as the call ended: nothing is left to stop
            pass

    worker = threading.Thread(target=work, name=name, daemon=True)
    with interrupt_kept():  # both wait in the caller's thread, a kernel's Ctrl-C's
        worker.start()
        ended = _ended_within(worker, done, limit)
    if not ended:
        _stop(worker, done)
        return "timed_out", None
    if "error" in box:
        return "error", box["error"]
    if "stopped" in box:
        return "timed_out", None
    return "ok", box.get("value")


WAITING_FACTOR: Final = 4.0
"""How many times its limit a call bounded by :func:`call_within` may take of the wall when
it waits (sleeps, blocks on a lock or a socket) rather than works: its limit is of its own
CPU."""
_CPU_POLL_S: Final = 0.05
"""How often a call's CPU is read while it runs."""


def _ended_within(worker: threading.Thread, done: threading.Event, limit: float) -> bool:
    """Whether ``worker``'s call ended within ``limit`` seconds of its own CPU, and
    :data:`WAITING_FACTOR` times that of the wall: a busy machine, or the kernel's other
    threads holding the GIL, stretch a call's wall time, not its work, so a frame's
    ``describe()`` is not given up on for the load. Where a thread's CPU clock cannot be read
    (not Linux or BSD), the limit is of the wall."""
    try:
        clock = time.pthread_getcpuclockid(worker.ident or 0)
    except (AttributeError, OSError):
        return done.wait(limit)
    wall_deadline = time.monotonic() + WAITING_FACTOR * limit
    while not done.wait(_CPU_POLL_S):
        try:
            worked = time.clock_gettime(clock)
        except OSError:  # the thread ended between the two reads
            return done.wait(_CPU_POLL_S)
        if worked >= limit or time.monotonic() >= wall_deadline:
            return done.is_set()
    return True


STOP_TRIES: Final = 40
"""Times a stopped call is told to stop, a quarter of a second apart (code that catches
every exception and goes on is told again)."""


def _stop(worker: threading.Thread, done: threading.Event) -> None:
    """Raise :class:`ReadStopped` in ``worker`` (CPython's ``PyThreadState_SetAsyncExc``:
    it is raised at the thread's next Python instruction) until it ends, at most
    :data:`STOP_TRIES` times, from a thread of its own (the caller goes on at once)."""

    def stop() -> None:
        for _ in range(STOP_TRIES):
            if done.is_set() or not worker.is_alive() or worker.ident is None:
                return
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(worker.ident), ctypes.py_object(ReadStopped)
            )
            if done.wait(0.25):
                return

    threading.Thread(target=stop, name="agentnb-stop-read", daemon=True).start()

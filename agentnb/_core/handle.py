"""`RunHandle`: a run going on in the background loop, as the caller holds it.

The handle is what ``%%agent`` binds to ``_agent``: awaitable from the notebook's loop,
``.wait()`` from sync code, ``.cancel()`` from anywhere. Listeners (the widget controller, a
terminal printer) are called on the background loop after every event and once at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Callable, Generator, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from ..events import Event
from .approvals import CALLER_WAITING, ApprovalGate
from .exceptions import (
    AgentNBError,
    AnswerSchemaError,
    ConfigurationError,
    RunCancelledError,
    error_for_run,
    error_info,
)
from .loop import get_loop, in_loop_thread, wait_for
from .request import MAX_SECONDS, checked_number
from .run import Run, ToolCall
from .short_repr import as_html, one_line
from .warning import warn

__all__ = ["RunHandle", "RunListener", "StreamSource"]

RunListener = Callable[[Run, Event | None], None]
"""Called on the background loop with the run and the event just applied (None at the end)."""


class StreamSource(AbstractAsyncContextManager[Any], Protocol):
    """What a handle consumes: an async context manager that iterates events and folds them
    into ``.run`` (``AsyncAgentClient.stream(...)`` returns one). One that has
    ``run_to_end(on_event)`` is run with it, and one with an ``approvals`` gate takes the
    handle's decisions on tool calls (``AsyncRunStream`` has both; looked up by name: a
    runtime protocol check costs a run more than its first event)."""

    @property
    def run(self) -> Run: ...

    def __aiter__(self) -> AsyncIterator[Event]: ...


class RunHandle:
    """A run streaming on agentnb's background loop."""

    def __init__(
        self,
        make_stream: Callable[[], StreamSource],
        *,
        run: Run,
        schema: Mapping[str, object] | None = None,
        validate_result: Callable[[object], object] | None = None,
    ) -> None:
        self._make_stream = make_stream
        self._gate: ApprovalGate | None = None
        self._unattended: str | None = None
        self.run = run
        self._schema = schema
        self._validate_result = validate_result
        # replaced, never changed in place: each event reads it without taking the lock
        self._listeners: tuple[RunListener, ...] = ()
        self._end_listeners: tuple[RunListener, ...] = ()
        self._lock = threading.Lock()
        self._task: asyncio.Task[Run] | None = None
        self._stream: StreamSource | None = None
        # the run's end, set once on the loop; an awaiting loop's future is made only when
        # something awaits
        self._ended = False
        self._error: BaseException | None = None
        self._end_waiter = threading.Event()
        self._awaiting: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._cancel_requested = False
        self._started = threading.Event()  # the first event arrived, or the run ended

    # ---- starting --------------------------------------------------------------------
    @classmethod
    def start(
        cls,
        make_stream: Callable[[], StreamSource],
        *,
        run: Run,
        listeners: tuple[RunListener, ...] = (),
        schema: Mapping[str, object] | None = None,
        validate_result: Callable[[object], object] | None = None,
    ) -> RunHandle:
        """Create the handle and start streaming on the background loop at once."""
        handle = cls(make_stream, run=run, schema=schema, validate_result=validate_result)
        handle._listeners = tuple(listeners)  # no other thread can see the handle yet: no lock
        get_loop().call_soon_threadsafe(handle._begin)
        return handle

    def _begin(self) -> None:
        if self._cancel_requested:
            self.run.finish("cancelled")
            self._notify(None)
            self._end(RunCancelledError("the run was cancelled before it started", run=self.run))
            return
        self._task = asyncio.get_running_loop().create_task(self._consume())

    async def _consume(self) -> Run:
        error: BaseException | None = None
        try:
            stream = self._stream = self._make_stream()
            if stream.run is not self.run:
                self.run = stream.run
            self._attach_approvals(stream)
            run_to_end = getattr(stream, "run_to_end", None)
            if run_to_end is not None:  # agentnb's stream: the engine says how the run ended
                error = await run_to_end(self._notify)
            else:
                error = await _consume_source(stream, self._notify)
        except asyncio.CancelledError:
            self.run.finish("cancelled")
        except Exception as exc:  # the stream could not even be made
            error = _ended_by(self.run, exc)
        if not self.run.done:
            self.run.finish("interrupted")
        self._notify(None)
        self._end(error or error_for_run(self.run))
        return self.run

    def _end(self, error: BaseException | None) -> None:
        with self._lock:
            self._error, self._ended = error, True
            awaiting, self._awaiting = self._awaiting, []
        self._end_waiter.set()
        for loop, ended in awaiting:
            with contextlib.suppress(RuntimeError):  # the awaiting loop closed meanwhile
                loop.call_soon_threadsafe(_settle, ended)
        self._started.set()

    def _outcome(self) -> Run:
        if self._error is not None:
            raise self._error
        return self.run

    # ---- listeners -------------------------------------------------------------------
    def add_listener(
        self,
        listener: RunListener,
        *,
        end_only: bool = False,
        catch_up: Callable[[Run], None] | None = None,
    ) -> None:
        """Call ``listener`` on the background loop after each event and once at the end
        (``end_only``: only at the end, costing the events nothing).

        The listener joins on the loop, where events are heard, so whenever it is added it
        hears each later event once and the end once, never one twice: a run already ended
        calls it once at the end's place. ``catch_up(run)``, if given, is called there first,
        with the run as it stands: what the listener missed (a printer joining a run already
        going prints it so far)."""
        if in_loop_thread():
            self._join(listener, end_only, catch_up)
        else:
            get_loop().call_soon_threadsafe(self._join, listener, end_only, catch_up)

    def _join(
        self, listener: RunListener, end_only: bool, catch_up: Callable[[Run], None] | None
    ) -> None:
        # on the loop: between two events, or after the end (heard and set in one turn)
        try:
            if catch_up is not None:
                catch_up(self.run)
            if self._ended:
                listener(self.run, None)
                return
        except Exception as exc:  # a display bug must not kill the run
            warn(f"agentnb: run listener failed: {exc!r}", stacklevel=1)
            return
        with self._lock:
            if end_only:
                self._end_listeners = (*self._end_listeners, listener)
            else:
                self._listeners = (*self._listeners, listener)

    def _notify(self, event: Event | None) -> None:
        if event is not None and not self._started.is_set():
            self._started.set()
        listeners = self._listeners if event is not None else self._listeners + self._end_listeners
        for listener in listeners:
            try:
                listener(self.run, event)
            except Exception as exc:  # a display bug must not kill the run
                warn(f"agentnb: run listener failed: {exc!r}", stacklevel=1)

    def _attach_approvals(self, stream: StreamSource) -> None:
        gate = getattr(stream, "approvals", None)
        if not isinstance(gate, ApprovalGate):
            return
        with self._lock:
            self._gate = gate
            unattended = self._unattended
        if unattended is not None:
            self._gate.deny_undecided(unattended)

    # ---- controlling -----------------------------------------------------------------
    @property
    def awaiting_approval(self) -> list[ToolCall]:
        """The tool calls waiting for a human decision (the run is ``paused`` until each is
        decided with :meth:`approve` or :meth:`deny`, or by the run's ``approve=`` policy)."""
        return self.run.awaiting_approval

    def approve(
        self,
        call_id: str,
        reason: str | None = None,
        *,
        answer: object = None,
        for_run: bool = False,
    ) -> None:
        """Let the platform run a tool call awaiting approval; ``answer`` replies to an
        agent's free-form question (AG-UI interrupts); ``for_run=True`` also allows, for the
        rest of the run, what the call offers (``call.approval.for_run``: a read of the
        notebook allows the later reads), or, where ``call.approval.agent_option`` names it,
        picks the agent's own "always" (an ACP agent's, which the agent keeps as it says).
        Safe from any thread."""
        self._approvals().approve(call_id, reason, answer=answer, for_run=for_run)

    def deny(self, call_id: str, reason: str | None = None) -> None:
        """Tell the platform not to run a tool call awaiting approval; ``reason`` goes with
        the decision (the model sees it). Safe from any thread."""
        self._approvals().deny(call_id, reason)

    def answer(self, call_id: str | None, text: str) -> None:
        """Answer, as text, the free-form question an agent asks on a call awaiting approval
        (the call's ``approval.question``); ``call_id`` None: the one call whose question
        waits. The same decision as ``approve(call_id, answer=text)``. Safe from any thread."""
        self._approvals().answer(call_id, text)

    def reply(self, call_id: str, action: str, content: Mapping[str, object] | None = None) -> None:
        """Reply to the question a running call asks a person (an MCP server's form or link:
        ``call.asks``): ``"accept"`` with ``content``, the form's fields' values (a link's
        accept says you will open it yourself), ``"decline"`` or ``"cancel"``. Safe from any
        thread."""
        self._approvals().reply(call_id, action, content)

    def _approvals(self) -> ApprovalGate:
        with self._lock:
            gate = self._gate
        if gate is not None:
            return gate
        if self.run.awaiting_approval:
            raise ConfigurationError("this run's stream does not take approval decisions")
        return ApprovalGate(self.run)  # nothing awaits approval: its check says so

    def cancel(self) -> None:
        """Stop the run: closes the HTTP connection at once, and nothing arriving after the
        Stop is applied to the run (a listener's Stop keeps the text it saw). Safe from any
        thread."""
        self._cancel_requested = True

        def cancel_task() -> None:
            if self._task is not None and not self._task.done():
                halt = getattr(self._stream, "halt", None)
                if halt is not None:  # agentnb's stream: nothing after the Stop is applied
                    halt()
                self._task.cancel()

        if in_loop_thread():
            cancel_task()
        else:
            get_loop().call_soon_threadsafe(cancel_task)

    def wait(self, timeout: float | None = None) -> Run:
        """Block until the run ends and return it; raise its error if it did not complete.

        A ``KeyboardInterrupt`` (kernel interrupt) while waiting cancels the run first.
        Without a ``timeout`` nothing can decide on tool calls awaiting approval while this
        blocks (in a notebook, not even the chat cell's buttons): those the run's ``approve=``
        policy leaves undecided are denied, saying no one could approve them."""
        if in_loop_thread():
            raise RuntimeError(
                "RunHandle.wait() would block agentnb's loop, which the run needs: "
                "await the handle there"
            )
        timeout = _checked_wait(timeout)
        if timeout is None:
            self._nobody_decides(CALLER_WAITING)
        try:
            ended = wait_for(self._end_waiter, timeout)
        except KeyboardInterrupt:
            self.cancel()
            wait_for(self._end_waiter, 10)
            raise
        if not ended:
            raise TimeoutError(f"the run did not end within {timeout} s")
        return self._outcome()

    def wait_started(self, timeout: float | None = None) -> bool:
        """Wait until the first event arrived or the run ended; True if so within timeout."""
        return wait_for(self._started, _checked_wait(timeout))

    def exception(self) -> BaseException | None:
        """The error the run ended with, or None (also None while running)."""
        return self._error if self._ended else None

    def __await__(self) -> Generator[Any, None, Run]:
        """``await handle``: like :meth:`wait` without a timeout, also for approvals. An
        await cancelled (``asyncio.wait_for`` timing out, its task cancelled) stops the run,
        as it would a task's."""
        self._nobody_decides(CALLER_WAITING)
        return self._awaited().__await__()

    async def _awaited(self) -> Run:
        with self._lock:
            ended = None
            if not self._ended:  # a future of the awaiting loop, set by the run's end
                loop = asyncio.get_running_loop()
                ended = loop.create_future()
                self._awaiting.append((loop, ended))
        if ended is not None:
            try:
                await ended
            except asyncio.CancelledError:
                self.cancel()
                raise
        return self._outcome()

    def _nobody_decides(self, why: str) -> None:
        with self._lock:
            self._unattended = self._unattended or why
            gate = self._gate
        if gate is not None:
            gate.deny_undecided(why)

    # ---- reading ---------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self._ended

    @property
    def status(self) -> str:
        return self.run.status

    @property
    def text(self) -> str:
        return self.run.text

    @property
    def result(self) -> Any:
        """The answer parsed as JSON when a schema was given (validated), else the text.
        A :class:`AnswerSchemaError` carries the run (``.run``), as every error raised for one."""
        if self._schema is None and self._validate_result is None:
            return self.run.text
        try:
            return self._validated(self.run.text)
        except AnswerSchemaError as exc:
            exc.run = self.run
            raise

    def _validated(self, text: str) -> Any:
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise AnswerSchemaError(f"the answer is not valid JSON: {exc}") from None
        except RecursionError:
            raise AnswerSchemaError("the answer is JSON nested too deeply to read") from None
        if self._validate_result is not None:
            return self._validate_result(value)
        return value

    def __repr__(self) -> str:
        """The run's line, named a handle (``await handle`` gives the :class:`Run`)."""
        return one_line("RunHandle", self.run.agent, self.run.status, self.run._repr_facts())

    def _repr_html_(self) -> str:
        return as_html(repr(self), self.run.text)


def _settle(ended: asyncio.Future[None]) -> None:
    if not ended.done():
        ended.set_result(None)


async def _consume_source(
    source: StreamSource, on_event: Callable[[Event | None], None]
) -> BaseException | None:
    """A source that is not agentnb's stream (a replay, a test's script) consumed as
    :meth:`agentnb._client.stream.AsyncRunStream.run_to_end` consumes a run: to its end, the
    error that ended it returned."""
    run = source.run
    try:
        async with source as stream:
            async for event in stream:
                on_event(event)
    except Exception as exc:
        return _ended_by(run, exc)
    return None


def _ended_by(run: Run, exc: Exception) -> Exception:
    """``exc`` ended ``run``: the run fails saying so (an unexpected bug too, visibly), and an
    agentnb error carries the run."""
    if not run.done:
        run.finish("failed", error_info(exc))
    if isinstance(exc, AgentNBError):
        exc.run = run
    return exc


def _checked_wait(timeout: float | None) -> float | None:
    return checked_number(
        timeout, "timeout", least=0, most=MAX_SECONDS, unit="seconds", optional=True
    )

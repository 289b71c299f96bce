"""`AsyncRunStream`: one run's event stream — retries before it starts, resumes after a cut,
folds every event into the :class:`Run`, and records the run (see
:mod:`agentnb._client.async_client`)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, NoReturn

import anyio

from .._core.approvals import (
    ApprovalGate,
    ApprovalSupport,
    PlatformSupport,
    collect_decisions,
)
from .._core.client_tools import MAX_ROUNDS, AskedFirst, asked_first_id
from .._core.exceptions import (
    AgentNBError,
    EventTooLargeError,
    HTTPStatusError,
    NotFoundError,
    RunFailedError,
    RunInterruptedError,
    StreamStallError,
    error_for_run,
    error_info,
)
from .._core.recorder import RunRecorder
from .._core.request import RunRequest
from .._core.retry import Retryable
from .._core.run import Run, RunErrorInfo
from .._core.statuses import DENIED
from .._core.stoppable import AsyncClosing
from .._core.transcript import ToolCall
from ..events import (
    Event,
    RunCompleted,
    RunFailed,
    RunPaused,
    RunStarted,
    ToolCallStarted,
    Usage,
)
from ..providers import HttpRequest, RunRef, Translator, WireRequest
from ..sse import ServerSentEvent
from .clock import DEFAULT_IDLE_TIMEOUT, Expired, RunClock, Watchdog
from .frame_reader import FrameReader, Outcome, frame_cap, frames_after_stop
from .platform_cancel import Naming, can_cancel, cancel_on_platform
from .recording import RunRecording
from .replay import ReplayMismatch
from .run_feed import RunFeed
from .tool_rounds import ToolRounds

if TYPE_CHECKING:
    from .wire import Opened, Wire

__all__ = ["AsyncRunStream"]

logger = logging.getLogger("agentnb")

MAX_PAUSES_PER_RUN = 100
"""Pauses for decisions in one run: a platform that asks again after every answer (a policy
such as ``approve=True`` answers at once) would otherwise be sent decisions forever."""


async def _named_run(
    frames: AsyncIterator[ServerSentEvent], translator: Translator
) -> tuple[str | None, str | None]:
    """The run id (and thread) the first frame naming the run gives."""
    async for sse in frames:
        for event in translator.translate(sse):
            if isinstance(event, RunStarted) and event.run_id:
                return event.run_id, event.thread_id
        if translator.run_id:
            return translator.run_id, None
    return None, None


def _ignore(event: Event) -> None:
    pass


def _summed(before: Usage | None, usage: Usage | None) -> Usage | None:
    return usage if before is None else before.plus(usage)


class AsyncRunStream(AsyncClosing):
    """One run's events, as they arrive. ``.run`` is the :class:`Run` they fold into.

    ``async for event in stream`` yields each event after stamping ``seq``/``received_at``
    and applying it to ``.run``. A ``RunFailed`` event is yielded and ends the iteration;
    transport and protocol failures raise typed errors after marking the run. ``aclose()``
    (also from another task) cancels: the connection is closed at once, the run is marked
    ``cancelled`` (and the platform told: :mod:`agentnb._client.platform_cancel`) and an
    iteration in progress ends quietly. ``idle_timeout`` / ``run_timeout`` bound the run in
    time (:mod:`agentnb._client.clock`). A pause for tool calls awaiting approval waits for
    ``.approvals``, sends the decisions and reads on. ``attach``: a run already going,
    streamed again from its start (no request starts one; a cut attaches again)."""

    def __init__(
        self,
        transport: Wire,
        request: RunRequest,
        run: Run,
        *,
        recorder: RunRecorder | None = None,
        idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
        run_timeout: float | None = None,
        attach: RunRef | None = None,
    ) -> None:
        self.run = run
        self._attach = attach  # a run already going on the platform, streamed again
        self._clock = RunClock(idle_timeout, run_timeout)
        self._watchdog = Watchdog(self._clock)  # bounds every wait of the run, with one timer
        self._recording = RunRecording(recorder, run)
        self._feed = RunFeed(run, self._clock, self._recording, transport.redact_event)
        self.request = request
        self._transport = transport
        self._provider = transport.provider
        self._tools = ToolRounds(request.tools, transport.redact, run.local_id)
        self._usage: Usage | None = None  # the steps' usage before the last (client tools)
        platform: ApprovalSupport = self._provider
        if request.tools or request.asks_first:  # decisions on client tools (and on what
            # is asked before sending) are the client's own, whatever the platform can carry
            # (its own pauses still go through the provider)
            platform = PlatformSupport(
                self._provider.named, supports_answers=self._provider.supports_answers
            )
        self.approvals = ApprovalGate(run, platform)
        self._gen: AsyncGenerator[Event, None] | None = None
        self._reader: asyncio.Task[Any] | None = None  # the task inside __anext__
        self._stopped_reader = self._closing = False
        self._finished = asyncio.Event()
        self._response: Opened | None = None
        self._paused_response: Opened | None = None
        """The last response, closed to be read on later (a pause): let go if the run ends
        unfinished (:meth:`Wire.let_go`)."""
        self._retries = 0
        self._server_retry_ms: int | None = None
        self._resumed_at: list[float] = []
        """When each resume of the last minute went out (time.monotonic)."""
        self._pauses = 0
        self._refusal_answered = False  # a refused request is sent again, changed, once
        self._body_reader: FrameReader | None = None
        self._unanswered: asyncio.Future[Opened | None] | None = None
        """The stream's request, still waiting for its answer when a Stop came."""

    @property
    def last_event_id(self) -> str | None:
        """The last SSE event id received: what a resume sends as ``Last-Event-ID``."""
        return self._feed.last_id

    def __repr__(self) -> str:
        r = self.run
        return (
            f"<AsyncRunStream {r.provider} agent={r.agent!r} status={r.status} "
            f"events={r.event_count}>"
        )

    # ---- protocol ----------------------------------------------------------------------
    def __aiter__(self) -> AsyncRunStream:
        return self

    async def __anext__(self) -> Event:
        if self._closing or self._finished.is_set():
            raise StopAsyncIteration
        if self._gen is None:
            self._gen = self._events()
        self._reader = reader = asyncio.current_task()
        try:
            return await self._gen.__anext__()
        except asyncio.CancelledError:
            if not self._stopped_reader:
                raise
            self._stopped_reader = False
            if reader is not None and reader.uncancel() > 0:
                raise  # cancelled by someone else as well
            raise StopAsyncIteration from None
        finally:
            self._reader = None

    def halt(self) -> None:
        """Apply nothing more to the run: what arrives from here on (frames already read
        with the last one included) is dropped. A Stop's first step, on the event loop: the
        run then stays as it was when the Stop was given, however many frames a read brought
        (:meth:`aclose` and a cancelled :class:`~agentnb.types.RunHandle` take it)."""
        self._feed.halt()

    async def aclose(self) -> None:
        """Cancel the run if it is still going: close the connection, mark it cancelled."""
        if self._finished.is_set():
            return
        self.halt()
        self._closing = True
        reader = self._reader
        if reader is not None and reader is not asyncio.current_task():
            # another task waits inside __anext__, which turns this into the iteration's end
            self._stopped_reader = True
            reader.cancel()
            await self._finished.wait()
            return
        if self._gen is not None:
            gen, self._gen = self._gen, None
            await gen.aclose()
        if not self._finished.is_set():  # never iterated: nothing was sent
            self.run.finish("cancelled")
            self._finished.set()

    async def consume(self, on_event: Callable[[Event], None] | None = None) -> None:
        """Stream the run to its end, calling ``on_event`` after each event is applied (what
        iterating does, without a step of the iteration per event: most events are applied
        as the event loop reads them, and ``on_event`` is called there; see
        :mod:`agentnb._client.frame_reader`). Raises as iterating does."""
        emit = self._feed.inline = on_event or _ignore
        async for event in self:
            emit(event)

    async def run_to_end(
        self, on_event: Callable[[Event], None] | None = None
    ) -> BaseException | None:
        """Stream the run to its end as :meth:`consume` does, close the stream, and return the
        error that says why the run did not complete (None if it did) instead of raising it.

        The one place a run's end becomes its outcome: ``client.run`` raises what this
        returns, a :class:`~agentnb.types.RunHandle` keeps it for ``wait()`` and ``await``, and
        ``batch`` keeps going. A transport or HTTP error keeps its type and gains ``.run``;
        otherwise the error is :func:`~agentnb._core.exceptions.error_for_run`'s. Cancelling
        the task that waits here cancels the run and is raised."""
        error: BaseException | None = None
        try:
            async with self:
                await self.consume(on_event)
        except AgentNBError as exc:
            exc.run = self.run
            error = _without_stream_frames(exc)
        except Exception as exc:  # a bug: the run ended failed saying so (see _events)
            error = exc
        if not self.run.done:
            self.run.finish("interrupted")
        return error or error_for_run(self.run)

    # ---- the run -------------------------------------------------------------------------
    async def _events(self) -> AsyncGenerator[Event, None]:
        run = self.run
        try:
            run.start()
            self._clock.restart()
            self._recording.start(self.request, self._transport.base_url)
            if self.request.asks_first is not None:  # decided before anything is sent
                async with contextlib.aclosing(self._asked_first(self.request.asks_first)) as ev:
                    async for event in ev:
                        yield event
                if run.done:
                    return
            request = await self._prepare(self.request)
            self.request = request
            run.thread_id = run.thread_id or request.thread_id
            try:  # nested: the errors these turn into are handled below
                async with contextlib.aclosing(self._attempts(request)) as events:
                    async for event in events:
                        yield event
            except Expired as expired:
                self._stall(expired.reason)
            except ReplayMismatch as mismatch:
                self._interrupt(str(mismatch))
        except (asyncio.CancelledError, GeneratorExit):
            run.finish("cancelled")
            raise
        except AgentNBError as exc:
            if not run.done:
                run.finish("failed", error_info(exc))
            exc.run = run
            raise
        except Exception as exc:  # a bug must still end the run visibly
            run.finish("failed", error_info(exc))
            raise
        finally:
            if not run.done:
                run.finish("cancelled" if self._closing else "interrupted")
            naming = self._naming() if run.status == "cancelled" else None
            await self._close_response(keep=False)
            await self._let_go_of_paused()
            self._let_go_of_request()
            if run.status == "cancelled":
                cancel_on_platform(self._transport, run, self._recording.end_changed, naming)
            self._recording.end()
            self._watchdog.close()
            self._finished.set()

    def _naming(self) -> Naming | None:
        """A run stopped before the platform named it: what reads on, in the background,
        until it does (:mod:`.platform_cancel`), taking over the request still going or the
        response being read. None when the run has its id or the dialect cannot cancel."""
        translator = self._feed.translator
        if self.run.run_id is not None or translator is None:
            return None
        if translator.run_id is not None:
            self.run.run_id = translator.run_id
            return None
        if not can_cancel(self._transport, self.run):
            return None
        opening, self._unanswered = self._unanswered, None
        response, self._response = self._response, None
        reader, self._body_reader = self._body_reader, None
        if opening is None and response is None:
            return None
        return functools.partial(self._named_after_stop, translator, opening, response, reader)

    async def _named_after_stop(
        self,
        translator: Translator,
        opening: asyncio.Future[Opened | None] | None,
        response: Opened | None,
        reader: FrameReader | None,
    ) -> tuple[str | None, str | None]:
        """The platform's answer to a stopped run's request, read until it names the run.
        What the frames say besides is dropped: the run has stopped."""
        try:
            if response is None:
                assert opening is not None
                response = await opening
                if response is None:  # the stream took it: nothing was left to name
                    return None, None
                for event in translator.on_response(response.headers):
                    if isinstance(event, RunStarted) and event.run_id:
                        return event.run_id, event.thread_id
            where = functools.partial(self._transport.where_of, response)
            async with contextlib.aclosing(frames_after_stop(response, reader, where)) as frames:
                return await _named_run(frames, translator)
        finally:
            if opening is not None and not opening.done():
                opening.cancel()
            if reader is not None:
                reader.close()
            if response is not None:
                with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                    await self._transport.close_response(response, keep=False)

    async def _open(self, http: WireRequest, resuming: bool) -> Opened:
        """Send the stream's request. A Stop while it waits for the answer leaves the request
        going (the platform may have started the run): :meth:`_naming` takes it over; where
        a Stop can end the request at once, it is awaited in place (a task and a turn of the
        event loop less before the run's first event: :attr:`Wire.opens_cleanly_cancelled`)."""
        transport = self._transport
        if transport.opens_cleanly_cancelled:
            return await self._watchdog.read(
                lambda: transport.open_stream(http, idempotent=resuming)
            )
        answer: asyncio.Future[Opened] = asyncio.get_running_loop().create_future()
        opening = asyncio.ensure_future(self._send(http, resuming, answer))
        try:
            return await self._watchdog.read(lambda: answer)
        except asyncio.CancelledError:
            if answer.cancelled():
                self._unanswered = opening
            elif answer.exception() is None:
                self._response = answer.result()  # answered as the Stop came
            raise
        finally:
            if not opening.done() and self._unanswered is not opening:
                opening.cancel()

    async def _send(
        self, http: WireRequest, resuming: bool, answer: asyncio.Future[Opened]
    ) -> Opened | None:
        """The request, in a task of its own: its answer goes to ``answer``, or, when a Stop
        left no one waiting there, is the task's (:meth:`_named_after_stop` reads it). Not
        :func:`asyncio.shield`: its extra turn of the loop lets a cut that came with the
        body's first bytes reach aiohttp first, and aiohttp then drops what it buffered."""
        try:
            response = await self._transport.open_stream(http, idempotent=resuming)
        except Exception as exc:
            if answer.cancelled():
                raise
            answer.set_exception(exc)
            return None
        if answer.cancelled():
            return response
        answer.set_result(response)
        return None

    def _let_go_of_request(self) -> None:
        """A request still waiting for its answer that no Stop took over is cancelled; an
        answer that came all the same is closed."""
        opening, self._unanswered = self._unanswered, None
        if opening is not None:
            opening.cancel()
            opening.add_done_callback(self._close_unread)

    def _close_unread(self, opening: asyncio.Future[Opened | None]) -> None:
        if opening.cancelled() or opening.exception() is not None:
            return  # read: the failure is not the run's, which ended before it
        response = opening.result()
        if response is not None:
            self._transport.in_background(self._transport.close_response(response, keep=False))

    async def _prepare(self, request: RunRequest) -> RunRequest:
        """What the platform says about itself (read once per client), then the dialect's
        steps before a new run's stream (an attach has none)."""

        async def steps() -> RunRequest:
            await self._transport.discover()
            if self._attach:
                return request
            try:
                return await self._provider.prepare(request, self._send_json)
            except NotFoundError as error:
                raise await self._transport.framework_named(error) from None

        try:
            return await self._watchdog.read(steps)
        except Expired as expired:
            self._stall(expired.reason)

    async def _attempts(self, request: RunRequest) -> AsyncGenerator[Event, None]:
        """The state machine: open, read, and retry or resume until a terminal event."""
        translator = self._new_translator(request)
        http = self._first_request(request)
        resuming = False
        if self._transport.back_off.left() > 0:  # a 429 to another run holds this one
            await self._watchdog.read(self._transport.paced)
        while True:
            try:
                response = await self._open(http, resuming)
            except Retryable as failure:
                if resuming:
                    await self._before_resume(f"resuming failed: {failure.error}")
                else:
                    await self._before_retry(failure)
                continue
            except AgentNBError as exc:
                if resuming:
                    self._interrupt(f"the stream was cut and resuming it failed: {exc}", exc)
                http = self._refused(request, http, exc)
                continue
            self._response = response
            self._recording.responded()
            if resuming:
                replays = isinstance(http, HttpRequest) and http.replays_run
                self._feed.guard.resumed(from_start=replays)
            for event in translator.on_response(response.headers):
                yield self._feed.deliver(event)
            outcome, paused, continued = Outcome(), False, None
            reader = self._frame_reader(response, outcome)
            try:
                while await reader.wait():
                    while self._feed.queue:
                        event = self._feed.queue.pop(0)
                        if self._should_retry(event):
                            outcome.retry_after = event.retry_after  # type: ignore[union-attr]
                            outcome.kind = "retry"
                            outcome.detail = event.message  # type: ignore[union-attr]
                            break
                        if isinstance(event, RunCompleted):
                            # free the stream's pooled connection first: at the pool's limit,
                            # runs that all hold one while asking for another would deadlock
                            await self._close_response()
                            continued = self._provider.continued_request(request, translator, event)
                            if continued is not None:  # the platform's turn goes on
                                self._usage = _summed(self._usage, event.usage)
                                break
                            calls = self._tools.pending(self.run.tool_calls)
                            if calls:  # the agent's step left calls to the client's tools
                                self._count_tool_round()
                                self._usage = _summed(self._usage, event.usage)
                                async with contextlib.aclosing(self._tool_round(calls)) as ran:
                                    async for done in ran:
                                        yield self._feed.deliver(done)
                                continued = self._provider.tool_results_request(
                                    request, translator, self._tools.results
                                )
                                if continued is None:
                                    raise self.approvals.unsupported()
                                break
                            event = await self._finalize(request, translator, event)
                        yield self._feed.deliver(event)
                        if isinstance(event, RunCompleted | RunFailed):
                            return
                        paused = paused or isinstance(event, RunPaused)
                        self._feed.made_progress(event)
                    if outcome.kind == "retry" or paused or continued:
                        break
            except EventTooLargeError:
                self._feed.frame_past_cap(frame_cap(self.run.max_size))
                raise
            finally:
                self._feed.queue.clear()
                await reader.aclose()
            await self._close_response()
            self._server_retry_ms = outcome.server_retry_ms or self._server_retry_ms
            if outcome.kind == "retry":
                detail = outcome.detail or "the platform asked to retry"
                error = RunFailedError(detail, retry_after=outcome.retry_after)
                await self._before_retry(Retryable(error, outcome.retry_after))
                translator = self._new_translator(request)
                http = self._provider.stream_http_request(request)
                resuming = False
                continue
            if continued is not None:  # results or a paused turn sent: read the next step
                http, resuming = continued, False
                self._feed.guard.resumed(strict=False)
                continue
            if paused:  # wait for the decisions, send them, read on with the same translator
                self._count_pause()
                tick = (self._clock.idle_timeout or 60.0) / 2
                guard = self._watchdog.read
                decided = collect_decisions(self.approvals, guard, tick, self._clock.progress)
                async with contextlib.aclosing(decided) as decisions:
                    async for event in decisions:
                        yield self._feed.deliver(event)
                collected = self.approvals.collected
                sent = self._provider.approval_request(request, translator, collected)
                if sent is None:
                    raise self.approvals.unsupported()
                http, resuming = sent, False
                self._feed.guard.resumed(strict=False)  # its answer may start the run over
                continue
            if translator.done:  # a terminal frame without a terminal event
                return
            http = self._resume_request(request, translator, outcome)
            await self._before_resume(outcome.detail)
            resuming = True

    # ---- steps -------------------------------------------------------------------------
    async def _asked_first(self, first: AskedFirst) -> AsyncGenerator[Event, None]:
        """The call the run asks about before anything is sent, as a call of the run run by
        the client (:mod:`.tool_rounds`: shown with its preview, decided through the gate);
        denied, nothing is sent and the message is kept as it was typed: the person's denial
        ends the run as they decided (completed, ``finish_reason`` :data:`DENIED`); one by a
        policy, or because no one could decide, ends it failed saying so."""
        call_id = asked_first_id(first)
        started = ToolCallStarted(call_id=call_id, name=first.tool.name, arguments=first.arguments)
        yield self._feed.deliver(started)
        call = self.run.tool_call(call_id)
        assert call is not None
        rounds = ToolRounds((first.tool,), self._transport.redact)
        tick = (self._clock.idle_timeout or 60.0) / 2
        guard, progress = self._watchdog.read, self._clock.progress
        ran = rounds.run_round([call], self.approvals, guard, tick, progress)
        async with contextlib.aclosing(ran) as events:
            async for event in events:
                yield self._feed.deliver(event)
        if call.status == "succeeded":
            return
        self.run.message, self.run.typed = self.run.asked, None  # what went: nothing
        if call.status == "denied" and self.approvals.decided_by(call_id) == "user":
            yield self._feed.deliver(RunCompleted(finish_reason=DENIED))
            return
        if call.status == "denied":
            why = call.approval.decision_reason if call.approval is not None else None
            message = f"{first.message} ({why})" if why else first.message
        else:
            message = f"{call.name} failed, so nothing was sent: {call.error}"
        yield self._feed.deliver(RunFailed(message=message, code=first.code))

    def _tool_round(self, calls: list[ToolCall]) -> AsyncGenerator[Event, None]:
        """Run the client tools the agent called (see :mod:`.tool_rounds`)."""
        tick = (self._clock.idle_timeout or 60.0) / 2
        guard = self._watchdog.read
        return self._tools.run_round(calls, self.approvals, guard, tick, self._clock.progress)

    def _new_translator(self, request: RunRequest) -> Translator:
        translator = self._provider.translator(request)
        self._feed.restart(translator)
        return translator

    def _frame_reader(self, response: Opened, outcome: Outcome) -> FrameReader:
        self._feed.queue.clear()
        self._body_reader = FrameReader(
            response,
            self._watchdog,
            outcome,
            self._feed.on_frame,
            self._feed.on_end,
            where=functools.partial(self._transport.where_of, response),
            read_timeout=self._transport.timeout.read,
            max_run_size=self.run.max_size,
        )
        return self._body_reader

    def _should_retry(self, event: Event) -> bool:
        if not isinstance(event, RunFailed) or not event.retryable or self._feed.content_started:
            return False
        policy = self._transport.retry
        if self._retries >= policy.max_retries:
            return False
        return event.retry_after is None or event.retry_after <= policy.max_retry_after

    async def _before_retry(self, failure: Retryable) -> None:
        await self._watchdog.read(lambda: self._transport.wait_to_retry(failure, self._retries))
        self._retries += 1
        self.run.retries += 1

    def _refused(self, request: RunRequest, sent: WireRequest, error: AgentNBError) -> WireRequest:
        """The refused request once more, as the dialect changes it to be taken (once a run,
        see :meth:`Provider.refused`); else the refusal is raised."""
        fixed = None
        refused = isinstance(error, HTTPStatusError) and not self._refusal_answered
        if refused and isinstance(sent, HttpRequest) and isinstance(error, HTTPStatusError):
            self._refusal_answered = True
            fixed = self._provider.refused(request, sent, error)
        if fixed is None:
            raise error
        return fixed

    def _first_request(self, request: RunRequest) -> WireRequest:
        if self._attach is None:
            return self._provider.stream_http_request(request)
        if http := self._provider.attach_request(self._attach, None):
            return http
        raise self._provider.cannot_attach()

    def _resume_request(
        self, request: RunRequest, translator: Translator, outcome: Outcome
    ) -> WireRequest:
        if outcome.kind == "stalled" and self._feed.resumes_in_a_row >= 1:
            self._stall(outcome.detail)
        if self._attach is not None:
            http = self._provider.attach_request(self._attach, self._feed.last_id)
        else:
            http = self._provider.resume_request(request, self._feed.last_id, translator)
        if http is None:
            if outcome.kind == "stalled":
                self._stall(outcome.detail)
            self._interrupt(
                f"{outcome.detail}, and {self._provider.named} cannot resume it here "
                f"(the server sent no event ids and the dialect has no cursor for this run); "
                f"re-sending the request would start a second run"
            )
        return http

    async def _before_resume(self, reason: str) -> None:
        """Wait before a resume, or end the run: after ``max_resumes`` resumes in a row
        without progress, more than ``max_resumes_per_minute`` in a minute, or more than
        ``max_resumes_per_run`` (a server cutting after every event is a storm, not a run)."""
        policy = self._transport.retry
        self._feed.resumes_in_a_row += 1
        now = time.monotonic()
        recent = [at for at in self._resumed_at if now - at < 60.0]
        self._resumed_at = recent
        if self._feed.resumes_in_a_row > policy.max_resumes:
            self._interrupt(
                f"{reason}; gave up after {policy.max_resumes} resume(s) without progress"
            )
        if len(recent) >= policy.max_resumes_per_minute:
            self._interrupt(
                f"{reason}; the stream was cut {len(recent) + 1} times within a minute: gave up "
                f"(at most {policy.max_resumes_per_minute} resumes a minute)"
            )
        if self.run.resumes >= policy.max_resumes_per_run:
            self._interrupt(
                f"{reason}; the stream was cut {self.run.resumes + 1} times in this run: gave up "
                f"(at most {policy.max_resumes_per_run} resumes a run)"
            )
        waited = max(len(recent), self._feed.resumes_in_a_row - 1)
        delay = policy.resume_delay(waited, self._server_retry_ms)
        await self._watchdog.read(lambda: self._transport.sleep(delay))
        self._resumed_at.append(time.monotonic())
        self.run.resumes += 1

    def _count_pause(self) -> None:
        self._pauses += 1
        if self._pauses > MAX_PAUSES_PER_RUN:
            self._interrupt(
                f"the platform paused the run for decisions {self._pauses} times: gave up (at "
                f"most {MAX_PAUSES_PER_RUN} pauses a run; a platform that asks again after "
                f"every answer would be answered forever). Start a new run to go on"
            )

    def _count_tool_round(self) -> None:
        """Past the last round a run allows, the calls are refused with "answer with what you
        have"; an agent that calls again after that would be answered forever."""
        if self._tools.rounds > MAX_ROUNDS:
            self._interrupt(
                f"the agent called the notebook's tools again after {MAX_ROUNDS} rounds and "
                f"was told to answer with what it had: gave up (each round is another request "
                f"to the platform). Start a new run to go on"
            )

    def _interrupt(self, reason: str, cause: BaseException | None = None) -> NoReturn:
        message = self._transport.redact(reason)
        self.run.finish("interrupted", RunErrorInfo(message, code="interrupted"))
        raise RunInterruptedError(message, partial_text=self.run.text, run=self.run) from cause

    def _stall(self, reason: str) -> NoReturn:
        url = self._transport.redact(self._transport.base_url)
        message = f"{reason} ({self._provider.named} at {url})"
        self.run.finish("interrupted", RunErrorInfo(message, code="timeout"))
        raise StreamStallError(message, url=url, partial_text=self.run.text, run=self.run)

    async def _finalize(
        self, request: RunRequest, translator: Translator, event: RunCompleted
    ) -> RunCompleted:
        if self._usage is not None:  # the run's usage: every step's, client tools between
            event.usage = self._usage.plus(event.usage)
        try:
            return await self._provider.finalize(request, translator, event, self._send_json)
        except AgentNBError as exc:
            lost = "could not fetch the run's details after the stream; it is kept without them"
            logger.warning("agentnb: %s %s (%s)", self._provider.named, lost, exc)
            return event

    async def _send_json(self, http: WireRequest) -> Any:
        return await self._transport.send_json(http, on_retry=self._count_retry)

    def _count_retry(self) -> None:
        self.run.retries += 1

    async def _close_response(self, keep: bool = True) -> None:
        reader, self._body_reader = self._body_reader, None
        if reader is not None:
            reader.close()  # first: the connection may carry another run's body next
        response, self._response = self._response, None
        if response is not None:
            self._paused_response = response if keep else None
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                await self._transport.close_response(response, keep=keep)

    async def _let_go_of_paused(self) -> None:
        """The run ended unfinished with its last response closed to be read on later (it
        failed while paused for decisions): the transport lets go of what it holds."""
        response, self._paused_response = self._paused_response, None
        if response is not None and self.run.status != "completed":
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                await self._transport.let_go(response)


def _without_stream_frames(error: AgentNBError) -> AgentNBError:
    """``error`` as the run's outcome, without the frames of the stream's loop it was raised
    through: their locals hold the frame and the events that ended the run (a refused event
    past ``max_run_mib`` among them), which a caller keeping the error would keep too. Its
    cause keeps its own traceback."""
    error.__traceback__ = None
    context = error.__context__
    while isinstance(context, AgentNBError) and context.__traceback__ is not None:
        context.__traceback__ = None
        context = context.__context__
    return error

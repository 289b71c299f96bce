"""A round of client tools inside one run: the agent's step ended with calls the platform
left to the client; each is checked (declared, bounded, valid arguments), asked about where
its tool says so, run by :func:`~agentnb._core.user_code.run_user_code`, and its result
shown in the run and handed to the dialect, which sends the results and reads on."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any

from .._core.approval_fold import disagreement
from .._core.approvals import ApprovalGate, collect_decisions
from .._core.client_tools import (
    MAX_CALLS_PER_ROUND,
    MAX_ROUNDS,
    ClientTool,
    FormedResult,
    ToolResult,
    arguments_json,
    error_text,
    result_text,
)
from .._core.questions import Ask, QuestionReply
from .._core.rich_result import SHOWN_TIME_LIMIT, has_rich_form, shown_result
from .._core.transcript import ToolCall
from .._core.user_code import calling_run, run_user_code
from ..events import (
    Event,
    RunPaused,
    ToolApprovalRequested,
    ToolCallFinished,
    ToolCallProgress,
    ToolQuestionAnswered,
    ToolQuestionAsked,
)

__all__ = ["NOTEBOOK_READS", "STOPPED_WHILE_RUNNING", "ToolRounds"]

NOTEBOOK_READS = "reads of the notebook"
"""What approving one read of the notebook for the run allows: the run's later reads."""

CALL_ENDED = "the call ended before anyone answered"
"""Why a question is cancelled when its call ends (its time limit, Stop) before a reply."""

STOPPED_WHILE_RUNNING = (
    "the run was stopped while the notebook ran this call: it was abandoned (a notebook cell "
    "it ran is interrupted; a function may still be running)"
)


class ToolRounds:
    """The client tools of one run and its rounds so far."""

    def __init__(
        self,
        tools: tuple[ClientTool, ...],
        redact: Callable[[str], str],
        run_id: str | None = None,
    ) -> None:
        self.tools = {t.name: t for t in tools}
        self.run_id = run_id  # the run whose tools these are: what they read as calling_run
        self.rounds = 0
        self.results: list[ToolResult] = []
        self._redact = redact
        self._formed: dict[str, FormedResult] = {}
        """This round's results that came with their forms: their images and data go back
        beside the call's text."""

    def pending(self, calls: list[ToolCall]) -> list[ToolCall]:
        """The calls the agent left to the client: open at the end of its step (a call to a
        tool declared without a function is left to whoever owns it)."""
        if not any(t.function for t in self.tools.values()):
            return []
        open_calls = [c for c in calls if c.status == "running" and c.depth == 0]
        owned = [c for c in open_calls if (t := self.tools.get(c.name)) is None or t.function]
        return open_calls if owned else []

    async def run_round(
        self, calls: list[ToolCall], gate: ApprovalGate, guard: Any, tick: float, progress: Any
    ) -> AsyncGenerator[Event, None]:
        """Run one round, yielding the events the run shows; ``results`` then holds what
        goes back. Decisions on tools that ask first are collected through ``gate``."""
        self.rounds += 1
        self.results = []
        self._formed = {}
        refused: dict[str, str] = {}
        arguments: dict[str, dict[str, Any]] = {}
        for position, call in enumerate(calls):
            try:
                arguments[call.call_id] = self._checked(call, position)
            except ValueError as why:
                refused[call.call_id] = str(why)
        asking = [c for c in calls if c.call_id not in refused and self.tools[c.name].approve]
        for call in asking:
            declared = self.tools[call.name]
            reason = self._reason(declared, arguments[call.call_id])
            for_run = NOTEBOOK_READS if declared.reads_notebook else None
            yield ToolApprovalRequested(call_id=call.call_id, reason=reason, for_run=for_run)
        if asking:  # the run waits for a person, as at a platform's approval, on no one's clock
            if not all(gate.allows_for_run(c) for c in asking):
                yield RunPaused(reason="a notebook tool asks before it runs")
            async for decided in collect_decisions(gate, guard, tick, progress):
                yield decided
        runnable = [c for c in calls if c.call_id not in refused and c.status == "running"]
        for call in runnable:  # shown running in the notebook before it starts
            yield ToolCallProgress(call_id=call.call_id, ran_by="client")
        questions: asyncio.Queue[_Asked | ToolCallProgress] = asyncio.Queue()
        work = asyncio.ensure_future(
            asyncio.gather(*(self._run(c, arguments[c.call_id], questions) for c in runnable))
        )
        try:
            asked = self._questions(work, questions, gate, guard, tick, progress)
            async with contextlib.aclosing(asked) as shown:
                async for event in shown:
                    yield event
            outcomes = await work
        except asyncio.CancelledError:  # Stop: the run ends (no event can follow), say why here
            work.cancel()
            for call in runnable:
                call.error = STOPPED_WHILE_RUNNING
            raise
        finished = dict(zip((c.call_id for c in runnable), outcomes, strict=True))
        for call in calls:
            if call.call_id in refused:
                event = ToolCallFinished(call_id=call.call_id, error=refused[call.call_id])
                yield _by_client(event)
            elif call.call_id in finished:
                yield finished[call.call_id]
            self.results.append(self._result(call))

    async def _questions(
        self,
        work: asyncio.Future[Any],
        questions: asyncio.Queue[_Asked | ToolCallProgress],
        gate: ApprovalGate,
        guard: Any,
        tick: float,
        progress: Any,
    ) -> AsyncGenerator[Event, None]:
        """While the calls run: each question one asks (one at a time), shown in the run and
        answered through ``gate``; a question still open when its call ends, or when the run
        stops, is cancelled (the tool's side never waits for ever)."""
        asked: _Asked | None = None
        taking: asyncio.Future[_Asked | ToolCallProgress] | None = None
        try:
            while not work.done():
                taking = asyncio.ensure_future(questions.get())
                await asyncio.wait({work, taking}, return_when=asyncio.FIRST_COMPLETED)
                if not taking.done():
                    return
                taken = taking.result()
                if isinstance(taken, ToolCallProgress):  # how a running call is going
                    yield taken
                    continue
                asked = taken
                yield ToolQuestionAsked(call_id=asked.call.call_id, question=asked.question)
                answering = asyncio.ensure_future(
                    gate.ask_person(asked.call, guard, tick, progress)
                )
                try:
                    await asyncio.wait({work, answering}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    answering.cancel()
                reply = (
                    answering.result()
                    if answering.done() and not answering.cancelled()
                    else QuestionReply("cancel", reason=CALL_ENDED)
                )
                asked.settle(reply)
                by = "user" if reply.by_user else "policy"
                yield ToolQuestionAnswered(
                    call_id=asked.call.call_id,
                    action=reply.action,
                    reason=reply.reason,
                    decided_by=by,
                )
        finally:
            if taking is not None and not taking.cancel() and not taking.cancelled():
                late = taking.result()  # taken as the round ended
                if isinstance(late, _Asked) and late is not asked:
                    late.settle(QuestionReply("cancel", reason=CALL_ENDED))
            ended = QuestionReply("cancel", reason=CALL_ENDED)
            if asked is not None:
                asked.settle(ended)  # stopped while it waited (no-op once replied)
            while not questions.empty():  # asked as its call ended: nobody will see it
                if isinstance(left := questions.get_nowait(), _Asked):
                    left.settle(ended)

    def _asker(self, call: ToolCall, questions: asyncio.Queue[_Asked | ToolCallProgress]) -> Ask:
        """What a tool that asks gets: hands its question to this round, on this loop, from
        whichever loop the tool runs on, and waits for the reply."""
        loop = asyncio.get_running_loop()

        async def ask(question: dict[str, Any]) -> QuestionReply:
            replied: concurrent.futures.Future[QuestionReply] = concurrent.futures.Future()
            try:
                loop.call_soon_threadsafe(questions.put_nowait, _Asked(call, question, replied))
            except RuntimeError:  # the run's loop closed: the run is over
                return QuestionReply("cancel", reason=CALL_ENDED)
            return await asyncio.wrap_future(replied)

        def progress(said: str) -> None:
            shown = ToolCallProgress(call_id=call.call_id, output=said, ran_by="client")
            with contextlib.suppress(RuntimeError):  # the run's loop closed: nobody sees it
                loop.call_soon_threadsafe(questions.put_nowait, shown)

        return Ask(ask, progress)

    def _reason(self, declared: ClientTool, arguments: dict[str, Any]) -> str:
        """Why a call asks, and what it will do once approved (its tool's preview, made
        without running the user's code)."""
        if declared.preview is None:
            return "asks before it runs"
        try:
            return self._redact(declared.preview(arguments))
        except Exception as exc:  # a preview that fails still lets the person decide
            return f"asks before it runs (what it would do could not be said: {exc!r:.200})"

    def _checked(self, call: ToolCall, position: int) -> dict[str, Any]:
        """The arguments the call's function gets; a ``ValueError`` saying why it is not run."""
        declared = self.tools.get(call.name)
        if declared is None:
            names = ", ".join(sorted(self.tools)) or "none"
            raise ValueError(
                f"no tool named {call.name!r} was declared by the client (declared: {names})"
            )
        if declared.function is None:
            raise ValueError(
                f"tool {call.name!r} is declared without a function: nothing here runs it"
            )
        if self.rounds > MAX_ROUNDS:
            raise ValueError(
                f"the client ran its tools in {MAX_ROUNDS} rounds already, the most one run "
                f"allows: answer with what you have"
            )
        if position >= MAX_CALLS_PER_ROUND:
            raise ValueError(f"at most {MAX_CALLS_PER_ROUND} client tool calls are run per step")
        checked = declared.checked_arguments(call.arguments, call.arguments_text)
        never = declared.refusal(checked) if declared.refusal is not None else None
        if never is not None:  # refused before anyone is asked, as an ACP agent's reads are
            raise ValueError(never)
        disagree = disagreement(call)  # run with one, the dialect would send back the other
        if disagree is not None:
            raise ValueError(disagree)
        return checked

    async def _run(
        self,
        call: ToolCall,
        arguments: dict[str, Any],
        questions: asyncio.Queue[_Asked | ToolCallProgress],
    ) -> ToolCallFinished:
        declared = self.tools[call.name]
        assert declared.function is not None
        calling_run.set(self.run_id)  # this call's own task: no other call sees it
        outcome = await run_user_code(
            declared.function,
            args=(self._asker(call, questions),) if declared.asks else (),
            kwargs=arguments,
            time_limit=declared.time_limit,
            parallel=declared.parallel,
            user_loop=declared.user_loop,
        )
        printed = self._redact(outcome.output)
        if outcome.status == "timed_out":
            still = " and may still be running in the notebook" if outcome.abandoned else ""
            limit = f"{declared.time_limit:g} s"
            error = f"{call.name} did not finish within {limit}: it was abandoned{still}"
            return _by_client(
                ToolCallFinished(call_id=call.call_id, error=error, output=printed or None)
            )
        if outcome.status == "error":
            assert outcome.error is not None
            error = self._redact(error_text(outcome.error))
            return _by_client(
                ToolCallFinished(call_id=call.call_id, error=error, output=printed or None)
            )
        text = self._redact(result_text(outcome.value))
        output: Any = {"returned": text, "printed": printed} if printed else text
        shown = await self._shown(outcome.value)
        if isinstance(outcome.value, FormedResult):
            self._formed[call.call_id] = outcome.value
        return _by_client(ToolCallFinished(call_id=call.call_id, output=output, shown=shown))

    async def _shown(self, value: Any) -> dict[str, str] | None:
        """The value as a person sees it in the notebook, where it has a form beside its
        text (a figure, a table), formatted under a bound (it runs the value's own code); its
        text redacted as the agent's is."""
        if isinstance(value, FormedResult):  # made safe where it was made: no code runs
            shown = value.shown
        elif not has_rich_form(value):
            return None
        else:
            formatted = await run_user_code(
                shown_result, args=(value,), time_limit=SHOWN_TIME_LIMIT
            )
            shown = formatted.value if formatted.status == "ok" else None
        if not isinstance(shown, dict):
            return None
        if not shown["mime"].startswith("image/") or shown["mime"] == "image/svg+xml":
            shown = {**shown, "data": self._redact(shown["data"])}
        return shown

    def _result(self, call: ToolCall) -> ToolResult:
        sent = call.arguments_text or _sent(call.arguments)
        if call.status == "denied":
            reason = f": {call.error}" if call.error else ""
            return ToolResult(
                call.call_id, call.name, sent, f"the user denied this call{reason}", True
            )
        if call.error is not None:
            return ToolResult(call.call_id, call.name, sent, call.error, True)
        output = call.output
        text = output["returned"] if isinstance(output, dict) and "returned" in output else output
        formed = self._formed.get(call.call_id)
        if formed is None:
            return ToolResult(call.call_id, call.name, sent, str(text))
        structured = None if formed.structured is None else self._redacted(formed.structured)
        return ToolResult(
            call.call_id, call.name, sent, str(text), images=formed.images, structured=structured
        )

    def _redacted(self, value: Any) -> Any:
        """JSON values with each string redacted as the text is (its keys too)."""
        if isinstance(value, str):
            return self._redact(value)
        if isinstance(value, dict):
            return {self._redact(str(k)): self._redacted(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._redacted(v) for v in value]
        return value


@dataclass(frozen=True)
class _Asked:
    """A question a running call asks, and where its reply goes (the asking tool's loop)."""

    call: ToolCall
    question: dict[str, Any]
    replied: concurrent.futures.Future[QuestionReply]

    def settle(self, reply: QuestionReply) -> None:
        if not self.replied.done():
            self.replied.set_result(reply)


def _sent(arguments: Any) -> str:
    try:
        return arguments_json(arguments, "")
    except ValueError:
        return "{}"


def _by_client(event: ToolCallFinished) -> ToolCallFinished:
    event.ran_by = "client"
    return event

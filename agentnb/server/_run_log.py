"""Runs: each executes once as a background task that appends neutral steps to its log.

HTTP responses are readers of a log: they render it into their dialect from any position and
wait for live steps. So a run outlives its client, and replay (``Last-Event-ID``, run-agent's
``resume_from_index``) is reading the same log again.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from ._http_plumbing import ApiError
from ._steps import (
    AnyStep,
    ApprovalRequest,
    Decision,
    Failure,
    Finish,
    Nested,
    Paused,
    Reasoning,
    Resumed,
    SubAgent,
    SubAgentDone,
    Text,
    TokenUsage,
    ToolEnd,
    ToolStart,
)
from ._threads import Conversation
from ._tokens import count_tokens, split_chunks
from .agents import AGENTS, Agent, AgentInput

__all__ = ["Entry", "Pacing", "RunLog", "RunStore", "ServerRunStatus", "iso", "new_run_id"]

ServerRunStatus = Literal["running", "paused", "completed", "failed", "cancelled"]
"""The built-in server's own status of one of its runs, as its list/status endpoints report
it (a client sees it as ``RemoteRun.status``); not the client-side ``agentnb.types.RunStatus``."""

MAX_RUNS = 1000
RETENTION_SECONDS = 3600.0
MAX_ACTIVE_RUNS = 256
PAUSE_LIMIT_S = 3600.0
"""A paused run waits this long for a decision, then goes on as if the call were denied."""


def new_run_id() -> str:
    return f"run_{secrets.token_hex(12)}"


def iso(timestamp: float | None) -> str | None:
    """ISO-8601 UTC with milliseconds and a ``Z``, or None."""
    if timestamp is None:
        return None
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Entry:
    step: AnyStep
    at: float
    """Wall-clock time (Unix seconds) at which the step was produced."""


@dataclass(frozen=True, slots=True)
class Pacing:
    delay_s: float = 0.0
    chunk_size: int | None = None


@dataclass
class RunLog:
    """One run: what was asked, its status, and every step so far."""

    id: str
    dialect: str
    agent: str
    request: AgentInput
    thread_id: str | None = None
    conversation: Conversation | None = None
    details: dict[str, Any] = field(default_factory=dict)
    """Dialect-specific request facts the status/list endpoints echo (settings, metadata...)."""
    created_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    status: ServerRunStatus = "running"
    entries: list[Entry] = field(default_factory=list)
    pending: dict[str, ApprovalRequest] = field(default_factory=dict)
    """While paused: the calls waiting for a decision, by call id."""
    cancel_requested: bool = False
    """A client asked the platform to stop the run (not the server's shutdown)."""
    _changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    _decisions: asyncio.Future[tuple[Decision, ...]] | None = field(default=None, repr=False)

    @property
    def model(self) -> str:
        """The model the run's agent reports it ran."""
        agent = AGENTS.get(self.agent)
        return agent.model if agent is not None else self.agent

    @property
    def finished(self) -> bool:
        return self.status not in ("running", "paused")

    async def pause_for(self, request: ApprovalRequest) -> Decision:
        """Wait for a human's decision on ``request`` (see :meth:`decide`); at most
        :data:`PAUSE_LIMIT_S`, after which the call counts as denied."""
        self.pending = {request.call_id: request}
        self._decisions = asyncio.get_running_loop().create_future()
        self.status = "paused"
        self.append(Paused((request.call_id,)))
        try:
            decisions = await asyncio.wait_for(self._decisions, PAUSE_LIMIT_S)
        except TimeoutError:
            decisions = (Decision(request.call_id, False, "no decision arrived in time"),)
        self.pending = {}
        self.status = "running"
        self.append(Resumed(decisions))
        return decisions[0]

    def decide(self, decisions: Sequence[Decision]) -> None:
        """The decisions on every pending call; a 409 when the run is not waiting for them."""
        if self.status != "paused" or self._decisions is None or self._decisions.done():
            raise ApiError(
                409, f"run {self.id!r} is not waiting for an approval", code="not_paused"
            )
        decided = {d.call_id for d in decisions}
        if decided != set(self.pending):
            raise ApiError(
                409,
                f"run {self.id!r} waits for a decision on {sorted(self.pending)}, "
                f"not on {sorted(decided)}",
                code="approval_mismatch",
            )
        self._decisions.set_result(tuple(decisions))

    def approval(self, approval_id: str) -> ApprovalRequest | None:
        """The pending request with this approval id, if the run waits for it."""
        return next((r for r in self.pending.values() if r.approval_id == approval_id), None)

    def approvals(
        self, approval_ids: Iterable[str], mismatch: Callable[[str], str]
    ) -> list[ApprovalRequest]:
        """The pending requests these approval ids name; a 409 when one names none, saying
        ``mismatch(that id)`` (in the dialect's words) and the ids the run waits for."""
        found = []
        for approval_id in approval_ids:
            request = self.approval(approval_id)
            if request is None:
                known = sorted(r.approval_id for r in self.pending.values())
                message = f"{mismatch(approval_id)} ({known})"
                raise ApiError(409, message, code="approval_mismatch")
            found.append(request)
        return found

    def append(self, step: AnyStep) -> None:
        self.entries.append(Entry(step, time.time()))
        self._notify()

    def end(self, status: ServerRunStatus) -> None:
        self.status = status
        self.finished_at = time.time()
        if status == "completed" and self.conversation is not None:
            self.conversation.add(
                "assistant", self.answer_text(), run_id=self.id, agent_id=self.agent
            )
        self._notify()

    async def wait_beyond(self, count: int) -> None:
        """Return once the log has more than ``count`` entries or has finished."""
        while len(self.entries) <= count and not self.finished:
            await self._changed.wait()

    async def wait_finished(self) -> None:
        while not self.finished:
            await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def steps(self) -> Iterator[AnyStep]:
        return (entry.step for entry in self.entries)

    def answer_text(self) -> str:
        return "".join(step.text for step in self.steps() if isinstance(step, Text))

    def reasoning_text(self) -> str:
        return "".join(step.text for step in self.steps() if isinstance(step, Reasoning))

    def finish_step(self) -> Finish | None:
        return next((s for s in self.steps() if isinstance(s, Finish)), None)

    def failure(self) -> Failure | None:
        return next((s for s in self.steps() if isinstance(s, Failure)), None)

    def usage(self) -> TokenUsage | None:
        finish = self.finish_step()
        return finish.usage if finish is not None else None

    def execution_time(self) -> float | None:
        finish = self.finish_step()
        return finish.execution_time if finish is not None else None

    def tool_calls(self) -> list[dict[str, Any]]:
        """Tool calls with their outcome, in call order."""
        calls: dict[str, dict[str, Any]] = {}
        for step in self.steps():
            if isinstance(step, ToolStart):
                calls[step.call_id] = {
                    "id": step.call_id,
                    "name": step.name,
                    "arguments": step.arguments,
                }
            elif isinstance(step, ToolEnd) and step.call_id in calls:
                calls[step.call_id].update(output=step.output, error=step.error)
        return list(calls.values())


async def produce(log: RunLog, agent: Agent, pacing: Pacing) -> None:
    """Execute the agent, appending paced, chunked steps to ``log``."""
    started = time.perf_counter()
    prompt = log.request.prompt_tokens()
    completion = 0
    spent = SubAgentSpending()
    steps = agent.steps(log.request)
    reply: Decision | None = None
    try:
        while (step := _next_step(steps, reply)) is not None:
            reply = None
            if isinstance(step, ApprovalRequest):
                log.append(step)
                reply = await log.pause_for(step)
            elif isinstance(step, Text | Reasoning):
                for piece in split_chunks(step.text, pacing.chunk_size):
                    log.append(type(step)(piece))
                    completion += count_tokens(piece)
                    await asyncio.sleep(pacing.delay_s)
            elif isinstance(step, Nested) and isinstance(step.step, Text | Reasoning):
                for piece in split_chunks(step.step.text, pacing.chunk_size):
                    log.append(Nested(step.where, type(step.step)(piece)))
                    completion += spent.add(step.where, 0, count_tokens(piece))
                    await asyncio.sleep(pacing.delay_s)
            elif isinstance(step, Finish):
                usage = TokenUsage(prompt, completion)
                elapsed = round(time.perf_counter() - started, 3)
                log.append(replace(step, usage=usage, execution_time=elapsed))
            else:
                where = step.where if isinstance(step, Nested) else None
                inner = step.step if isinstance(step, Nested) else step
                if isinstance(inner, ToolStart):
                    completion += spent.add(where, 0, count_tokens(json.dumps(inner.arguments)))
                elif isinstance(inner, ToolEnd):
                    prompt += spent.add(
                        where, count_tokens(json.dumps(inner.output or inner.error))
                    )
                elif isinstance(step, Nested) and isinstance(inner, SubAgentDone):
                    step = spent.done(step.where)
                log.append(step)
                await asyncio.sleep(pacing.delay_s)
        log.end("completed")
    except asyncio.CancelledError:
        why = "by the client" if log.cancel_requested else "the server is shutting down"
        log.append(Failure(f"the run was cancelled: {why}", "CANCELLED"))
        log.end("cancelled")
        raise
    except Exception as exc:  # an agent bug must end the run, not hang its readers
        log.append(Failure(f"the agent failed: {type(exc).__name__}: {exc}", "INTERNAL_ERROR"))
        log.end("failed")


class SubAgentSpending:
    """What each sub-agent of a run spent (its own steps' tokens, counted in the run's usage
    too), said when it finishes (:class:`SubAgentDone`)."""

    def __init__(self) -> None:
        self._by_path: dict[tuple[str, ...], TokenUsage] = {}

    def add(self, where: SubAgent | None, prompt: int, completion: int = 0) -> int:
        """Count tokens a step of ``where`` (None: the top agent) spent; all of them."""
        if where is not None:
            before = self._by_path.get(where.path, TokenUsage())
            self._by_path[where.path] = TokenUsage(
                before.prompt_tokens + prompt, before.completion_tokens + completion
            )
        return prompt + completion

    def done(self, where: SubAgent) -> Nested:
        """The sub-agent ``where`` has finished: what it spent, and its model."""
        usage = self._by_path.pop(where.path, TokenUsage())
        return Nested(where, SubAgentDone(usage, where.model))


def _next_step(steps: Iterator[AnyStep], reply: Decision | None) -> AnyStep | None:
    """The agent's next step, handing it the decision it waited for; None at the end."""
    try:
        if isinstance(steps, Generator):
            step: AnyStep = steps.send(reply)
            return step
        return next(steps)
    except StopIteration:
        return None


class RunStore:
    """The runs the server remembers: every running run, plus finished ones for at least
    ``retention_s`` seconds unless more than ``max_runs`` exist (oldest finished go first)."""

    def __init__(
        self,
        max_runs: int = MAX_RUNS,
        retention_s: float = RETENTION_SECONDS,
        max_active: int = MAX_ACTIVE_RUNS,
    ) -> None:
        self.max_runs = max_runs
        self.retention_s = retention_s
        self.max_active = max_active
        self._runs: dict[str, RunLog] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.closing = asyncio.Event()

    def __len__(self) -> int:
        return len(self._runs)

    @property
    def active_count(self) -> int:
        return len(self._tasks)

    @property
    def full(self) -> bool:
        return self.active_count >= self.max_active

    def get(self, run_id: str) -> RunLog | None:
        return self._runs.get(run_id)

    def all(self) -> list[RunLog]:
        return list(self._runs.values())

    def latest(self, dialect: str, thread_id: str) -> RunLog | None:
        """The most recently started run of a thread (chat, session) in one dialect."""
        for log in reversed(self._runs.values()):
            if log.dialect == dialect and log.thread_id == thread_id:
                return log
        return None

    def start(self, log: RunLog, agent: Agent, pacing: Pacing) -> None:
        self._evict()
        self._runs[log.id] = log
        if log.conversation is not None:
            log.conversation.latest_run_id = log.id
        task = asyncio.get_running_loop().create_task(produce(log, agent, pacing), name=log.id)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _evict(self) -> None:
        now = time.time()
        finished = [log for log in self._runs.values() if log.finished_at is not None]
        expired = {log.id for log in finished if now - (log.finished_at or now) > self.retention_s}
        surplus = len(self._runs) + 1 - self.max_runs
        if surplus > 0:
            expired.update(log.id for log in finished[:surplus])
        for run_id in expired:
            del self._runs[run_id]

    def cancel(self, run_id: str) -> bool:
        """Stop a running run's agent (its readers get its end); False when it is not running."""
        log = self._runs.get(run_id)
        task = next((t for t in self._tasks if t.get_name() == run_id), None)
        if log is None or task is None or log.finished:
            return False
        log.cancel_requested = True
        task.cancel()
        return True

    async def shutdown(self) -> None:
        """End every stream: running runs are cancelled; stalled readers are released."""
        self.closing.set()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

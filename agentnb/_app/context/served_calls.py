"""The calls MCP clients make of the notebook served over MCP (``agentnb.context.serve``), as
one run the cell that started the server shows: each call a tool call of that run, taken
through the one path of the context tools (:class:`~agentnb._client.tool_rounds.ToolRounds`:
checked, asked about through the run's :class:`~agentnb._core.approvals.ApprovalGate` where
the settings or the server's ``approve=`` say so, run by the bounded runner, redacted), so
the cell's tool cards are the log of what was read and its approval cards decide.

The HTTP side hands each call over from its own thread (:meth:`ServedCalls.submit`); the calls
are served one at a time, in order, on agentnb's loop, by the run's stream (this object, which
a :class:`~agentnb._core.handle.RunHandle` consumes).

A connection's server (``context=True`` on an ACP agent) is shared turn by turn
(:meth:`ServedCalls.share_with_turn`): a call is served only while a turn that shares the
notebook goes on, decided by that turn's ``approve=`` (turns going on at once with other
policies: by the person); with none going on, it is refused saying so.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Self

from ..._client.tool_rounds import ToolRounds
from ..._core.approvals import ApprovalGate, ApprovalPolicy, PlatformSupport
from ..._core.client_tools import ClientTool, ToolResult
from ..._core.loop import get_loop
from ..._core.run import Run
from ..._core.secrets import redact
from ..._core.text import excerpt
from ...events import Event, RunCompleted, RunStarted, ToolCallFinished, ToolCallStarted, stamp
from .context_summary import new_nonce
from .context_tools import Kernel, context_tools

__all__ = ["KEPT_CALLS", "SHOWN_CALLS", "PeerRun", "ServedCall", "ServedCalls"]

KEPT_CALLS = 1_000
"""Calls ``srv.calls`` keeps (the latest)."""
SHOWN_CALLS = 100
"""Calls whose tool cards the server's run keeps at least (the latest): older ones are
forgotten half as many at a time and counted, so a client calling in a loop for hours
leaves a run of bounded size (and a cell the browser can draw)."""
_TICK = 30.0
"""Seconds a wait for a decision sleeps at most between looks (a decision wakes it at once)."""

ARGUMENTS_CHARS = 4_000
"""The longest arguments (as JSON) a call is served with: the six tools take a name, a path,
a page; a call past it is refused, and what is kept of it is cut to this (once)."""
NOT_SHARED = (
    "the notebook is not shared now: it is shared with a turn asked with context=True, "
    "while that turn goes on"
)
"""What a call of a connection's server gets with no such turn going on."""
NOT_WRITING = (
    "the notebook's write tools are served only while a turn that asked for them "
    "(tools=agentnb.notebook_tools() or --notebook) goes on: the notebook was not changed"
)
"""What a write tool's call gets while only turns that read go on."""

Status = Literal["succeeded", "failed", "denied"]


class PeerRun:
    """The run that holds the calls an MCP peer asks for (a client of the notebook's server,
    an MCP App's view: no agent's turn, no model, no connection) and the approval gate they
    go through, ``platform`` naming who asks; the run's stream, whose events are stamped
    and applied to the run as they are delivered."""

    def __init__(self, agent: str, message: str, platform: str) -> None:
        self.run = Run.new(
            agent, message, thread_id=None, provider="mcp", connection="", model=None, max_size=None
        )
        self.approvals = ApprovalGate(self.run, PlatformSupport(platform, supports_answers=False))
        self._seq = 0

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events()

    def _events(self) -> AsyncIterator[Event]:
        raise NotImplementedError

    def _delivered(self, event: Event) -> Event:
        stamp(event, self._seq, time.time())
        self._seq += 1
        self.run.apply(event)
        return event


@dataclass(frozen=True)
class ServedCall:
    """One call an MCP client made, as ``srv.calls`` lists it."""

    call_id: str
    """The call's id in the server's run (its tool card in the cell)."""
    tool: str
    arguments: dict[str, Any]
    client: str
    """The client as it names itself (``claude-code``, ``codex-mcp-client``, ...)."""
    status: Status
    text: str = field(repr=False)
    """What the client was sent: the result, or the error."""
    at: float = field(default_factory=time.time)


class ServedCalls(PeerRun):
    """The server's run: its stream of events, the calls served one at a time."""

    def __init__(
        self,
        kernel: Kernel,
        url: str,
        approve: ApprovalPolicy,
        writes: tuple[ClientTool, ...] = (),
        *,
        kept: int = KEPT_CALLS,
        shown: int = SHOWN_CALLS,
    ) -> None:
        super().__init__(
            "MCP clients",
            f"The notebook's context tools, served over MCP at {url}",
            "the notebook's MCP server",
        )
        self.approvals.approver = approve
        self.calls: deque[ServedCall] = deque(maxlen=kept)
        self._shown = shown
        self._kernel = kernel
        self.writes = writes  # one set for the server's life: its bounds hold across calls
        self._approve = approve
        self._turns: list[tuple[object, ApprovalPolicy, bool]] | None = None
        """The turns the notebook is shared with, their policies and whether each asked for
        the write tools (None: not shared turn by turn, a server of ``serve()``'s)."""
        self._turns_lock = threading.Lock()
        self._queue: asyncio.Queue[_Asked | None] = asyncio.Queue()
        self._served_count = 0
        self._current: concurrent.futures.Future[ToolResult] | None = None

    @property
    def served(self) -> int:
        """How many calls were served (those no longer kept too)."""
        return self._served_count

    def share_with_turn(self, approve: ApprovalPolicy, write: bool = False) -> Callable[[], None]:
        """Serve calls while a turn goes on, decided by its ``approve`` (from now on, calls
        come only through turns), the write tools only while one that asked for them
        (``write``) does: the function that ends the sharing, at the turn's end."""
        turn = object()
        with self._turns_lock:
            self._turns = [*(self._turns or []), (turn, approve, write)]

        def end() -> None:
            with self._turns_lock:
                self._turns = [t for t in self._turns or [] if t[0] is not turn]

        return end

    def _policy(self, tool: str) -> tuple[str | None, ApprovalPolicy, bool]:
        """How a call of ``tool`` is decided: (why it is refused, the approver, whether every
        call asks)."""
        with self._turns_lock:
            turns = self._turns
        if turns is None:
            return None, self._approve, self._approve is not None  # a policy decides each
        if not turns:
            return NOT_SHARED, None, False
        if any(t.name == tool for t in self.writes):
            turns = [turn for turn in turns if turn[2]]
            if not turns:
                return NOT_WRITING, None, False
        first = turns[0][1]
        if all(policy is first for _, policy, _ in turns):
            return None, first, first is not None
        return None, None, True  # turns with other policies: the person decides

    def declarations(self) -> list[dict[str, Any]]:
        """The tools as declared (``{name, description, parameters, reads}``: ``reads``
        False for a tool that changes the notebook)."""
        return [{**t.declaration(), "reads": t.reads_notebook} for t in self._tools()]

    def _tools(self) -> tuple[ClientTool, ...]:
        """The six context tools, with a new data block each read, and the notebook tools."""
        return (*context_tools(self._kernel, new_nonce()), *self.writes)

    # ---- from the HTTP side's thread -------------------------------------------------------
    def submit(
        self, tool: str, arguments: dict[str, Any], client: str
    ) -> concurrent.futures.Future[ToolResult]:
        """Serve a call: its :class:`ToolResult` once it is read, refused or denied."""
        future: concurrent.futures.Future[ToolResult] = concurrent.futures.Future()
        asked = _Asked(tool, arguments, client, future)
        get_loop().call_soon_threadsafe(self._queue.put_nowait, asked)
        return future

    def end(self) -> None:
        """Serve no more calls: a call waiting for a decision is denied, the run completes."""
        self.approvals.deny_undecided("the server was stopped")
        with contextlib.suppress(RuntimeError):  # agentnb's loop is gone: nothing runs
            get_loop().call_soon_threadsafe(self._queue.put_nowait, None)

    # ---- the stream the run's handle consumes (agentnb's loop) ----------------------------
    async def __aexit__(self, *exc_info: object) -> None:
        """The run ended (stopped, or Stop in its cell): the call being served and those
        waiting their turn end too, their clients told so."""
        stopped = ConnectionError("the notebook's MCP server was stopped")
        if self._current is not None and not self._current.done():
            self._current.set_exception(stopped)
        while not self._queue.empty():
            asked = self._queue.get_nowait()
            if asked is not None and asked.future.set_running_or_notify_cancel():
                asked.future.set_exception(stopped)

    async def _events(self) -> AsyncIterator[Event]:
        yield self._delivered(RunStarted())
        while (asked := await self._queue.get()) is not None:
            if not asked.future.set_running_or_notify_cancel():
                continue  # its client went away before it was served
            self._current = asked.future
            try:
                async for event in self._served(asked):
                    yield event
            except Exception as exc:  # a bug: this call fails, the server goes on
                asked.future.set_exception(exc)
            self._current = None
        yield self._delivered(RunCompleted())

    async def _served(self, asked: _Asked) -> AsyncIterator[Event]:
        self._served_count += 1
        call_id = f"mcp_{self._served_count}"
        refused, approver, asks = self._policy(asked.tool)
        text = json.dumps(asked.arguments, default=repr)
        if len(text) > ARGUMENTS_CHARS:  # kept cut, once: the run's card and srv.calls share it
            why = f"its arguments are {len(text):,} characters as JSON, past {ARGUMENTS_CHARS:,}"
            refused = refused or f"the call was refused: {why}"
            asked = replace(asked, arguments={"cut": excerpt(text, ARGUMENTS_CHARS)})
        self.approvals.approver = approver
        tools = tuple(
            replace(t, approve=t.approve or asks)  # the settings as they are now
            for t in self._tools()
        )
        yield self._delivered(
            ToolCallStarted(
                call_id=call_id, name=asked.tool, arguments=asked.arguments, agent=asked.client
            )
        )
        call = self.run.tool_call(call_id)
        assert call is not None
        if refused is not None:
            yield self._delivered(ToolCallFinished(call_id=call_id, error=refused))
            result = ToolResult(call_id, asked.tool, "{}", refused, failed=True)
        else:
            rounds = ToolRounds(tools, redact, self.run.local_id)
            ran = rounds.run_round([call], self.approvals, unbounded_wait, _TICK, no_progress)
            async for event in ran:
                yield self._delivered(event)
            (result,) = rounds.results
        status: Status = (
            "denied" if call.status == "denied" else "failed" if result.failed else "succeeded"
        )
        self.calls.append(
            ServedCall(call_id, asked.tool, asked.arguments, asked.client, status, result.text)
        )
        asked.future.set_result(result)
        self._forget_oldest()

    def _forget_oldest(self) -> None:
        """Past the cards it shows and half as many again, the run forgets its oldest calls
        (a batch at a time: the cell's view is sent whole again each time)."""
        batch = max(1, self._shown // 2)
        if len(self.run.tool_calls) >= self._shown + batch:
            self.approvals.forget(self.run.forget_calls(batch))


@dataclass(frozen=True)
class _Asked:
    tool: str
    arguments: dict[str, Any]
    client: str
    future: concurrent.futures.Future[ToolResult]


async def unbounded_wait(wait: Callable[[], Awaitable[None]]) -> None:
    """A wait for a person's decision, on no clock: a server waits as long as they take."""
    await wait()


def no_progress() -> None:
    """Nothing to tell of progress: the server's run has no stall timer."""

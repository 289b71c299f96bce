"""The ACP transport: an ACP agent's process (its process group ended whole:
:mod:`agentnb._client.agent_process`), spoken to in JSON-RPC 2.0 over its stdio by the
official SDK's JSON-RPC connection (:mod:`agentnb._client.acp_wire`): the
:class:`~agentnb._client.wire.Wire` a dialect whose ``wire`` is ``acp`` gets, beside the HTTP
:class:`~agentnb._client.transport.Transport`.

The process starts on first use (``initialize``, within :data:`INITIALIZE_TIMEOUT_S`), serves
every turn of the connection, and ends with it (:meth:`AcpTransport.aclose`, or when Python
exits).

A turn (``session/prompt``) is handed to the stream as its frames as they are
(:class:`~agentnb._client.wire.HandedFrames`; :mod:`agentnb.providers.acp`), so the dialect's
translator, the run, the approval gate and the history take it as any other run. The
agent's requests during a turn: ``session/request_permission`` waits for the gate's decision;
``fs/read_text_file`` and ``fs/write_text_file`` are the :class:`Workspace`'s to judge, read
and write (only a client made for a connection has one: a bare client offers no file access),
a write, and a read while the context settings ask first, through the gate; a write that is
exactly a diff the person approved on the agent's own permission card, its ``permits``, is
made without a second card);
``terminal/*``, offered only when the person opts in (``terminal=True``), is
:class:`~agentnb._client.acp_terminals.Terminals`' to run, each ``terminal/create`` through
the gate; anything else is answered "method not found". Each request waits for its answer
in the agent's one table (:mod:`agentnb._client.acp_requests`): known by its id as JSON gives
it, an id reused while one waits a protocol error that ends the turn, a decision carried out
only on the request (method and params) its card showed. When the stream lets
a turn go before its end (Stop, a time limit), ``session/cancel`` is sent and the turn's end
awaited in the background for :data:`CANCEL_GRACE_S`; an agent that ignores it is ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shlex
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import httpx
from pydantic import BaseModel

from .._core.exceptions import ConfigurationError, ProtocolError, TransportError
from .._core.retry import RetryPolicy
from .._core.secrets import register_header_credentials
from .._http import Verify
from ..providers import Provider, RpcCall, RpcDecisions, WireRequest
from ..sse import ServerSentEvent
from .acp_requests import Pending, PendingRequests
from .acp_terminals import Terminals
from .acp_wire import (
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    MessageWire,
    ProcessWire,
    SocketWire,
    arriving,
    connect,
    json_line,
    quietly,
    sdk,
    websocket_url,
)
from .agent_process import (
    EXIT_GRACE_S,
    LINE_LIMIT,
    Unanswered,
    checked_env,
    command_label,
    start_process,
)
from .wire import HandedFrames, Opened, Wire

if TYPE_CHECKING:
    from acp import schema
    from acp.exceptions import RequestError
    from acp.interfaces import Agent as AgentSide
    from acp.interfaces import Client

__all__ = [
    "ACP_IDLE_TIMEOUT",
    "CANCEL_GRACE_S",
    "INITIALIZE_TIMEOUT_S",
    "AcpTransport",
    "Workspace",
]

ACP_IDLE_TIMEOUT = 1800.0
"""A turn's default ``idle_timeout``: a coding agent may run a build or the tests for minutes
without a word, and its process's exit (not silence) says when it is gone."""
INITIALIZE_TIMEOUT_S = 10.0
"""How long a started command may go without a sign of life (output, CPU) before it has
answered ``initialize``, and a WebSocket agent may take to answer it, before agentnb says it
is not an ACP agent (or not one that starts), where the connection's timeout has no connect
limit."""
SLOW_START = " (one that starts slowly: timeout=httpx.Timeout(60, connect=SECONDS))"
"""What a timed-out ``initialize`` advises, for an agent that is one but starts slowly."""
CANCEL_GRACE_S = 10.0
"""How long a stopped turn's agent may take to end the turn after ``session/cancel``; an agent
still in the turn then is ended (its process group), and the next turn starts it again."""
REQUEST_TIMEOUT_S = 120.0
"""How long a request other than a prompt (``session/new``, ``session/load``) may take: an
agent's process, how long it may go without a sign of life meanwhile (see
:meth:`.acp_wire.MessageWire.answered`)."""

_log = logging.getLogger("agentnb")
_T = TypeVar("_T")
_INVALID_PARAMS = -32602
_AUTH_REQUIRED = -32000
_PERMISSION = "session/request_permission"
_CARRIED_OUT = ("fs/read_text_file", "fs/write_text_file", "terminal/create")  # once decided
_CANCELLED = {"outcome": {"outcome": "cancelled"}}


class Workspace(Protocol):
    """What an ACP agent may read and write of the person's files (given by the connection;
    :mod:`agentnb._app.coding_agents.acp_files`). Every method but :meth:`ask_first` may block: the
    transport calls them in a worker thread."""

    root: Path

    def ask_first(self) -> bool:
        """Whether a read waits for a decision (the context settings' ``ask_first``)."""
        ...

    def refusal(self, path: str, *, writing: bool) -> str | None:
        """Why ``path`` is never read (or written): outside the root, secret-looking."""
        ...

    def read(self, path: str, line: int | None, limit: int | None) -> str:
        """The file's text as it may leave the machine (redacted); ``ValueError`` says why
        not."""
        ...

    def redacted(self, text: str) -> str:
        """``text`` of the person's machine as it may leave it: the redaction :meth:`read`
        applies (a terminal's output passes it too)."""
        ...

    def old_text(self, path: str) -> str | None:
        """The file's text before a write (None: a new file), to show the diff."""
        ...

    def write_refusal(self, path: str, content: str) -> str | None:
        """Why ``content`` is never written over ``path`` (it would lose data there)."""
        ...

    def write(self, path: str, content: str) -> None: ...


# ---- a turn ---------------------------------------------------------------------------------
class _Turn:
    """One ``session/prompt`` going on: its frames, for the stream to read."""

    def __init__(self, session_id: str, agent: _Agent) -> None:
        self.session_id = session_id
        self.agent = agent
        self.frames: asyncio.Queue[ServerSentEvent | None] = asyncio.Queue()
        self.ended = asyncio.Event()
        """The turn's frames are over (its end, an error, the agent gone)."""
        self.finished = asyncio.Event()
        """The agent answered the prompt (or went): nothing of the turn goes on in it."""
        self.stopping = False
        self.permits: list[dict[str, Any]] = []
        """The writes a person approved on the agent's permission card (its proposed diffs:
        ``call``, ``path``, ``old``, ``new``): each is made once without asking again."""

    def push(self, event: str, data: object) -> None:
        if not self.stopping and not self.ended.is_set():
            self.frames.put_nowait(ServerSentEvent(event, json_line(data)))

    def end(self, event: str, data: object) -> None:
        self.push(event, data)
        self.ended.set()
        self.frames.put_nowait(None)

    async def __aiter__(self) -> AsyncIterator[ServerSentEvent]:
        """The turn's frames as the stream reads them; read again after a pause, they read
        on."""
        while (piece := await self.frames.get()) is not None:
            yield piece
        self.frames.put_nowait(None)  # every later reader ends too


# ---- the agent: a process, or a WebSocket -------------------------------------------------------
class _Agent:
    """The running agent (a process, or a WebSocket: its
    :class:`~agentnb._client.acp_wire.MessageWire`) and the SDK's connection over it; its
    requests and updates go to the transport, which keeps its turns (the connection's
    :class:`~agentnb._client.acp_wire.Host`)."""

    def __init__(self, transport: AcpTransport, wire: MessageWire) -> None:
        self.transport = transport
        self.wire = wire
        self.requests = wire.requests
        """Its requests waiting for an answer (:mod:`agentnb._client.acp_requests`)."""
        self.turns: dict[str, _Turn] = {}
        """The turn going on in each session."""
        self.sessions: set[str] = set()
        """Sessions this process opened or loaded."""
        self.terminals = (
            Terminals(transport.cwd, transport.outgoing) if transport.terminal else None
        )
        """The commands it runs in terminals of ours (None: none are offered)."""
        self.failure: str | None = None
        """Why it went, as the requests still waiting fail."""
        self.went = False
        wire.host = self
        client: Client = self  # the SDK's protocol, checked
        self.connection = connect(client, wire)

    @property
    def running(self) -> bool:
        return self.wire.running

    # ---- the SDK's Client: each of the agent's requests, done here -------------------------
    # What a card showed is carried out on the params as the agent sent them (the request's
    # entry, :func:`arriving`), not on the SDK's keyword arguments: its router merges the
    # request's ``_meta`` into them (see docs/architecture.md, "ACP on its SDK").
    async def request_permission(
        self,
        session_id: str,
        tool_call: schema.ToolCallUpdate,
        options: list[schema.PermissionOption],
        **kwargs: Any,
    ) -> schema.RequestPermissionResponse:
        """Through the gate, or cancelled with no turn on."""
        pending = arriving()
        turn = self._turn_of(pending)
        if turn is not None:
            pending.asked = True
            turn.push("permission", _frame(pending, pending.params))
        return sdk().schema.RequestPermissionResponse.model_validate(await pending.answer)  # type: ignore[no-any-return]

    async def session_update(self, session_id: str, update: BaseModel, **kwargs: Any) -> None:
        shown = update.model_dump(mode="json", by_alias=True, exclude_none=True)
        self.transport.observe(session_id, shown)
        turn = self.turns.get(session_id)
        if turn is not None:
            turn.push("update", shown)

    async def read_text_file(
        self,
        session_id: str,
        path: str,
        line: int | None = None,
        limit: int | None = None,
        **kwargs: Any,
    ) -> schema.ReadTextFileResponse:
        return sdk().schema.ReadTextFileResponse.model_validate(await self._file())  # type: ignore[no-any-return]

    async def write_text_file(
        self, session_id: str, path: str, content: str, **kwargs: Any
    ) -> schema.WriteTextFileResponse:
        return sdk().schema.WriteTextFileResponse.model_validate(await self._file())  # type: ignore[no-any-return]

    async def _file(self) -> dict[str, Any]:
        pending = arriving()
        workspace = self.transport.workspace
        if workspace is None:
            raise _not_offered(pending.method)
        turn = self._turn_of(pending)
        if turn is not None:
            await self._judge_file(workspace, turn, pending)
        return await pending.answer

    async def _judge_file(self, workspace: Workspace, turn: _Turn, pending: Pending) -> None:
        """A file the agent would read or write (``path`` and ``content`` are text: the
        SDK checked the request first): refused, done, or asked about through the gate."""
        params = pending.params
        path, writing = params["path"], pending.method == "fs/write_text_file"
        frame = _frame(pending, _shown(params))
        why = workspace.refusal(path, writing=writing)
        if why is None and writing:
            with contextlib.suppress(OSError, ValueError):
                why = await asyncio.to_thread(workspace.write_refusal, path, params["content"])
        if why is not None:
            self.refuse(pending, why)
            turn.push("file", {**frame, "refused": why})
            return
        if writing:
            with contextlib.suppress(OSError, ValueError):
                frame["old_text"] = await asyncio.to_thread(workspace.old_text, path)
        if not self.requests.waits(pending) or turn.stopping:
            return  # withdrawn while it was judged (its id reused), or the turn stopped
        if (
            writing
            and "old_text" in frame
            and (call := _permitted(turn, params, frame["old_text"]))
        ):
            turn.push("file", {**frame, "permitted_by": call})  # its card was this write's
            await self.carry_out(turn, pending)
        elif writing or workspace.ask_first():
            pending.asked = True
            turn.push("file", {**frame, "ask": True})
        else:
            turn.push("file", frame)
            await self.carry_out(turn, pending)

    async def create_terminal(
        self,
        session_id: str,
        command: str,
        args: list[str] | None = None,
        env: list[schema.EnvVariable] | None = None,
        cwd: str | None = None,
        output_byte_limit: int | None = None,
        **kwargs: Any,
    ) -> schema.CreateTerminalResponse:
        """Refused, or asked for (always) through the gate."""
        pending = arriving()
        terminals = self._terminals()
        turn = self._turn_of(pending)
        frame = _frame(pending, _shown(pending.params))
        why = terminals.refusal(pending.params)
        if turn is not None and why is not None:
            self.refuse(pending, why)
            turn.push("file", {**frame, "refused": why})
        elif turn is not None:
            pending.asked = True
            turn.push("file", {**frame, "ask": True})
        return sdk().schema.CreateTerminalResponse.model_validate(await pending.answer)  # type: ignore[no-any-return]

    async def terminal_output(
        self, session_id: str, terminal_id: str, **kwargs: Any
    ) -> schema.TerminalOutputResponse:
        output = await _refusing(self._terminals().output(terminal_id))
        return sdk().schema.TerminalOutputResponse.model_validate(output)  # type: ignore[no-any-return]

    async def wait_for_terminal_exit(
        self, session_id: str, terminal_id: str, **kwargs: Any
    ) -> schema.WaitForTerminalExitResponse:
        status = await _refusing(self._terminals().wait_for_exit(terminal_id))
        return sdk().schema.WaitForTerminalExitResponse.model_validate(status)  # type: ignore[no-any-return]

    async def kill_terminal(self, session_id: str, terminal_id: str, **kwargs: Any) -> None:
        await _refusing(self._terminals().kill(terminal_id))

    async def release_terminal(self, session_id: str, terminal_id: str, **kwargs: Any) -> None:
        await _refusing(self._terminals().release(terminal_id))

    def _terminals(self) -> Terminals:
        if self.terminals is None:
            raise _not_offered(arriving().method)
        return self.terminals

    async def create_elicitation(
        self, message: str, mode: schema.ElicitationMode, **kwargs: Any
    ) -> schema.CreateElicitationResponse:
        raise _not_offered("elicitation/create")

    async def complete_elicitation(self, elicitation_id: str, **kwargs: Any) -> None:
        return None

    async def ext_method(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        raise _not_offered(f"_{method}")

    async def ext_notification(self, method: str, params: dict[str, Any]) -> None:
        return None

    def on_connect(self, conn: AgentSide) -> None:
        return None

    # ---- answering its requests ----------------------------------------------------------
    def _turn_of(self, pending: Pending) -> _Turn | None:
        """The turn going on that ``pending`` came in; None: there is none, and it is
        declined."""
        turn = self.turns.get(pending.session_id)
        if turn is None or turn.stopping:
            self.decline(pending, "no turn of this session is going on")
            return None
        return turn

    def refuse(self, pending: Pending, why: str) -> None:
        """Answer ``pending`` with an error saying ``why`` (once)."""
        self.requests.refuse(pending, sdk().RequestError(_INVALID_PARAMS, why))

    def decline(self, pending: Pending, why: str) -> None:
        """A request not carried out: a permission answered ``cancelled``, any other
        refused with ``why``."""
        if pending.method == _PERMISSION:
            self.requests.reply(pending, _CANCELLED)
        else:
            self.refuse(pending, why)

    async def carry_out(self, turn: _Turn, pending: Pending) -> None:
        """Do a request a person decided for (or that needs no decision), answering it with
        its result; its ``OSError`` or ``ValueError`` refuses it. Its card is told either way."""
        try:
            if pending.method == "terminal/create":
                result, output = await _terminal_started(self.terminals, pending.params)
            else:
                result, output = await _file_done(self.transport.workspace, pending)
        except (OSError, ValueError) as exc:
            self.refuse(pending, _why(exc))
            turn.push("file_done", {"ticket": pending.ticket, "error": _why(exc)})
            return
        self.requests.reply(pending, result)
        turn.push("file_done", {"ticket": pending.ticket, "output": output})

    # ---- the connection's Host -----------------------------------------------------------
    def reused(self, rpc_id: Any, method: str, params: dict[str, Any]) -> None:
        """A request under an id another request still waits under: a protocol error. The
        one that waited is withdrawn (a decision on its card finds nothing), the id is
        answered with the error once, and the turns of both end failed, saying so."""
        earlier = self.requests.under(rpc_id)
        assert earlier is not None
        self.requests.withdraw(earlier)
        shown = json.dumps(rpc_id)[:80]
        why = (
            f"protocol error: {self.transport.provider.named} sent a request ({method}) under "
            f"the id {shown} while its request {earlier.method} under that id waited for an "
            f"answer; neither was carried out, and the turn was ended"
        )
        self.wire.fail(rpc_id, INVALID_REQUEST, why)
        for session_id in dict.fromkeys((earlier.session_id, str(params.get("sessionId")))):
            turn = self.turns.get(session_id)
            if turn is None:
                continue
            if session_id == earlier.session_id and earlier.method != _PERMISSION:
                turn.push("file_done", {"ticket": earlier.ticket, "error": why})
            self.transport.break_turn(turn, why)

    def gone(self, why: str) -> None:
        if not self.went:
            self.went = True
            self.transport.gone(self, why)

    # ---- requests of ours ----------------------------------------------------------------
    async def call(self, method: str, params: object, within: float | None) -> Any:
        """Send a request (its params as the dialect made them) and return its result as
        JSON gives it; the agent's error is raised as agentnb's
        (:meth:`AcpTransport.error_of`), and the agent gone, or no answer within ``within``
        seconds (from a process: no answer and no sign of life for that long:
        :meth:`.acp_wire.MessageWire.answered`), is a :class:`~agentnb.TransportError`."""
        answered = self.connection.send_request(method, params)
        named = self.transport.provider.named
        try:
            if within is None:  # a prompt has no time limit: no timer (its turn ends it)
                return await answered
            return await self.wire.answered(answered, within)
        except sdk().RequestError as exc:
            raise self.transport.error_of(method, exc) from None
        except (ConnectionError, OSError):
            raise TransportError(await self._why_gone()) from None
        except Unanswered as stalled:
            raise TransportError(f"{named} did not answer {method}: it {stalled}") from None
        except TimeoutError:
            raise TransportError(f"{named} did not answer {method} within {within:g} s") from None

    async def _why_gone(self) -> str:
        """Why the agent went, as its reader tells it (its exit status, its stderr's end):
        a write can fail before the reader has seen the exit (an agent that exits at once,
        on a busy machine), so the reader is given a moment to say so."""
        if self.failure is None:
            await self.wire.said_how_it_went()
        why = self.failure or self.wire.failure
        return why or f"the agent {self.wire.where} closed its input"

    def cancel(self, session_id: str) -> None:
        """``session/cancel``, not waited for."""
        cancel = self.connection.send_notification("session/cancel", {"sessionId": session_id})
        self.transport.in_background(quietly(cancel))

    async def end(self) -> None:
        """End the agent (its process group, its WebSocket), then the SDK's connection."""
        await self.wire.end()
        await self.wire.said_how_it_went()
        self.gone(self.wire.failure or "the agent was ended")
        await self.connection.close()


class AcpTransport(Wire):
    """Runs one ACP agent's process and speaks JSON-RPC with it (see the module)."""

    opens_cleanly_cancelled = True
    """A turn is named before its prompt goes (its session, and agentnb's id in it), and
    :meth:`open_stream` sends the prompt and hands the turn over: a Stop at any moment
    reaches the turn as the platform's cancel (``session/cancel`` finds the session's latest
    turn), whether the stream holds it yet or not."""

    def __init__(
        self,
        provider: Provider,
        *,
        command: Sequence[str] | None,
        cwd: str | os.PathLike[str] | None,
        env: Mapping[str, str] | None,
        timeout: httpx.Timeout,
        retry: RetryPolicy,
        connection: str = "default",
        terminal: bool = False,
        url: str | None = None,
        headers: Mapping[str, str] | None = None,
        verify: Verify = True,
    ) -> None:
        self.command = list(command or [])
        self.socket_url = websocket_url(url) if url is not None else None
        """The agent's WebSocket, for an agent served over the network (else its command)."""
        self.terminal = terminal
        """Whether the agent is offered ``terminal/*`` (the person opted in)."""
        if self.command and os.sep in self.command[0] and not os.path.isabs(self.command[0]):
            # a path to the program as typed here, not inside the agent's cwd
            self.command[0] = os.path.abspath(self.command[0])
        self.cwd = Path(cwd if cwd is not None else os.getcwd()).resolve()
        if not self.cwd.is_dir():
            raise ConfigurationError(f"cwd={str(cwd)!r} is not a folder")
        self.env = checked_env(env)
        self._headers = dict(headers or {})
        register_header_credentials(self._headers)  # an agent may echo them back
        self._verify = verify
        self._where: dict[str, str] = {}
        super().__init__(
            provider,
            url if url is not None else "acp:" + command_label(self.command),
            timeout=timeout,
            retry=retry,
            connection=connection,
        )
        self.workspace: Workspace | None = None
        """The files the agent may reach (None: it is offered none)."""
        self._agent: _Agent | None = None
        self._starting = asyncio.Lock()
        self._latest: weakref.WeakValueDictionary[str, _Turn] = weakref.WeakValueDictionary()
        """Each session's latest turn while a stream holds it: decisions sent after it
        ended (the agent exited meanwhile) read its last frames."""

    def outgoing(self, text: str) -> str:
        """``text`` of the person's machine as the agent may read it (a terminal's output):
        through the one redaction a file it reads passes (the connection's workspace's), or,
        with no workspace (a bare client), without any secret this process knows."""
        return self.workspace.redacted(text) if self.workspace is not None else self.redact(text)

    # ---- lifecycle -----------------------------------------------------------------------
    async def aclose(self) -> None:
        """End the agent's process group, which ends its turns (saying so), then wait for
        what was still being sent or answered (bounded: nothing of it waits on the agent)."""
        self._closed = True
        agent, self._agent = self._agent, None
        if agent is not None:
            await agent.end()
            self.gone(agent, "the connection was closed")
        if self.background:
            await asyncio.wait(list(self.background), timeout=CANCEL_GRACE_S)

    async def discover(self) -> None:
        """Start the agent (and ``initialize`` it) unless it runs: on first use, and again
        after it exited."""
        if self._closed:
            raise TransportError(f"the connection to {self.base_url} is closed; make a new one")
        if self._agent is not None and self._agent.running:
            return
        async with self._starting:
            if self._agent is not None and self._agent.running:
                return
            await self._start()

    async def _start(self) -> None:
        sdk()  # how to install it, before anything starts
        requests, where = PendingRequests(), self.base_url.removeprefix("acp:")
        wire: MessageWire
        if self.socket_url is not None:
            from .._http.websocket import open_websocket  # aiohttp: at the first WebSocket

            socket = await open_websocket(
                self.socket_url,
                headers=self._headers,
                verify=self._verify,
                within=self._within,
                max_size=LINE_LIMIT,
            )
            wire = SocketWire(socket, requests, where=where)
        else:
            process = await start_process(self.command, cwd=self.cwd, env=self.env)
            wire = ProcessWire(process, requests, where=where)
        agent = self._agent = _Agent(self, wire)
        try:
            await wire.answered(self.provider.discover(self.send_json), self._within)
        except (TimeoutError, Unanswered) as stalled:
            await agent.end()
            raise ProtocolError(self._not_an_agent(agent, str(stalled))) from None
        except BaseException:
            await agent.end()
            raise
        self._check_version()

    @property
    def _within(self) -> float:
        """How long a starting agent may show no sign of life (a WebSocket's agent: may take
        to open and answer ``initialize``): the connection's connect timeout, else
        :data:`INITIALIZE_TIMEOUT_S`."""
        return self.timeout.connect or INITIALIZE_TIMEOUT_S

    def _not_an_agent(self, agent: _Agent, stalled: str) -> str:
        said = "; ".join(agent.wire.noise)
        stdout = f"; it printed: {said!r}" if said else ""
        stderr = agent.wire.stderr_tail()
        stderr = f"; the end of its stderr: {stderr[-600:]!r}" if stderr else ""
        if self.socket_url is not None:
            return (
                f"{self.socket_url} did not answer ACP's initialize within "
                f"{self._within:g} s: is it an ACP agent's WebSocket endpoint?{SLOW_START}"
            )
        return (
            f"{command_label(self.command)!r} did not answer ACP's initialize: it {stalled}. "
            f"Is it an ACP agent (Claude Code: claude-code-acp, Codex: codex-acp, Gemini "
            f"CLI: gemini --acp)?{SLOW_START}{stdout}{stderr}"
        )

    def _check_version(self) -> None:
        version = self.info.get("protocolVersion")
        if isinstance(version, int) and version != 1:
            raise ProtocolError(
                f"{self.provider.named} speaks ACP version {version}; agentnb speaks version 1"
            )

    @property
    def info(self) -> dict[str, Any]:
        """What the agent's ``initialize`` answered."""
        info = getattr(self.provider, "info", None)
        return info if isinstance(info, dict) else {}

    # ---- what the agent asks and says ----------------------------------------------------
    def gone(self, agent: _Agent, why: str) -> None:
        """``agent`` is going (``why``): what waits on it fails, its turns end saying so."""
        if self._agent is agent:
            self._agent = None
        if agent.terminals is not None:  # the commands it ran end with it
            self.in_background(agent.terminals.close())
        tail = agent.wire.stderr_tail()
        agent.failure = self.redact(f"{why}; the end of its stderr:\n{tail}" if tail else why)
        for turn in list(agent.turns.values()):
            turn.end(
                "exited",
                {
                    "status": agent.wire.exit_status,
                    "stderr": self.redact(tail[-1500:]),
                    "over": "WebSocket" if self.socket_url is not None else "process",
                },
            )
        agent.turns.clear()
        agent.sessions.clear()
        agent.requests.clear()
        ended = getattr(self.provider, "process_ended", None)
        if callable(ended):  # the sessions it kept of this process are gone with it
            ended()

    def observe(self, session_id: str, update: dict[str, Any]) -> None:
        """A session's update, in or out of a turn, for the dialect to keep what it says of
        the session (its settings, commands, plan)."""
        observe = getattr(self.provider, "observe", None)
        if callable(observe):
            observe(session_id, update)

    def break_turn(self, turn: _Turn, why: str) -> None:
        """End ``turn`` failed (``why``), its waiting requests answered, the agent told to
        cancel it (and ended past its grace)."""
        if turn.stopping or turn.ended.is_set():
            return
        turn.end("error", {"message": why, "code": "protocol_error"})
        self._stop(turn)

    # ---- requests ------------------------------------------------------------------------
    def _running(self) -> _Agent:
        """The running agent, else a :class:`~agentnb.TransportError` saying it is not."""
        if self._agent is None:
            raise TransportError(f"the agent {self.base_url} is not running")
        return self._agent

    def error_of(self, method: str, error: RequestError) -> Exception:
        """The agent's error answering ``method`` as agentnb's."""
        data, message = error.data, str(error) or "an error"
        said = f"{message}: {data}" if data not in (None, "", {}) else message
        text = self.redact(
            f"{self.provider.named} answered {method} with {said} (code {error.code})"
        )
        if error.code == _AUTH_REQUIRED:
            return ConfigurationError(f"{text}. {self.login_advice()}")
        if error.code == METHOD_NOT_FOUND:
            return ConfigurationError(text)
        return TransportError(text)

    def login_advice(self) -> str:
        """What the agent's ``authMethods`` say to do before it works: which, and how."""
        ways: list[str] = []
        for method in self.info.get("authMethods") or []:
            if not isinstance(method, dict):
                continue
            name = method.get("name") or method.get("id")
            about = f" ({method['description']})" if method.get("description") else ""
            names = [v.get("name") for v in method.get("vars") or [] if isinstance(v, dict)]
            if names:
                how = f"set {', '.join(map(str, names))} in env= of agentnb.connect"
            elif (method.get("type") == "terminal" or method.get("args")) and self.command:
                # the agent's arguments are data: each quoted, none read by a shell as code
                args = [str(a) for a in method.get("args") or []]
                how = f"run `{shlex.join([*self.command, *args])}` in a terminal"
            else:
                how = "log in with the agent's own command in a terminal"
            ways.append(f"{name}{about}: {how}")
        if not ways:
            return "The agent needs a login: log in with its own command in a terminal"
        return "The agent needs a login; it offers: " + "; ".join(ways)

    async def send_json(
        self, http: WireRequest, *, on_retry: Callable[[], None] | None = None
    ) -> Any:
        call = _rpc_call(http)
        params = dict(call.params or {})
        if call.method == "initialize" and call.params is None:  # what the agent said of itself
            await self.discover()
            return self.info
        if call.method == "initialize":
            capabilities = dict(params.get("clientCapabilities") or {})
            capabilities["terminal"] = self.terminal  # offered only when opted in
            if self.workspace is None:  # no files to offer
                capabilities["fs"] = {"readTextFile": False, "writeTextFile": False}
            params["clientCapabilities"] = capabilities
            answer = await self._running().call("initialize", params, None)
            if not isinstance(answer, dict):
                raise ProtocolError(f"{self.base_url!r} answered initialize oddly")
            return answer
        if call.method == "session/cancel":  # a Stop, however early: the turn is let go
            turn = self._latest.get(str(params.get("sessionId")))
            if turn is not None and not turn.ended.is_set():
                self._stop(turn)
            return None
        await self.discover()
        if call.method in ("session/new", "session/load"):
            return await self._open_session(call.method, params, replay=call.replay)
        return await self._running().call(call.method, params, REQUEST_TIMEOUT_S)

    async def _open_session(self, method: str, params: dict[str, Any], *, replay: bool) -> Any:
        agent = self._running()
        params.setdefault("cwd", str(self.cwd))
        params.setdefault("mcpServers", [])
        if method == "session/load":
            session_id = str(params.get("sessionId"))
            if session_id in agent.sessions and not replay:
                return {}  # open in this process
            capabilities = self.info.get("agentCapabilities") or {}
            sessions = capabilities.get("sessionCapabilities") or {}
            if not replay and sessions.get("resume") is not None:
                method = "session/resume"  # goes on without replaying what the turns said
            elif not capabilities.get("loadSession"):
                raise ConfigurationError(
                    f"{self.provider.named} cannot go on with session {session_id!r}: it is "
                    f"not open in the agent's process (which started again since), and the "
                    f"agent offers neither session/resume nor session/load; start a new thread"
                )
            answer = await agent.call(method, params, REQUEST_TIMEOUT_S)
            agent.sessions.add(session_id)
            return answer if isinstance(answer, dict) else {}
        answer = await agent.call(method, params, REQUEST_TIMEOUT_S)
        if isinstance(answer, dict) and isinstance(answer.get("sessionId"), str):
            agent.sessions.add(answer["sessionId"])
        return answer

    async def open_stream(self, http: WireRequest, *, idempotent: bool = False) -> HandedFrames:
        """A turn's frames: the prompt sent (``session/prompt``), or the decisions on its
        requests carried out (:class:`~agentnb.providers.RpcDecisions`) and the turn read on.
        The frames are handed over as they are, not as a body to decode."""
        if isinstance(http, RpcDecisions):
            session_id, method = str(http.session_id), "answer"
            turn = self._latest.get(session_id)
            if turn is None:
                raise TransportError(f"the turn of session {session_id!r} is over")
            await self._send_answers(turn, http.answers)
        else:
            call = _rpc_call(http)
            params, method = dict(call.params or {}), call.method
            await self.discover()
            turn = await self._prompt(str(params.get("sessionId")), method, params)
        return HandedFrames(turn, self._named(method))

    def _named(self, method: str) -> str:
        """A request as an error names it (made once a method: a redaction each turn is a
        tenth of agentnb's work before the prompt is sent)."""
        where = self._where.get(method)
        if where is None:
            where = self._where[method] = self.redact(f"ACP {method} to {self.base_url}")
        return where

    def where_of(self, response: Opened) -> str:
        return response.where if isinstance(response, HandedFrames) else self._named("")

    async def _prompt(self, session_id: str, method: str, params: dict[str, Any]) -> _Turn:
        agent = self._running()
        earlier = agent.turns.get(session_id)
        if earlier is not None:  # a stopped turn still ending: wait for it (bounded)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(earlier.finished.wait(), CANCEL_GRACE_S + EXIT_GRACE_S)
            if agent.turns.get(session_id) is earlier:
                raise TransportError(f"session {session_id!r} is busy with another turn")
        turn = agent.turns[session_id] = self._latest[session_id] = _Turn(session_id, agent)
        self.in_background(self._run_turn(agent, turn, method, params))
        # The prompt is written now, by its task's first step, not once the stream has handed
        # out the run's start: the agent works on it while agentnb does that. A Stop from
        # here on reaches the turn as the platform's cancel (`_latest`, in send_json).
        await asyncio.sleep(0)
        return turn

    async def _run_turn(
        self, agent: _Agent, turn: _Turn, method: str, params: dict[str, Any]
    ) -> None:
        try:
            result = await agent.call(method, params, None)
        except (ConfigurationError, TransportError, ProtocolError) as exc:
            if not turn.ended.is_set():
                turn.end("error", {"message": str(exc), "code": "acp_error"})
        else:
            turn.end("end", result if isinstance(result, dict) else {})
        finally:
            turn.finished.set()
            if agent.turns.get(turn.session_id) is turn:
                del agent.turns[turn.session_id]

    async def _send_answers(self, turn: _Turn, answers: Sequence[Any]) -> None:
        """Carry out the decisions on the turn's requests: each reaches the request its
        ticket names in the agent's table, and only when it names the method and params
        (their digest) its card was made from; else the request is refused."""
        agent = turn.agent
        if not agent.running:
            return  # its reader ends the turn, saying why
        for answer in answers:
            if not isinstance(answer, dict):
                continue
            pending = agent.requests.get(answer.get("ticket"))
            if pending is None or not pending.asked or pending.session_id != turn.session_id:
                continue  # answered, withdrawn, or never asked: nothing to carry out
            if (answer.get("method"), answer.get("digest")) != (pending.method, pending.digest):
                why = "the decision was made on another request's card"
                agent.decline(pending, f"denied: {why}")
            elif pending.method == _PERMISSION:
                outcome = answer.get("outcome")
                if answer.get("approved"):  # the writes its card showed: made without a card
                    turn.permits += [p for p in answer.get("permits") or [] if isinstance(p, dict)]
                outcome = outcome if isinstance(outcome, dict) else _CANCELLED
                agent.requests.reply(pending, outcome)
            elif not answer.get("approved"):
                why = str(answer.get("reason") or "the person denied it")
                agent.decline(pending, f"denied: {why}")
            elif pending.method in _CARRIED_OUT:
                await agent.carry_out(turn, pending)
            else:
                agent.decline(pending, f"denied: {pending.method} is never asked about")

    async def close_response(self, response: Opened, *, keep: bool) -> None:
        """Let a turn's frames go; without ``keep``, before the turn's end (a Stop, a time
        limit), the turn is cancelled (see the module)."""
        if not keep:
            await self.let_go(response)

    async def let_go(self, response: Opened) -> None:
        """A run ended unfinished while its turn waited for decisions (it failed at a
        pause): the turn is stopped, its waiting requests answered (see :meth:`_stop`)."""
        turn = response.frames if isinstance(response, HandedFrames) else None
        if isinstance(turn, _Turn) and not turn.ended.is_set():
            self._stop(turn)

    def _stop(self, turn: _Turn) -> None:
        agent = turn.agent
        if turn.stopping:
            return
        turn.stopping = True
        for pending in agent.requests.asked_in(turn.session_id):
            agent.decline(pending, "the turn was stopped")
        agent.cancel(turn.session_id)
        self.in_background(self._end_or_kill(agent, turn))

    async def _end_or_kill(self, agent: _Agent, turn: _Turn) -> None:
        try:
            await asyncio.wait_for(turn.finished.wait(), CANCEL_GRACE_S)
        except TimeoutError:
            _log.warning(
                "agentnb: %s went on with a stopped turn %g s after session/cancel: its "
                "process was ended (the next turn starts it again)",
                self.provider.named,
                CANCEL_GRACE_S,
            )
            if self._agent is agent:  # the next turn starts another
                self._agent = None
            await agent.end()


def _not_offered(method: str) -> Exception:
    """The error answering a request agentnb does not offer (its method named)."""
    return sdk().RequestError(METHOD_NOT_FOUND, f"agentnb does not offer {method}")  # type: ignore[no-any-return]


def _why(failure: Exception) -> str:
    """Why a request of the agent's failed, as it is told (an ``OSError`` named)."""
    if isinstance(failure, ValueError):
        return str(failure)
    return f"{type(failure).__name__}: {failure}"


def _frame(pending: Pending, params: Mapping[str, Any]) -> dict[str, Any]:
    """What a frame says of a request: its ticket, method, digest and ``params``."""
    return {
        "ticket": pending.ticket,
        "method": pending.method,
        "digest": pending.digest,
        "params": params,
    }


async def _file_done(workspace: Workspace | None, pending: Pending) -> tuple[dict[str, Any], str]:
    """A decided file read or write done: the agent's answer, and what its card shows."""
    assert workspace is not None
    params = pending.params
    path = params["path"]
    if pending.method == "fs/write_text_file":
        await asyncio.to_thread(workspace.write, path, params["content"])
        return {}, f"wrote {len(params['content']):,} characters to {path}"
    line, limit = params.get("line"), params.get("limit")
    text = await asyncio.to_thread(
        workspace.read,
        path,
        line if isinstance(line, int) else None,  # "5" too is valid to the SDK
        limit if isinstance(limit, int) else None,
    )
    return {"content": text}, text


async def _terminal_started(
    terminals: Terminals | None, params: Mapping[str, Any]
) -> tuple[dict[str, Any], str]:
    """A decided ``terminal/create`` run: the agent's answer, and what its card shows."""
    assert terminals is not None
    terminal_id = await terminals.create(params)
    return {"terminalId": terminal_id}, f"started in {terminal_id}"


async def _refusing(work: Awaitable[_T]) -> _T:
    """``work``'s result; its ``ValueError`` or ``OSError`` refuses the agent's request."""
    try:
        return await work
    except (OSError, ValueError) as exc:
        raise sdk().RequestError(_INVALID_PARAMS, _why(exc)) from None


def _shown(params: Mapping[str, Any]) -> dict[str, Any]:
    """A file request's params as its frame carries them (its session is the turn's)."""
    return {k: v for k, v in params.items() if k != "sessionId"}


def _permitted(turn: _Turn, params: Mapping[str, Any], current: str | None) -> str | None:
    """The call whose approved diff this write is, used up (None: no approved diff is this
    write): its path is the diff's, and its text the file as it is with the diff applied."""
    for permit in turn.permits:
        if permit.get("path") == params["path"] and _applied(permit, current) == params["content"]:
            turn.permits.remove(permit)
            return str(permit.get("call"))
    return None


def _applied(permit: Mapping[str, Any], current: str | None) -> str | None:
    """The file's text with the permit's diff applied: ``old`` found once and replaced by
    ``new``, or a diff of a new file where there is none (None: it does not apply)."""
    old, new = permit.get("old"), permit.get("new")
    if not isinstance(new, str):
        return None
    if old is None:
        return new if current is None else None
    if not isinstance(old, str) or current is None or current.count(old) != 1:
        return None
    return current.replace(old, new, 1)


def _rpc_call(http: WireRequest) -> RpcCall:
    """``http`` as the JSON-RPC request it must be on this wire."""
    if not isinstance(http, RpcCall):
        raise ConfigurationError(
            f"an ACP agent is sent JSON-RPC requests (RpcCall), not {type(http).__name__}"
        )
    return http

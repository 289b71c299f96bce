"""ACP's JSON-RPC on the official SDK (``agent-client-protocol``, the ``acp`` extra): the
SDK's JSON-RPC :class:`acp.connection.Connection`, its requests routed by the SDK's client
router (:func:`acp.client.router.build_client_router`, what its ``ClientSideConnection`` runs
on), runs over the agent process agentnb starts itself
(:mod:`agentnb._client.agent_process`: its group ended whole) or over a WebSocket to an agent
served over the network; the ACP transport's agent (:mod:`agentnb._client.acp_transport`)
is the SDK's :class:`acp.interfaces.Client`, each typed method doing its request's work.

The SDK reads the messages through agentnb's own reader (:class:`MessageWire`, the SDK's message
transport), which guards what the SDK takes for granted about ids:

- An id JSON-RPC does not allow (``true``, a list, an object) never reaches the SDK: a
  request under it is answered as an Invalid Request (with the null id JSON-RPC gives an id
  it cannot read), an answer under it is noise; the reader reads on. (The SDK keeps its
  requests in a dict: ``true`` would be its request ``1``'s answer.)
- An answer reaches the SDK only under an integer id, the ids the SDK sends (``5.0`` would
  be its request ``5``'s answer as a Python dict key).
- Each request is kept in the connection's table (:mod:`agentnb._client.acp_requests`) under
  its id as JSON gives it, so ``5``, ``5.0`` and ``"5"`` are three requests; one under an id
  a request still waits under is a protocol error the transport handles
  (:meth:`Host.reused`), never the SDK's. The SDK runs each request in a task of its own;
  the request's entry in the table (:func:`arriving`) goes with the task, so its answer is
  the answer to that request and no other, and a request withdrawn is never answered.
- A program that sends agentnb's ``initialize`` back (one that echoes its input) ends the
  connection, saying so; a line that is not JSON-RPC is kept as noise (a command that is
  not what it was said to be).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import functools
import json
import os
import signal
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import httpx

from .._core.exceptions import ConfigurationError
from .acp_requests import Pending, PendingRequests, id_key
from .agent_process import (
    EXIT_GRACE_S,
    LINE_LIMIT,
    StderrTail,
    end_group,
    exited,
    group_cpu_seconds,
    kill_group,
    while_it_shows_life,
)

if TYPE_CHECKING:
    from acp.connection import Connection
    from acp.interfaces import Client

    from .._http.websocket import WebSocket

__all__ = [
    "INVALID_REQUEST",
    "METHOD_NOT_FOUND",
    "Host",
    "MessageWire",
    "ProcessWire",
    "SocketWire",
    "arriving",
    "connect",
    "json_line",
    "quietly",
    "sdk",
    "websocket_url",
]

METHOD_NOT_FOUND = -32601
"""JSON-RPC's error code for a method the other side does not offer."""
INVALID_REQUEST = -32600
"""JSON-RPC's error code for a message that is not a valid request (an id that is not a
string, a number or null; an id reused while a request under it waits)."""

json_line = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
"""A message as the wire's compact JSON text. One encoder made once: ``json.dumps`` given
arguments makes one each call, a third of the time it takes for a message of a turn."""

_arriving: contextvars.ContextVar[Pending | None] = contextvars.ContextVar(
    "agentnb_acp_request", default=None
)


def arriving() -> Pending:
    """The agent's request the running SDK handler answers (set by :meth:`MessageWire.receive` as
    the SDK takes the request, carried into the task the SDK runs it in)."""
    pending = _arriving.get()
    assert pending is not None, "an SDK handler outside a request's task"
    return pending


@functools.cache
def sdk() -> Any:
    """The SDK's modules (``acp``), or a :class:`~agentnb.ConfigurationError` saying how to
    install them."""
    try:  # the optional extra (pydantic models of the whole schema): at the first agent
        import acp
        import acp.client.router
        import acp.connection
    except ImportError:
        raise ConfigurationError(
            "connecting to an ACP agent needs the agent-client-protocol SDK: "
            'pip install "agentnb[acp]"'
        ) from None
    return acp


def websocket_url(url: str) -> str:
    """``url`` as the WebSocket URL it is reached at (``http`` → ``ws``, ``https`` → ``wss``)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigurationError(f"invalid base_url {url!r}: {exc}") from None
    scheme = {"http": "ws", "https": "wss"}.get(parsed.scheme, parsed.scheme)
    if scheme not in ("ws", "wss") or not parsed.host:
        raise ConfigurationError(
            f"an ACP agent served over the network is reached at a ws://, wss://, http:// or "
            f"https:// URL with a host (the SDK's server serves its WebSocket on its "
            f"endpoint, e.g. ws://127.0.0.1:8000/acp), not {url!r}"
        )
    return str(parsed.copy_with(scheme=scheme))


class Host(Protocol):
    """What the connection's messages mean beside the requests the SDK's client answers:
    the ACP transport's agent (:class:`agentnb._client.acp_transport`)."""

    def reused(self, rpc_id: Any, method: str, params: dict[str, Any]) -> None:
        """A request under an id another request still waits under."""
        ...

    def gone(self, why: str) -> None:
        """The agent went (``why`` says how)."""
        ...


WORKING_BOUND_S = 600.0
"""The longest an agent's process that keeps working is waited for to answer a request
other than a prompt (``initialize`` after a first ``npx`` fetch of a large agent on a slow
network, ``session/new`` starting its model's CLI on a busy machine): a bound for a loop,
not a guess at a start's speed."""
_T = TypeVar("_T")


class MessageWire:
    """The messages to and from the agent, as the SDK's message transport
    (``acp._transport.Transport``: ``send``, ``receive``, ``close``), read through the
    guards of the module. A subclass moves the text: :class:`ProcessWire`,
    :class:`SocketWire`."""

    def __init__(self, requests: PendingRequests, *, where: str) -> None:
        self.requests = requests
        self.where = where
        self.host: Host | None = None
        self.noise: collections.deque[str] = collections.deque(maxlen=5)
        """What it sent that was not JSON-RPC (a command that is not what was said)."""
        self.heard = 0
        """Messages (or lines that were not) read from it so far."""
        self.failure: str | None = None
        """Why the connection ended, for the requests it fails."""
        self._writing = asyncio.Lock()
        self.over = asyncio.Event()
        """The SDK read its last message (the agent went, or broke the protocol)."""

    @property
    def running(self) -> bool:
        raise NotImplementedError

    @property
    def exit_status(self) -> int | None:
        """How the agent ended (a process's exit status, a WebSocket's close code)."""
        raise NotImplementedError

    def stderr_tail(self) -> str:
        """What the agent said on the side before it went (a process's stderr)."""
        return ""

    async def answered(self, answer: Awaitable[_T], idle: float) -> _T:
        """``answer`` (a request's, ``initialize``'s) within ``idle`` seconds, else
        :class:`TimeoutError`; an agent's process (:class:`ProcessWire`) is given as long as
        it shows signs of life."""
        async with asyncio.timeout(idle):
            return await answer

    async def _read(self) -> str | bytes | None:
        """The next message's text; None: the agent went (the subclass says why first)."""
        raise NotImplementedError

    async def _write(self, line: str) -> None:
        raise NotImplementedError

    async def end(self) -> None:
        """End the agent (its process group, the WebSocket)."""
        raise NotImplementedError

    # ---- the SDK's transport -----------------------------------------------------------
    async def send(self, message: dict[str, Any]) -> None:
        if "method" not in message:  # an answer to a request of the agent's
            pending = _arriving.get()
            if pending is not None:
                if pending.withdrawn:
                    return  # its id was reused: it is answered with the protocol error
                self.requests.close(pending)
        await self.send_raw(message)

    async def send_raw(self, message: dict[str, Any]) -> None:
        line = json_line(message) + "\n"
        async with self._writing:
            await self._write(line)

    def fail(self, rpc_id: Any, code: int, message: str) -> None:
        """Answer ``rpc_id`` with an error, without waiting (an answer the reader gives); a
        write that fails means the agent is going, which its reader reports."""
        error = {"jsonrpc": "2.0", "id": rpc_id, "error": {"code": code, "message": message}}
        task = asyncio.create_task(quietly(self.send_raw(error)))
        _posting.add(task)
        task.add_done_callback(_posting.discard)

    async def said_how_it_went(self) -> bool:
        """Whether the reader ends (``over``: it read the agent's last message and said why
        it went) within :data:`~.agent_process.EXIT_GRACE_S`."""
        try:
            await asyncio.wait_for(self.over.wait(), EXIT_GRACE_S)
        except TimeoutError:
            return False
        return True

    async def receive(self) -> dict[str, Any] | None:
        # The task the SDK made of the last message runs before the next one is read: a
        # turn's first chunk reaches the stream before the rest of its burst is parsed.
        await asyncio.sleep(0)
        while self.failure is None:
            text = await self._read()
            if text is None:
                break
            self.heard += 1
            message = self._admitted(text)
            if message is not None:
                return message
        self.over.set()
        return None

    async def close(self) -> None:
        """The SDK closes the connection: the agent is ended by its owner
        (:meth:`end`)."""

    # ---- the guards ------------------------------------------------------------------------
    def _admitted(self, text: str | bytes) -> dict[str, Any] | None:
        """``text`` as a message the SDK may take (None: answered here, or not one)."""
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            shown = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
            self.noise.append(shown.strip()[:200])
            return None
        method, has_id = message.get("method"), "id" in message
        if has_id and id_key(message["id"]) is None:
            self._invalid_id(message, method)
            return None
        if isinstance(method, str) and has_id:
            return self._request(message, method)
        if isinstance(method, str):
            return message  # a notification
        if method is None and has_id and type(message["id"]) is int:
            return message  # an answer under an id of the SDK's
        return None  # an answer under an id the SDK never sent (5.0, "5", null)

    def _request(self, message: dict[str, Any], method: str) -> dict[str, Any] | None:
        rpc_id = message["id"]
        params = message.get("params")
        params = params if isinstance(params, dict) else {}
        if method == "initialize":  # our own request, sent back: a program that echoes
            self.failure = (
                f"{self.where!r} is not an ACP agent: it sent agentnb's initialize request "
                f"back (a program that echoes its input)"
            )
            return None
        if self.requests.under(rpc_id) is not None:
            assert self.host is not None
            self.host.reused(rpc_id, method, params)
            return None
        # the SDK's task for it is made next, in this context
        _arriving.set(self.requests.open(rpc_id, method, params))
        return message

    def _invalid_id(self, message: dict[str, Any], method: object) -> None:
        shown = json.dumps(message["id"], default=repr)[:80]
        if isinstance(method, str):
            why = f"invalid request: its id {shown} is not a string, a number or null"
            self.fail(None, INVALID_REQUEST, why)
        else:
            self.noise.append(f"an answer under the invalid id {shown}")

    def _went(self, why: str) -> None:
        if self.failure is None:
            self.failure = why
        if self.host is not None:
            self.host.gone(why)


_posting: set[asyncio.Task[None]] = set()


_EXIT_POLL_S = 0.5
"""How often a process's exit is looked for apart from its stdout's end."""
_DRAIN_GRACES = 20
"""Graces of :data:`~.agent_process.EXIT_GRACE_S` an exited agent's last lines may take to
be read while each reads some (a busy machine's reader); then its group is ended."""


class ProcessWire(MessageWire):
    """An agent run by its command: one message a line over its stdio, its stderr's tail
    kept."""

    def __init__(
        self, process: asyncio.subprocess.Process, requests: PendingRequests, *, where: str
    ) -> None:
        super().__init__(requests, where=where)
        self.process = process
        self.stderr = StderrTail(process, named=where)
        self._exit_seen = asyncio.ensure_future(self._see_exit())

    async def _see_exit(self) -> None:
        """The process's exit, seen even when its stdout does not end: a child it left
        behind may hold the pipe open (a tool's command, a server it started), and the
        reader would wait for the pipe's end for ever. While the reader reads the last
        lines it is left to say how it went; once it has read nothing for
        :data:`EXIT_GRACE_S` (or read on past :data:`_DRAIN_GRACES` of them), the group is
        ended (such a child with it, and the pipe ends), and past that a child in a
        session of its own holds the pipe still: the exit is told without the reader."""
        status = await self._exit_status()
        for _ in range(_DRAIN_GRACES):  # a child writing on for ever is not its last lines
            heard = self.heard
            if await self.said_how_it_went():
                return
            if self.heard == heard:
                break  # nothing read for a grace: the pipe is held, not being drained
        kill_group(self.pid, signal.SIGKILL)
        if not await self.said_how_it_went():
            await self.stderr.settled()
            self._went(f"the agent exited with status {status}")

    async def _exit_status(self) -> int:
        """The process's status once it exits, its pipes open or not (its ``wait()`` waits
        for them too): told by a pidfd where the system has one (Linux), else looked for
        every :data:`_EXIT_POLL_S`."""
        try:
            pidfd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):  # no pidfd here, or it is reaped already
            pidfd = None
        if pidfd is not None:
            exited = asyncio.Event()
            loop = asyncio.get_running_loop()
            loop.add_reader(pidfd, exited.set)
            try:
                await exited.wait()
            finally:
                loop.remove_reader(pidfd)
                os.close(pidfd)
        while self.process.returncode is None:  # noqa: ASYNC110 (no pidfd, or not reaped yet)
            await asyncio.sleep(_EXIT_POLL_S)
        return self.process.returncode

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.returncode is None and self.failure is None

    @property
    def exit_status(self) -> int | None:
        return self.process.returncode

    def stderr_tail(self) -> str:
        return self.stderr.text()

    async def answered(self, answer: Awaitable[_T], idle: float) -> _T:
        """``answer`` while the process shows signs of life: no answer and no sign for
        ``idle`` seconds, or :data:`WORKING_BOUND_S` in all, is
        :class:`~.agent_process.Unanswered` (a start is waited for while it works, however
        slow the machine or the first fetch of a package)."""
        return await while_it_shows_life(
            answer, self.signs_of_life, idle=idle, bound=WORKING_BOUND_S
        )

    async def signs_of_life(self) -> tuple[int, int, float | None]:
        """What changes while the agent's process works: what it wrote to stdout and stderr,
        and the CPU its process group used (:func:`.agent_process.while_it_shows_life`)."""
        cpu = await asyncio.to_thread(group_cpu_seconds, self.pid)
        return self.heard, self.stderr.received, cpu

    async def _write(self, line: str) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(line.encode())
        await stdin.drain()

    async def _read(self) -> bytes | None:
        stdout = self.process.stdout
        assert stdout is not None
        try:
            line = await stdout.readline()
        except (ValueError, asyncio.LimitOverrunError):
            self.noise.append(f"a line longer than {LINE_LIMIT // (1024 * 1024)} MiB")
            kill_group(self.pid, signal.SIGKILL)
            line = b""
        if line:
            return line
        status = await exited(self.process)
        await self.stderr.settled()  # the stderr reader takes what is left first
        self._went(f"the agent exited with status {status}")
        return None

    async def end(self) -> None:
        with contextlib.suppress(Exception):
            if self.process.stdin is not None:
                self.process.stdin.close()
        await end_group(self.process)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.stderr.task), 1.0)
        self._exit_seen.cancel()  # ended on purpose: its owner tells how (_Agent.end)


class SocketWire(MessageWire):
    """An agent served over the network: one message a WebSocket text frame
    (:mod:`agentnb._http.websocket`; the SDK's ``acp.http`` server)."""

    def __init__(self, socket: WebSocket, requests: PendingRequests, *, where: str) -> None:
        super().__init__(requests, where=where)
        self.socket = socket
        self._texts = socket.texts()
        self._over = False

    @property
    def running(self) -> bool:
        return not self.socket.closed and not self._over and self.failure is None

    @property
    def exit_status(self) -> int | None:
        return self.socket.close_code

    async def _write(self, line: str) -> None:
        await self.socket.send(line.rstrip("\n"))

    async def _read(self) -> str | None:
        with contextlib.suppress(StopAsyncIteration):
            return await anext(self._texts)
        self._over = True
        await self.socket.close()
        self._went(f"the WebSocket to {self.where} closed (code {self.socket.close_code})")
        return None

    async def end(self) -> None:
        """Close the WebSocket (the SDK's server ends the connection's sessions)."""
        self._over = True
        await self.socket.close()


def connect(client: Client, wire: MessageWire) -> Connection:
    """The SDK's connection over ``wire``, the agent's requests and updates ``client``'s
    (the SDK's :class:`acp.interfaces.Client`, each method typed).

    The SDK's JSON-RPC connection and client router, both public, rather than the
    ``ClientSideConnection`` built of them: its calls are typed (each a pydantic model of the
    params), so the params the dialect made would lose its ``extra=`` fields and the agent's
    unstable methods (``session/set_model``) would have no call, and it offers no request of
    a method and params as they are but through its private ``_conn``. Its wrapper of the
    client, which lets its ``prompt`` wait for the turn's updates, is not needed either: a
    turn's end is its frames' (:mod:`agentnb._client.acp_transport`)."""
    acp = sdk()
    connection: Connection = acp.connection.Connection(
        acp.client.router.build_client_router(client), wire
    )
    return connection


async def quietly(sending: Awaitable[Any]) -> None:
    """``sending``, a write that fails once the agent is going (its reader says how)."""
    with contextlib.suppress(OSError, RuntimeError, ConnectionError):
        await sending

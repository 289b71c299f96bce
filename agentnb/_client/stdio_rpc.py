"""A program spoken to in JSON-RPC 2.0 over its stdio, one message a line: started in a
process group of its own and ended whole (an npm wrapper leaves its native program running
when it exits alone), at :meth:`RpcProcess.end` and, for any still running, when Python
exits. Its stderr is read all the time (a chatty program never blocks on a full pipe) and
its tail kept for the error of a program that exits; lines on stdout that are not JSON-RPC
are kept as "noise" (a command that is not what it was said to be).

What the messages mean is a subclass's: the program's requests and notifications go to its
:meth:`RpcProcess.on_request` and :meth:`RpcProcess.on_notification`, its exit to
:meth:`RpcProcess.on_exit`. The ACP transport (:mod:`agentnb._client.acp_transport`) has
the one subclass.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import contextlib
import json
import os
import shlex
import signal
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .._core.exceptions import ConfigurationError, TransportError
from .._core.secrets import register_secret, secret_name

__all__ = [
    "EXIT_GRACE_S",
    "INVALID_REQUEST",
    "LINE_LIMIT",
    "METHOD_NOT_FOUND",
    "RpcPeer",
    "RpcProcess",
    "checked_command",
    "checked_env",
    "checked_flag",
    "end_group",
    "id_key",
    "start_process",
]

EXIT_GRACE_S = 3.0
"""How long the process group has to end after SIGTERM before it is killed."""
LINE_LIMIT = 64 * 1024 * 1024
"""The longest message line read from the program (a file's text in a diff can be long)."""
STDERR_TAIL = 4000
"""Characters of the program's stderr kept for an error."""
METHOD_NOT_FOUND = -32601
"""JSON-RPC's error code for a method the other side does not offer."""
INVALID_REQUEST = -32600
"""JSON-RPC's error code for a message that is not a valid request (an id that is not a
string, a number or null)."""


def id_key(rpc_id: object) -> str | None:
    """A JSON-RPC id as JSON gives it, type included (``5``, ``5.0``, ``"5"`` and ``null``
    are four keys, never one another's, as they would be as Python's dict keys); None: not
    an id JSON-RPC allows (a boolean, a list, an object)."""
    if rpc_id is None or isinstance(rpc_id, str):
        return json.dumps(rpc_id)
    if isinstance(rpc_id, int | float) and not isinstance(rpc_id, bool):
        return json.dumps(rpc_id)  # 5 → "5", 5.0 → "5.0"
    return None


def checked_command(command: object) -> list[str]:
    """``command`` (a list of arguments, or a string split as a shell would) as arguments."""
    if isinstance(command, str):
        try:
            parts = shlex.split(command)
        except ValueError as exc:
            raise ConfigurationError(f"command={command!r} cannot be split: {exc}") from None
    elif isinstance(command, list | tuple) and all(isinstance(a, str) for a in command):
        parts = list(command)
    else:
        raise ConfigurationError(
            "command= is the agent's command: a list of arguments or a string, such as "
            "['codex-acp'] or 'gemini --acp'"
        )
    if not parts or not parts[0]:
        raise ConfigurationError("command= is empty: give the agent's command")
    return parts


def checked_flag(value: object, name: str) -> bool:
    """An on/off option (None: off)."""
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ConfigurationError(f"{name}= is True or False, not {value!r}")
    return value


def checked_env(env: object) -> dict[str, str]:
    """``env=``: names and values as text; a value under a secret-looking name is registered
    as a secret, so no message or record carries it."""
    if env is None:
        return {}
    if not isinstance(env, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in env.items()
    ):
        raise ConfigurationError("env= is a dict of environment variable names to text values")
    for name, value in env.items():
        if secret_name(name):
            register_secret(value)
    return dict(env)


# ---- processes that must not outlive Python ---------------------------------------------------
_groups: set[int] = set()


def _end_groups() -> None:
    """At exit: end every process group still running (SIGTERM, then SIGKILL)."""
    for pid in list(_groups):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 1.0
    while _groups and time.monotonic() < deadline:
        for pid in list(_groups):
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(pid, os.WNOHANG) != (0, 0):
                    _groups.discard(pid)
        time.sleep(0.05)
    for pid in list(_groups):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)


atexit.register(_end_groups)


def _kill_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


async def start_process(
    command: Sequence[str], *, cwd: Path, env: Mapping[str, str], merge_stderr: bool = False
) -> asyncio.subprocess.Process:
    """Start ``command`` in ``cwd`` with ``env`` added to this process's environment, in a
    process group of its own, its stdio piped (``merge_stderr``: stderr into stdout, no
    stdin: a command run in an agent's terminal)."""
    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL if merge_stderr else asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT if merge_stderr else asyncio.subprocess.PIPE,
            cwd=cwd,
            env={**os.environ, **env},
            start_new_session=True,  # its own process group, ended whole
            limit=LINE_LIMIT,
        )
    except OSError as exc:
        raise ConfigurationError(
            f"cannot start the agent {shlex.join(command)!r} in {cwd}: {exc}"
        ) from None
    _groups.add(process.pid)
    return process


async def end_group(process: asyncio.subprocess.Process) -> None:
    """End ``process``'s process group: SIGTERM, then SIGKILL past :data:`EXIT_GRACE_S`."""
    pid = process.pid
    _kill_group(pid, signal.SIGTERM)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), EXIT_GRACE_S)
    _kill_group(pid, signal.SIGKILL)  # the wrapper's children too, wherever they are
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), EXIT_GRACE_S)
    _groups.discard(pid)


class RpcPeer:
    """JSON-RPC 2.0 with a peer, one message at a time: sends requests and answers, matches
    answers to requests, hands the peer's requests and notifications to the hooks. How the
    messages move is a subclass's (:meth:`_write`, a reader calling :meth:`_receive`, then
    :meth:`on_exit`): :class:`RpcProcess` here, a WebSocket in
    :mod:`agentnb._client.rpc_socket`. ``named`` (the peer as errors name it) and ``where``
    (its command or URL) word the errors of :meth:`call`."""

    def __init__(self, *, named: str, where: str) -> None:
        self.named = named
        self.where = where
        self.noise: collections.deque[str] = collections.deque(maxlen=5)
        """What it sent that was not JSON-RPC (a command that is not what was said)."""
        self._writing = asyncio.Lock()
        self._next_id = 0
        self.waiting: dict[int, asyncio.Future[Any]] = {}
        """Our requests waiting for the peer's answer, by id."""
        self.background: set[asyncio.Task[None]] = set()
        """Answers being sent from a reader's callback (:meth:`post`)."""
        self.tasks: list[asyncio.Task[None]] = []
        """The subclass's readers."""

    @property
    def running(self) -> bool:
        raise NotImplementedError

    @property
    def exit_status(self) -> int | None:
        """How the peer ended (a process's exit status, a WebSocket's close code)."""
        raise NotImplementedError

    def stderr_tail(self) -> str:
        """What the peer said on the side before it went (a process's stderr)."""
        return ""

    # ---- sending -------------------------------------------------------------------------
    async def _write(self, line: str) -> None:
        raise NotImplementedError

    async def send(self, message: Mapping[str, Any]) -> None:
        line = json.dumps(message, ensure_ascii=False, separators=(",", ":")) + "\n"
        async with self._writing:
            await self._write(line)

    def post(self, message: Mapping[str, Any]) -> None:
        """Send without waiting (from a reader's callback); a write that fails means the
        peer is going, which its reader reports."""
        task = asyncio.create_task(_quietly(self.send(message)))
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    def answer(self, rpc_id: Any, result: object) -> None:
        self.post({"jsonrpc": "2.0", "id": rpc_id, "result": result})

    def fail(self, rpc_id: Any, code: int, message: str) -> None:
        self.post({"jsonrpc": "2.0", "id": rpc_id, "error": {"code": code, "message": message}})

    async def call(self, method: str, params: object, within: float | None) -> dict[str, Any]:
        """Send a request and return the peer's answer (``result`` or ``error``, as sent);
        a closed input or no answer within ``within`` seconds is a
        :class:`~agentnb.TransportError`."""
        self._next_id += 1
        rpc_id = self._next_id
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiting[rpc_id] = future
        try:
            await self.send({"jsonrpc": "2.0", "id": rpc_id, "method": method, "params": params})
            async with asyncio.timeout(within):
                answer: dict[str, Any] = await future
        except ConnectionError:
            await asyncio.sleep(0.2)  # its reader says why it went
            if future.done() and future.exception() is not None:
                raise future.exception() from None  # type: ignore[misc]
            raise TransportError(f"the agent {self.where} closed its input") from None
        except TimeoutError:
            raise TransportError(
                f"{self.named} did not answer {method} within {within:g} s"
            ) from None
        finally:
            self.waiting.pop(rpc_id, None)
        return answer

    # ---- reading -------------------------------------------------------------------------
    def _receive(self, line: bytes | str) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
            self.noise.append(text.strip()[:200])
            return
        method = message.get("method")
        if "id" in message and id_key(message["id"]) is None:
            self._invalid_id(message, method)
        elif isinstance(method, str) and "id" in message:
            self.on_request(message["id"], method, message.get("params"))
        elif isinstance(method, str):
            self.on_notification(method, message.get("params"))
        elif "id" in message and type(message["id"]) is int:  # our ids: integers, no other
            future = self.waiting.pop(message["id"], None)
            if future is not None and not future.done():
                future.set_result(message)

    def _invalid_id(self, message: dict[str, Any], method: object) -> None:
        """An id JSON-RPC does not allow (a boolean, a list, an object): a request is
        answered as an Invalid Request (with the null id JSON-RPC gives an id it cannot
        read), an answer is noise; the reader reads on."""
        shown = json.dumps(message["id"], default=repr)[:80]
        if isinstance(method, str):
            why = f"invalid request: its id {shown} is not a string, a number or null"
            self.fail(None, INVALID_REQUEST, why)
        else:
            self.noise.append(f"an answer under the invalid id {shown}")

    # ---- what the messages mean: a subclass's ------------------------------------------
    def on_request(self, rpc_id: Any, method: str, params: object) -> None:
        """The peer asks: by default, nothing is offered."""
        self.fail(rpc_id, METHOD_NOT_FOUND, f"agentnb does not offer {method}")

    def on_notification(self, method: str, params: object) -> None:
        """The peer says: by default, heard and let go."""

    def on_exit(self, why: str) -> None:
        """The peer went (``why`` says how): by default, the requests still waiting fail
        saying so."""
        self.fail_waiting(why)

    def fail_waiting(self, detail: str) -> None:
        """Fail the requests still waiting for an answer with ``detail``."""
        for future in self.waiting.values():
            if not future.done():
                future.set_exception(TransportError(detail))
        self.waiting.clear()

    # ---- ending --------------------------------------------------------------------------
    async def end(self) -> None:
        raise NotImplementedError

    async def _let_readers_end(self) -> None:
        """Its readers end what is still going, saying why; ones that hang are let go."""
        if not self.tasks:
            return
        _, hanging = await asyncio.wait(self.tasks, timeout=EXIT_GRACE_S)
        for task in hanging:
            task.cancel()


class RpcProcess(RpcPeer):
    """The running program (see the module): its stdout read for messages, its stderr's
    tail kept."""

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        *,
        named: str,
        where: str,
    ) -> None:
        super().__init__(named=named, where=where)
        self.process = process
        self.stderr: collections.deque[str] = collections.deque()
        self._stderr_size = 0
        self.tasks = [
            asyncio.create_task(self._read(), name=f"agentnb: {named} stdout"),
            asyncio.create_task(self._read_stderr(), name=f"agentnb: {named} stderr"),
        ]

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    @property
    def exit_status(self) -> int | None:
        return self.process.returncode

    def stderr_tail(self) -> str:
        return "".join(self.stderr)[-STDERR_TAIL:].strip()

    async def _write(self, line: str) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(line.encode())
        await stdin.drain()

    async def _read(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        try:
            while line := await stdout.readline():
                self._receive(line)
        except (ValueError, asyncio.LimitOverrunError):
            self.noise.append(f"a line longer than {LINE_LIMIT // (1024 * 1024)} MiB")
            _kill_group(self.pid, signal.SIGKILL)
        status = await self.process.wait()
        _kill_group(self.pid, signal.SIGKILL)  # what it left running in its group
        _groups.discard(self.pid)
        with contextlib.suppress(TimeoutError):  # the stderr reader takes what is left first
            await asyncio.wait_for(asyncio.shield(self.tasks[1]), 1.0)
        self.on_exit(f"the agent exited with status {status}")

    async def _read_stderr(self) -> None:
        stderr = self.process.stderr
        assert stderr is not None
        while chunk := await stderr.read(65536):
            self.stderr.append(chunk.decode("utf-8", "replace"))
            self._stderr_size += len(self.stderr[-1])
            while self._stderr_size > 2 * STDERR_TAIL and len(self.stderr) > 1:
                self._stderr_size -= len(self.stderr.popleft())

    async def end(self) -> None:
        """End the process group: SIGTERM, then SIGKILL past :data:`EXIT_GRACE_S`."""
        with contextlib.suppress(Exception):
            if self.process.stdin is not None:
                self.process.stdin.close()
        await end_group(self.process)
        await self._let_readers_end()


async def _quietly(sending: Any) -> None:
    with contextlib.suppress(OSError, RuntimeError):
        await sending

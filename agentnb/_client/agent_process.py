"""The processes agentnb starts (an ACP agent, a command in an agent's terminal): each in a
process group of its own and ended whole (an npm wrapper leaves its native program running
when it exits alone), at :func:`end_group` and, for any still running, when Python exits;
an agent's stderr read all the time and its tail kept (:class:`StderrTail`). What is said
over an agent's stdio is the SDK's (:mod:`agentnb._client.acp_wire`).
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import contextlib
import os
import shlex
import signal
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from .._core.exceptions import ConfigurationError
from .._core.secrets import register_secret, secret_name

__all__ = [
    "EXIT_GRACE_S",
    "LINE_LIMIT",
    "StderrTail",
    "checked_command",
    "checked_env",
    "checked_flag",
    "end_group",
    "exited",
    "kill_group",
    "start_process",
]

EXIT_GRACE_S = 3.0
"""How long the process group has to end after SIGTERM before it is killed."""
LINE_LIMIT = 64 * 1024 * 1024
"""The longest message line read from an agent (a file's text in a diff can be long)."""
STDERR_TAIL = 4000
"""Characters of the program's stderr kept for an error."""


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


def kill_group(pid: int, sig: signal.Signals) -> None:
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
    kill_group(pid, signal.SIGTERM)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), EXIT_GRACE_S)
    kill_group(pid, signal.SIGKILL)  # the wrapper's children too, wherever they are
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), EXIT_GRACE_S)
    _groups.discard(pid)


class StderrTail:
    """A process's stderr read all the time (a chatty program never blocks on a full pipe),
    its tail kept for the error of a program that exits."""

    def __init__(self, process: asyncio.subprocess.Process, *, named: str) -> None:
        self._chunks: collections.deque[str] = collections.deque()
        self._size = 0
        self.task = asyncio.create_task(self._read(process), name=f"agentnb: {named} stderr")

    def text(self) -> str:
        return "".join(self._chunks)[-STDERR_TAIL:].strip()

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        stderr = process.stderr
        assert stderr is not None
        while chunk := await stderr.read(65536):
            self._chunks.append(chunk.decode("utf-8", "replace"))
            self._size += len(self._chunks[-1])
            while self._size > 2 * STDERR_TAIL and len(self._chunks) > 1:
                self._size -= len(self._chunks.popleft())

    async def settled(self) -> None:
        """What is left of it read (bounded: a grandchild may hold the pipe open)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.task), 1.0)


async def exited(process: asyncio.subprocess.Process) -> int:
    """Wait for ``process`` to exit, then end what it left running in its group; its
    status."""
    status = await process.wait()
    kill_group(process.pid, signal.SIGKILL)
    _groups.discard(process.pid)
    return status

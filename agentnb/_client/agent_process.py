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
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from .._core.exceptions import ConfigurationError
from .._core.secrets import register_secret, secret_name

__all__ = [
    "EXIT_GRACE_S",
    "LINE_LIMIT",
    "StderrTail",
    "Unanswered",
    "checked_command",
    "checked_env",
    "checked_flag",
    "command_label",
    "end_group",
    "exited",
    "group_cpu_seconds",
    "kill_group",
    "start_process",
    "while_it_shows_life",
]

EXIT_GRACE_S = 3.0
"""How long the process group has to end after SIGTERM before it is killed."""
LINE_LIMIT = 64 * 1024 * 1024
"""The longest message line read from an agent (a file's text in a diff can be long)."""
STDERR_TAIL = 4000
"""Characters of the program's stderr kept for an error."""
_T = TypeVar("_T")
LIFE_CHECK_S = 0.25
"""How often a starting process is looked at for signs of life."""


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


def command_label(command: Sequence[str]) -> str:
    """``command`` as one line a person reads, and a URL may hold (a connection's
    ``base_url``, an error): as a shell would take it, a control character (a newline in a
    ``sh -c`` script) written as its escape."""
    joined = shlex.join(command)
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in joined)


def group_cpu_seconds(group: int) -> float | None:
    """The CPU time the processes of process group ``group`` have used, those they reaped
    included (a package runner's child fetching the agent): a sign a silent process is
    working. None where ``/proc`` cannot tell (not Linux)."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    ticks = 0
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rpartition(b")")[2].split()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        # after the name: state, ppid, pgrp, ... utime (12th), stime, cutime, cstime
        if len(fields) > 14 and int(fields[2]) == group:
            ticks += sum(int(field) for field in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


class Unanswered(Exception):
    """A process stopped showing signs of life, or kept busy past the bound, before it
    answered (:func:`while_it_shows_life`); the message says which."""


async def while_it_shows_life(
    answer: Awaitable[_T], signs: Callable[[], Awaitable[object]], *, idle: float, bound: float
) -> _T:
    """``answer``, awaited as long as the process it waits on shows signs of life: what
    ``signs()`` returns (its output so far, its CPU time) changes at least every ``idle``
    seconds, up to ``bound`` seconds in all. A start is waited for as long as it works,
    however slow the machine or the first fetch of a package, and a program that sits
    silent (not an agent) is given up on ``idle`` seconds after its last sign. Raises
    :class:`Unanswered`, ``answer`` cancelled."""
    task = asyncio.ensure_future(answer)
    loop = asyncio.get_running_loop()
    started = lively = loop.time()
    seen: object = None  # looked at only once the answer is late: most come at once
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=LIFE_CHECK_S)
            if done:
                return task.result()
            now = loop.time()
            if (now_seen := await signs()) != seen:
                seen, lively = now_seen, now
            if now - lively > idle:
                raise Unanswered(f"showed no sign of life (no output, no CPU) for {idle:g} s")
            if now - started > bound:
                raise Unanswered(f"kept working for {bound:g} s")
    finally:
        if not task.done():
            task.cancel()
            await asyncio.wait({task})  # its end, not its error: the stall is the news


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
        self.received = 0
        """Characters read so far (a sign of life of a starting agent)."""
        self.task = asyncio.create_task(self._read(process), name=f"agentnb: {named} stderr")

    def text(self) -> str:
        return "".join(self._chunks)[-STDERR_TAIL:].strip()

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        stderr = process.stderr
        assert stderr is not None
        while chunk := await stderr.read(65536):
            self._chunks.append(chunk.decode("utf-8", "replace"))
            self._size += len(self._chunks[-1])
            self.received += len(self._chunks[-1])
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

"""The commands an ACP agent runs in a terminal of the client's (``terminal/*``): offered only
when the person opts in (``agentnb.connect("acp", ..., terminal=True)``), each
``terminal/create`` decided through the gate first (the transport:
:mod:`agentnb._client.acp_transport`), run under the working directory only, in a process
group of its own (:func:`~agentnb._client.agent_process.start_process`), its stdout and stderr
kept as one output, cut from the beginning past the agent's ``outputByteLimit`` or
:data:`OUTPUT_LIMIT`, whichever is less. What the agent reads of it passes the redaction a
file it reads passes (the connection's: ``redact``), in whole lines (a line cut at the start,
or still being written, is not sent: it may hold part of a secret).

A terminal is killed at ``terminal/kill``, ended at ``terminal/release`` and with the
connection: its process group, and every process that carries its mark in its environment
(:data:`MARK`: what it started, even in a session of its own with ``setsid``, or orphaned),
found by a walk over ``/proc``. A command that clears its own environment and detaches is
beyond this: the card shows every command before it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .._core.exceptions import ConfigurationError
from .agent_process import EXIT_GRACE_S, end_group, start_process

__all__ = ["MARK", "OUTPUT_LIMIT", "Terminals", "end_marked"]

OUTPUT_LIMIT = 1024 * 1024
"""The most output a terminal keeps (bytes), whatever ``outputByteLimit`` the agent names."""
MARK = "AGENTNB_TERMINAL"
"""The environment variable that marks what a terminal started (its value: the terminal's)."""


class _Terminal:
    def __init__(self, process: asyncio.subprocess.Process, limit: int, mark: str) -> None:
        self.process = process
        self.limit = limit
        self.mark = mark
        self.output = bytearray()
        self.truncated = False
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        while chunk := await stdout.read(65536):
            self.output += chunk
            if len(self.output) > self.limit:
                del self.output[: len(self.output) - self.limit]
                self.truncated = True
        await self.process.wait()

    def text(self) -> str:
        """The output kept, in whole lines: a line cut at the start, and one still being
        written while the command runs, are left out (either may hold part of a secret)."""
        kept = bytes(self.output)
        if self.truncated:  # no line break kept: all of it is the cut line
            start = kept.find(b"\n")
            kept = kept[start + 1 :] if start >= 0 else b""
        if self.process.returncode is None:
            kept = kept[: kept.rfind(b"\n") + 1]
        return kept.decode("utf-8", "replace")

    async def end(self) -> None:
        """End the command's process group, then whatever carries its mark."""
        await end_group(self.process)
        end_marked(self.mark)

    def exit_status(self) -> dict[str, Any] | None:
        code = self.process.returncode
        if code is None:
            return None
        if code < 0:
            return {"exitCode": None, "signal": signal.Signals(-code).name}
        return {"exitCode": code, "signal": None}


class Terminals:
    """The terminals of one agent's process, by id (see the module)."""

    def __init__(self, root: Path, redact: Callable[[str], str]) -> None:
        self.root = root
        self.redact = redact
        """What the agent reads of a terminal passes (the connection's one redaction)."""
        self._terminals: dict[str, _Terminal] = {}
        self._count = 0
        self._mark = secrets.token_hex(8)

    def refusal(self, params: Mapping[str, Any]) -> str | None:
        """Why a ``terminal/create`` is never run (before anyone is asked; its fields' types
        the SDK checked first)."""
        if not params["command"]:
            return "the request names no command"
        if any(v["name"] == MARK for v in params.get("env") or []):
            return f"the request's env sets {MARK}, agentnb's own"
        if self.cwd_of(params) is None:
            return f"the terminal's cwd {params.get('cwd')!r} is outside the working directory"
        return None

    def cwd_of(self, params: Mapping[str, Any]) -> Path | None:
        """The terminal's folder: the request's, when under the working directory."""
        given = params.get("cwd")
        if given is None:
            return self.root
        if not isinstance(given, str):
            return None
        cwd = (self.root / given).resolve()
        return cwd if cwd.is_dir() and cwd.is_relative_to(self.root) else None

    async def create(self, params: Mapping[str, Any]) -> str:
        why, cwd = self.refusal(params), self.cwd_of(params)
        if why is not None or cwd is None:
            raise ValueError(why or f"the terminal's cwd {params.get('cwd')!r} is outside")
        self._count += 1
        terminal_id = f"term-{self._count}"
        mark = f"{self._mark}-{self._count}"
        env = {str(v["name"]): str(v["value"]) for v in params.get("env") or []}
        limit = params.get("outputByteLimit")
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            limit = OUTPUT_LIMIT
        command = [str(params["command"]), *(params.get("args") or [])]
        try:
            process = await start_process(
                command, cwd=cwd, env={**env, MARK: mark}, merge_stderr=True
            )
        except ConfigurationError as exc:
            raise ValueError(str(exc)) from None
        self._terminals[terminal_id] = _Terminal(process, min(limit, OUTPUT_LIMIT), mark)
        return terminal_id

    def _get(self, terminal_id: str) -> _Terminal:
        terminal = self._terminals.get(terminal_id)
        if terminal is None:
            raise ValueError(f"no terminal {terminal_id!r} is open")
        return terminal

    async def output(self, terminal_id: str) -> dict[str, Any]:
        """``terminal/output``: what it wrote (redacted, whole lines), and its exit."""
        terminal = self._get(terminal_id)
        return {
            "output": self.redact(terminal.text()),
            "truncated": terminal.truncated,
            "exitStatus": terminal.exit_status(),
        }

    async def wait_for_exit(self, terminal_id: str) -> dict[str, Any]:
        terminal = self._get(terminal_id)
        await asyncio.shield(terminal.reader)
        return terminal.exit_status() or {}

    async def kill(self, terminal_id: str) -> None:
        await self._get(terminal_id).end()

    async def release(self, terminal_id: str) -> None:
        terminal = self._get(terminal_id)
        del self._terminals[terminal_id]
        await terminal.end()

    async def close(self) -> None:
        """End every terminal (the connection, or the agent's process, ends)."""
        terminals, self._terminals = list(self._terminals.values()), {}
        for terminal in terminals:
            await terminal.end()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(terminal.reader, EXIT_GRACE_S)


def end_marked(mark: str) -> None:
    """End every process whose environment carries ``MARK=mark`` (what a command started with
    it, even in a session of its own; read from ``/proc``: a process of another user's, or
    one gone meanwhile, is passed over; without ``/proc`` its process group alone is ended)."""
    wanted = f"{MARK}={mark}".encode()
    with contextlib.suppress(OSError):  # no /proc (not Linux)
        for entry in filter(str.isdigit, os.listdir("/proc")):
            with contextlib.suppress(OSError), open(f"/proc/{entry}/environ", "rb") as environ:
                if wanted in environ.read().split(b"\0"):
                    os.kill(int(entry), signal.SIGKILL)

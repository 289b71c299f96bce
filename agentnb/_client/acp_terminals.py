"""The commands an ACP agent runs in a terminal of the client's (``terminal/*``): offered only
when the person opts in (``agentnb.connect("acp", ..., terminal=True)``), each
``terminal/create`` decided through the gate first (the transport:
:mod:`agentnb._client.acp_transport`), run under the working directory only, in a process
group of its own (:func:`~agentnb._client.stdio_rpc.start_process`), its stdout and stderr
kept as one output, cut from the beginning past the agent's ``outputByteLimit``. A terminal
is killed at ``terminal/kill``, ended at ``terminal/release`` and with the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._core.exceptions import ConfigurationError
from .stdio_rpc import EXIT_GRACE_S, end_group, start_process

__all__ = ["DEFAULT_OUTPUT_LIMIT", "Terminals"]

DEFAULT_OUTPUT_LIMIT = 1024 * 1024
"""The output a terminal keeps (bytes) when the agent names no ``outputByteLimit``."""


class _Terminal:
    def __init__(self, process: asyncio.subprocess.Process, limit: int) -> None:
        self.process = process
        self.limit = limit
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
        return bytes(self.output).decode("utf-8", "ignore")  # a cut character is dropped

    def exit_status(self) -> dict[str, Any] | None:
        code = self.process.returncode
        if code is None:
            return None
        if code < 0:
            return {"exitCode": None, "signal": signal.Signals(-code).name}
        return {"exitCode": code, "signal": None}


class Terminals:
    """The terminals of one agent's process, by id (see the module)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._terminals: dict[str, _Terminal] = {}
        self._count = 0

    def refusal(self, params: Mapping[str, Any]) -> str | None:
        """Why a ``terminal/create`` is never run (before anyone is asked)."""
        if not isinstance(params.get("command"), str) or not params["command"]:
            return "the request names no command"
        args = params.get("args")
        if args is not None and not (
            isinstance(args, list) and all(isinstance(a, str) for a in args)
        ):
            return "the request's args are not a list of strings"
        cwd = self.cwd_of(params)
        if cwd is None:
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
        cwd = self.cwd_of(params)
        if cwd is None:
            raise ValueError(f"the terminal's cwd {params.get('cwd')!r} is outside")
        env = {
            str(v.get("name")): str(v.get("value"))
            for v in params.get("env") or []
            if isinstance(v, dict) and isinstance(v.get("name"), str)
        }
        limit = params.get("outputByteLimit")
        limit = limit if isinstance(limit, int) and limit >= 0 else DEFAULT_OUTPUT_LIMIT
        command = [str(params["command"]), *(params.get("args") or [])]
        try:
            process = await start_process(command, cwd=cwd, env=env, merge_stderr=True)
        except ConfigurationError as exc:
            raise ValueError(str(exc)) from None
        self._count += 1
        terminal_id = f"term-{self._count}"
        self._terminals[terminal_id] = _Terminal(process, limit)
        return terminal_id

    def _get(self, params: Mapping[str, Any]) -> _Terminal:
        terminal = self._terminals.get(str(params.get("terminalId")))
        if terminal is None:
            raise ValueError(f"no terminal {params.get('terminalId')!r} is open")
        return terminal

    async def answer(self, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """The result of ``terminal/output``, ``wait_for_exit``, ``kill`` or ``release``."""
        terminal = self._get(params)
        if method == "terminal/output":
            return {
                "output": terminal.text(),
                "truncated": terminal.truncated,
                "exitStatus": terminal.exit_status(),
            }
        if method == "terminal/wait_for_exit":
            await asyncio.shield(terminal.reader)
            return terminal.exit_status() or {}
        if method == "terminal/kill":
            await end_group(terminal.process)
            return {}
        if method == "terminal/release":
            del self._terminals[str(params.get("terminalId"))]
            await end_group(terminal.process)
            return {}
        raise ValueError(f"agentnb does not offer {method}")

    async def close(self) -> None:
        """End every terminal (the connection, or the agent's process, ends)."""
        terminals, self._terminals = list(self._terminals.values()), {}
        for terminal in terminals:
            await end_group(terminal.process)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(terminal.reader, EXIT_GRACE_S)

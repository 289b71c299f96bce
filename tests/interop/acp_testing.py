"""What the ACP tests share: a connection to an agent for the length of a test, a turn asked
of it and its run once ended, and ``agentnb run`` reaching an agent the environment names,
in a process of its own."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from agentnb_testing import PATIENCE_S

import agentnb
from agentnb._app.front.connections import disconnect
from agentnb.types import RunHandle

__all__ = ["acp_connection", "agentnb_run", "ask", "ended"]


@contextlib.contextmanager
def acp_connection(
    name: str, command: Sequence[str | Path] | None = None, **options: object
) -> Iterator[agentnb.Connection]:
    """The connection ``name`` to the ACP agent ``command`` starts (or ``base_url`` serves),
    ended after the block."""
    if command is not None:
        options["command"] = [str(part) for part in command]
    conn = agentnb.connect("acp", name=name, **options)  # type: ignore[arg-type]
    try:
        yield conn
    finally:
        disconnect(name)


def ask(agent: str, message: str, **options: object) -> RunHandle:
    """``message`` asked of ``agent``, as plain text, not waited for."""
    return agentnb.ask(agent, message, plain=True, wait=False, **options)  # type: ignore[arg-type]


def ended(handle: RunHandle) -> agentnb.Run:
    """The run once it ended, whatever its outcome."""
    with contextlib.suppress(agentnb.AgentNBError):
        handle.wait(PATIENCE_S)
    return handle.run


def agentnb_run(
    name: str, command: Sequence[str | Path], history: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    """``agentnb run NAME ARGS`` as a shell runs it: the connection ``NAME`` to the ACP agent
    ``command`` starts, named by the environment (``AGENTNB_<NAME>_PROVIDER``, ``_COMMAND``),
    runs recorded in ``history``; its output captured."""
    env = {
        **os.environ,
        f"AGENTNB_{name.upper()}_PROVIDER": "acp",
        f"AGENTNB_{name.upper()}_COMMAND": " ".join(str(part) for part in command),
        "AGENTNB_HISTORY": str(history),
    }
    cli = Path(sys.executable).parent / "agentnb"
    return subprocess.run(
        [str(cli), "run", name, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=PATIENCE_S,
        check=False,
    )

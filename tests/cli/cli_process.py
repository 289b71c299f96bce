"""``agentnb`` run as a user runs it, in a child process against the built-in server: the
environment it gets (no ``AGENTNB_`` settings of this shell, no history, no colour), the flags
that point it at the server's Operativus dialect, and ``agentnb run`` with pipes only; and the
same run by the CLI's ``main`` in this process, where the process is not what is tested."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from agentnb_testing import PATIENCE_S, cli_in_process

__all__ = ["cli_env", "on", "run_in_process", "run_piped"]


def cli_env(server: Any | None = None) -> dict[str, str]:
    """This process's environment without its ``AGENTNB_`` settings, with history off, no
    colour and, given a server, its API key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTNB_")}
    env.update(AGENTNB_HISTORY="off", NO_COLOR="1")
    if server is not None:
        env["AGENTNB_API_KEY"] = server.api_key
    return env


def on(server: Any) -> list[str]:
    """The flags that point ``agentnb run`` at the server's Operativus dialect."""
    return ["--provider", "operativus", "--base-url", server.base_url]


def run_piped(server: Any, *args: str) -> subprocess.CompletedProcess[str]:
    """``agentnb run`` with stdin, stdout and stderr pipes (no terminal anywhere)."""
    return subprocess.run(
        [sys.executable, "-m", "agentnb", "run", *args, *on(server)],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        text=True,
        env=cli_env(server),
        timeout=PATIENCE_S,
        check=False,
    )


def run_in_process(server: Any, *args: str) -> subprocess.CompletedProcess[str]:
    """``agentnb run`` as :func:`run_piped` runs it, by the CLI's ``main`` in this process."""
    env = {"NO_COLOR": "1", "AGENTNB_API_KEY": server.api_key}
    return cli_in_process("run", *args, *on(server), env=env)

"""``agentnb run`` in a real terminal (tmux) draws a run with sub-agents as a tree: nested calls
indented under their parent with their agent, a sub-agent's words dimmed on its call's ``┆``
lines, and the answer on lines of its own. A raw-socket SeekrFlow server streams the parts
(nested_frames.py); the screen is read back as the user would read it, with its colours."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from nested_frames import SUB_TEXT, TOP_TEXT, nested_run_frames

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "client"))
from hostile_server import Conn, HostileServer, Request, http_head, sse_head

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")

WAIT = 30.0
"""Seconds the run may take before the test gives up (a failure, not a timing claim)."""


async def seekrflow(conn: Conn, request: Request) -> None:
    if request.path.endswith("/stream/vercel"):
        await conn.send(sse_head())
        for frame in nested_run_frames():
            await conn.send(f"data: {json.dumps(frame)}\n\n".encode())
            await asyncio.sleep(0.02)
        return
    body = b'{"id": "t1"}' if request.path == "/v1/threads" else b"[]"
    await conn.send(http_head("200 OK", {"Content-Type": "application/json"}) + body)


class Pane:
    """One command in a detached tmux session on a private tmux server."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.socket = f"agentnb-tree-{uuid.uuid4().hex[:8]}"
        shell = " ".join(command) + "; echo EXIT=$?; sleep 60"
        self.tmux(
            "new-session", "-d", "-s", "t", "-x", "160", "-y", "50",
            *(f"-e{key}={value}" for key, value in env.items()),
            shell,
        )  # fmt: skip

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=True,
        )
        return done.stdout

    def screen(self, *, colours: bool = False) -> str:
        return self.tmux("capture-pane", "-p", "-J", *(["-e"] if colours else []), "-t", "t")

    def wait_for(self, ready: Callable[[str], bool]) -> str:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            screen = self.screen()
            if ready(screen):
                return screen
            time.sleep(0.05)
        raise AssertionError(f"the terminal never showed what was awaited:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], check=False, timeout=WAIT)


@pytest.fixture
def pane(tmp_path: Path) -> Iterator[Pane]:
    with HostileServer(seekrflow) as server:
        env = {
            "AGENTNB_HISTORY": "off",
            "AGENTNB_API_KEY": "k",
            "TERM": "xterm-256color",
            "PYTHONPATH": os.pathsep.join(sys.path),
            "HOME": str(tmp_path),
        }
        command = [
            sys.executable, "-m", "agentnb", "run", "planner", "Compare", "NVDA", "and", "AMD",
            "--provider", "seekrflow-vercel", "--base-url", server.url,
        ]  # fmt: skip
        terminal = Pane(command, env)
        try:
            yield terminal
        finally:
            terminal.close()


def test_agentnb_run_draws_the_tree_with_dimmed_sub_agent_lines(pane: Pane) -> None:
    screen = pane.wait_for(lambda s: "EXIT=" in s)
    lines = [line.rstrip() for line in screen.splitlines()]
    assert "EXIT=0" in lines, screen
    assert '→ research({"ticker": "NVDA"})' in lines
    assert f"  ┆ researcher: {SUB_TEXT}" in lines
    assert '  ↳ [researcher] → get_price({"ticker": "NVDA"})' in lines
    assert '  ↳ [analyst] → get_price({"ticker": "AMD"})' in lines
    assert '    ↳ [checker] → verify({"price": 181.2})' in lines
    assert [line for line in lines if TOP_TEXT in line] == [TOP_TEXT]
    coloured = pane.screen(colours=True)
    assert dimmed_at(coloured, SUB_TEXT), coloured
    assert not dimmed_at(coloured, TOP_TEXT), coloured


def dimmed_at(screen: str, needle: str) -> bool:
    """Whether ``needle`` shows dimmed: tmux writes an attribute where it changes, so the
    last one set before it (and not reset since) says."""
    before = screen[: screen.index(needle)]
    dim, reset = before.rfind("\x1b[2m"), max(before.rfind("\x1b[0m"), before.rfind("\x1b[22m"))
    return dim > reset

"""``agentnb run`` in a real terminal (tmux) draws a run with sub-agents as a tree: nested calls
indented under their parent with their agent, a sub-agent's words dimmed on its call's ``┆``
lines, and the answer on lines of its own. A raw-socket SeekrFlow server streams the parts
(nested_frames.py); the screen is read back as the user would read it, with its colours."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from nested_frames import SUB_TEXT, TOP_TEXT, nested_run_frames
from tmux_pane import Pane

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "client"))
from hostile_server import Conn, HostileServer, Request, http_head, sse_head

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


async def seekrflow(conn: Conn, request: Request) -> None:
    if request.path.endswith("/stream/vercel"):
        await conn.send(sse_head())
        for frame in nested_run_frames():
            await conn.send(f"data: {json.dumps(frame)}\n\n".encode())
            await asyncio.sleep(0.02)
        return
    body = b'{"id": "t1"}' if request.path == "/v1/threads" else b"[]"
    await conn.send(http_head("200 OK", {"Content-Type": "application/json"}) + body)


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
        terminal = Pane(command, env, name="agentnb-tree")
        try:
            yield terminal
        finally:
            terminal.close()


def test_agentnb_run_draws_the_tree_with_dimmed_sub_agent_lines(pane: Pane) -> None:
    screen = pane.wait_for(lambda s: "EXIT=" in s)
    lines = [line.rstrip() for line in screen.splitlines()]
    assert "EXIT=0" in lines, screen
    assert '→ research(ticker: "NVDA")' in lines
    assert f"  ┆ researcher: {SUB_TEXT}" in lines
    assert '  ↳ [researcher] → get_price(ticker: "NVDA")' in lines
    assert '  ↳ [analyst] → get_price(ticker: "AMD")' in lines
    assert "    ↳ [checker] → verify(price: 181.2)" in lines
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

"""A platform that never answers the cancel, in a real terminal (tmux): Ctrl-C in
``agentnb run`` sends the cancel and waits for it (bounded); a second Ctrl-C while it waits
leaves at once with 130 and one line, never a traceback."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_server import Conn, HostileServer, Request, http_head, sse_head
from tmux_pane import Pane

pytestmark = [
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux"),
]


def json_answer(value: object) -> bytes:
    body = json.dumps(value).encode()
    return http_head("200 OK", {"Content-Type": "application/json"}) + body


async def seekrflow_that_never_cancels(conn: Conn, request: Request) -> None:
    """SeekrFlow's thread, message and stream routes; a run's text every 100 ms, forever; the
    cancel route read and never answered."""
    if request.path == "/v1/threads":
        await conn.send(json_answer({"id": "t1"}))
    elif request.path.endswith("/messages"):
        await conn.send(json_answer({}))
    elif request.path.endswith("/runs/stream"):
        await conn.send(sse_head())
        while True:
            chunk = {"type": "text_delta", "text": "word "}
            frame = {"type": "streaming_chunk", "data": chunk, "meta_data": {"run_id": "r1"}}
            await conn.send(b"data: " + json.dumps(frame).encode() + b"\n\n")
            await asyncio.sleep(0.1)
    elif request.path.endswith("/cancel"):
        await asyncio.sleep(60)


def test_a_second_ctrl_c_while_the_cancel_goes_unanswered_exits_quietly(tmp_path: Path) -> None:
    with HostileServer(seekrflow_that_never_cancels) as srv:
        command = [
            sys.executable, "-m", "agentnb", "run", "writer", "a", "story",
            "--provider", "seekrflow", "--base-url", srv.url, "--no-color",
        ]  # fmt: skip
        env = {
            "AGENTNB_HISTORY": "off",
            "AGENTNB_API_KEY": "sk-test-key-0123456789",
            "TERM": "xterm-256color",
            "PYTHONPATH": os.pathsep.join(sys.path),
            "HOME": str(tmp_path),
        }
        pane = Pane(command, env, name="agentnb-cancel")
        try:
            pane.wait_for(lambda s: "word word" in s)
            pane.tmux("send-keys", "-t", "t", "C-c")
            pane.wait_for(lambda s: any(r.path.endswith("/cancel") for r in srv.requests))
            pane.tmux("send-keys", "-t", "t", "C-c")
            try:
                screen = pane.wait_for(lambda s: "EXIT=" in s)
            except subprocess.CalledProcessError:
                pytest.fail("the terminal closed: agentnb died of the second Ctrl-C (a traceback)")
        finally:
            pane.close()
    lines = [line.rstrip() for line in screen.splitlines()]
    assert "EXIT=130" in lines, screen
    assert "Traceback" not in screen and "KeyboardInterrupt" not in screen, screen
    assert any("cancel" in line and "not" in line for line in lines), screen

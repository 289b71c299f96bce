"""Ctrl-C in ``agentnb run`` in a real terminal (tmux) stops the agent on the platform: the
built-in server's run ends cancelled at the client's request, and the CLI says so and exits
130 (issue 20)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tmux_pane import WAIT, Pane

from agentnb.server import ServerHandle, start_server

pytestmark = [
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux"),
]


@pytest.fixture(scope="module")
def slow_server() -> Iterator[ServerHandle]:
    """A built-in server whose writer streams slowly enough to be stopped mid-answer."""
    handle = start_server(delay_ms=50)
    try:
        yield handle
    finally:
        handle.stop()


def cli_env(server: ServerHandle, home: Path) -> dict[str, str]:
    return {
        "AGENTNB_HISTORY": "off",
        "AGENTNB_API_KEY": server.api_key,
        "TERM": "xterm-256color",
        "PYTHONPATH": os.pathsep.join(sys.path),
        "HOME": str(home),
    }


def writer_runs(server: ServerHandle) -> list[str]:
    return [log.id for log in server.app.state.agentnb.runs.all() if log.agent == "writer"]


def test_ctrl_c_in_agentnb_run_cancels_the_run_on_the_platform(
    slow_server: ServerHandle, tmp_path: Path
) -> None:
    command = [
        sys.executable, "-m", "agentnb", "run", "writer", "a", "long", "story",
        "--provider", "seekrflow-vercel", "--base-url", slow_server.url_for("seekrflow-vercel"),
        "--meta", "paragraphs=40", "--no-color",
    ]  # fmt: skip
    before = set(writer_runs(slow_server))
    pane = Pane(command, cli_env(slow_server, tmp_path), name="agentnb-stop")
    try:
        pane.wait_for(lambda s: "Why stream" in s)  # the first words of the document
        pane.tmux("send-keys", "-t", "t", "C-c")
        screen = pane.wait_for(lambda s: "EXIT=" in s)
    finally:
        pane.close()
    lines = [line.rstrip() for line in screen.splitlines()]
    assert "EXIT=130" in lines, screen
    assert "Traceback" not in screen, screen
    assert "^C" not in screen, "the terminal echoed ^C into a word of the answer"
    assert any("cancelled" in line for line in lines), screen
    started = [run_id for run_id in writer_runs(slow_server) if run_id not in before]
    assert len(started) == 1
    log = slow_server.app.state.agentnb.runs.get(started[0])
    assert log is not None
    deadline = time.monotonic() + WAIT  # the server may still be handling the cancel
    while not (log.status == "cancelled" and log.cancel_requested):
        assert time.monotonic() < deadline, f"the platform was not told to stop: {log.status}"
        time.sleep(0.02)


STARTER = """
import sys, time
import agentnb

url, key = sys.argv[1:3]
client = agentnb.AgentClient("seekrflow-vercel", base_url=url, api_key=key, record=False)
handle = agentnb.ask(
    "writer", "a long story", client=client, display=False, metadata={"paragraphs": "40"}
)
while not (handle.run.text and handle.run.run_id):
    time.sleep(0.02)
print(handle.run.run_id, handle.run.thread_id, flush=True)
time.sleep(600)
"""


def start_and_kill(server: ServerHandle) -> tuple[str, str]:
    """A long writer run started by a process killed mid-run: its run id and thread id."""
    url = server.url_for("seekrflow-vercel")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "AGENTNB_HISTORY": "off"}
    child = subprocess.Popen(
        [sys.executable, "-c", STARTER, url, server.api_key],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline().split()
        assert len(line) == 2, child.communicate(timeout=WAIT)[1]
    finally:
        child.kill()  # SIGKILL: nothing runs at exit, the platform runs on
        child.communicate(timeout=WAIT)
    return line[0], line[1]


def test_ctrl_c_in_agentnb_attach_cancels_the_run_on_the_platform(
    slow_server: ServerHandle, tmp_path: Path
) -> None:
    run_id, thread_id = start_and_kill(slow_server)
    log = slow_server.app.state.agentnb.runs.get(run_id)
    assert log is not None and not log.finished
    command = [
        sys.executable, "-m", "agentnb", "attach", run_id, "--agent", "writer",
        "--thread", thread_id, "--no-color", "--provider", "seekrflow-vercel",
        "--base-url", slow_server.url_for("seekrflow-vercel"),
    ]  # fmt: skip
    pane = Pane(command, cli_env(slow_server, tmp_path), name="agentnb-stop")
    try:
        pane.wait_for(lambda s: "Why stream" in s)
        pane.tmux("send-keys", "-t", "t", "C-c")
        screen = pane.wait_for(lambda s: "EXIT=" in s)
    finally:
        pane.close()
    lines = [line.rstrip() for line in screen.splitlines()]
    assert "EXIT=130" in lines, screen
    assert "Traceback" not in screen, screen
    deadline = time.monotonic() + WAIT
    while not (log.status == "cancelled" and log.cancel_requested):
        assert time.monotonic() < deadline, f"the platform was not told to stop: {log.status}"
        time.sleep(0.02)

"""A run left going by a process killed mid-run (issue 20): a child process starts a long
``writer`` run against the built-in server through ``agentnb.ask`` and is killed with SIGKILL
(nothing runs at exit) once its partial answer is in the history, for the tests that attach
to it again (``agentnb.attach``, ``agentnb attach``). Twelve paragraphs at 25 ms a chunk are
~4.5 s of stream: the kill comes ~1 s in, and an attach from a fresh process on a loaded
machine still finds the run going."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from agentnb_testing import PATIENCE_S, REPO

from agentnb.server import ServerHandle

__all__ = ["start_and_kill"]

STARTER = textwrap.dedent(
    """
    import json, os, sys, time
    import agentnb
    from agentnb.history import HistoryStore

    dialect, settings, key, paragraphs = sys.argv[1:5]
    agentnb.connect(
        dialect, **json.loads(settings), api_key=key, name="far",
        headers={"X-AgentNB-Delay-Ms": "25"},
    )
    handle = agentnb.ask(
        "writer", "write at length", via="far", display=False, metadata={"paragraphs": paragraphs}
    )
    while len(handle.run.text) < 200 or not handle.run.run_id:
        time.sleep(0.02)

    def checkpointed(history):  # the partial answer and the platform's id reached the file
        [row] = [r for r in history.runs(None) if r.local_id == handle.run.local_id] or [None]
        return row is not None and bool(row.answer) and bool(row.run_id)

    with HistoryStore(os.environ["AGENTNB_HISTORY"]) as history:
        while not checkpointed(history):
            time.sleep(0.05)
    print(handle.run.local_id, flush=True)
    time.sleep(600)
    """
)


def start_and_kill(server: ServerHandle, dialect: str, history: Path, paragraphs: int = 12) -> str:
    """Start a long run in a child process, kill it mid-run; the run's local id."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "AGENTNB_HISTORY": str(history)}
    settings = json.dumps(server.client_settings(dialect))
    child = subprocess.Popen(
        [sys.executable, "-c", STARTER, dialect, settings, server.api_key, str(paragraphs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert child.stdout is not None
        local_id = child.stdout.readline().strip()
        assert local_id, child.communicate(timeout=PATIENCE_S)[1]
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=PATIENCE_S)
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()
    return local_id

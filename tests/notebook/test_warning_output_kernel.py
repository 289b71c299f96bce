"""agentnb's warnings in a real kernel's output: a notebook's output and a terminal break a
long line anywhere, even inside a word, so each warning comes in lines of whole words that a
terminal of 80 columns holds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from kernel_session import Session, running_kernel

from agentnb.server import ServerHandle

pytest.importorskip("jupyter_client")

SETUP = """
import agentnb
import agentnb.evals
agentnb.connect("operativus", base_url={url!r}, api_key={key!r}, name="here")
agentnb.evals.experiment("done", "echo", ["What is NVDA at?"], via="here", progress=False)
"""


def test_an_experiment_resumed_with_nothing_left_says_so_as_an_ordinary_output(
    server: ServerHandle, tmp_path: Path
) -> None:
    """Information, not a warning: no red stderr box headed by a file and line, and the
    sentence whole."""
    env = {**os.environ, "AGENTNB_HISTORY": str(tmp_path / "history.sqlite3")}
    with running_kernel(env) as client:
        session = Session(client)
        session.execute(SETUP.format(url=server.url_for("operativus"), key=server.api_key))
        resumed = session.execute('agentnb.evals.experiment("done").resume(progress=False)')
        stderr = [m for m in session.of(resumed, "stream") if m["content"]["name"] == "stderr"]
        shown = [m["content"]["data"]["text/plain"] for m in session.of(resumed, "display_data")]
    assert stderr == []
    assert shown[0] == (
        "agentnb: experiment 'done' has nothing left to run: every question has its run on "
        "every arm (retry_failed=True runs the failed ones again)"
    )  # said before the experiment it resumed is shown

"""agentnb's warnings in a real kernel's output: a notebook's output and a terminal break a
long line anywhere, even inside a word, so each warning comes in lines of whole words that a
terminal of 80 columns holds."""

from __future__ import annotations

import os
import re
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


def test_an_experiment_resumed_with_nothing_left_warns_in_whole_words(
    server: ServerHandle, tmp_path: Path
) -> None:
    env = {**os.environ, "AGENTNB_HISTORY": str(tmp_path / "history.sqlite3")}
    with running_kernel(env) as client:
        session = Session(client)
        session.execute(SETUP.format(url=server.url_for("operativus"), key=server.api_key))
        resumed = session.execute('agentnb.evals.experiment("done").resume(progress=False)')
        said = "".join(
            m["content"]["text"]
            for m in session.of(resumed, "stream")
            if m["content"]["name"] == "stderr"
        )
    lines = said.splitlines()
    assert [line for line in lines if len(line) > 80] == [], said
    words = " ".join(line.strip() for line in lines)
    assert re.search(
        r"UserWarning: agentnb: experiment 'done' has nothing left to run: every question has "
        r"its run on every arm \(retry_failed=True runs the failed ones again\)",
        words,
    ), said

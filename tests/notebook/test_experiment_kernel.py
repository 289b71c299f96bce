"""An experiment in a real kernel, killed mid-way (SIGKILL: nothing runs at exit), resumed by
``agentnb.evals.experiment(name).resume()`` in a new kernel: every question ends answered once, the
runs done before the kill are kept, not run again, and the evaluator scores each run once."""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from agentnb_testing import PATIENCE_S, PROGRAM_PATIENCE_S
from kernel_session import Session, running_kernel

from agentnb.evals._book import ExperimentBook
from agentnb.history import HistoryStore
from agentnb.server import ServerHandle

pytest.importorskip("jupyter_client")

QUESTIONS = 12

SETUP = """
import agentnb
import agentnb.evals
agentnb.connect("operativus", base_url={url!r}, api_key={key!r}, name="far",
                headers={{"X-AgentNB-Delay-Ms": "15"}})

def words(run, example):
    return len((run.answer or "").split())
"""

START = """
questions = [f"Write about stock number {i}" for i in range(12)]
agentnb.evals.experiment("killed", "writer", questions, concurrency=2, via="far", evaluators=[words], progress=False, metadata={"paragraphs": "4"})
"""

RESUME = """
resumed = agentnb.evals.experiment("killed").resume(evaluators=[words], progress=False)
print(json.dumps([run.status for run in resumed]))
"""


def pairs_by_status(history: Path) -> dict[str | None, list[str]]:
    with HistoryStore(history) as store:
        current = ExperimentBook(store).current_runs("killed")
    by_status: dict[str | None, list[str]] = {}
    for pair in current.values():
        by_status.setdefault(pair.status, []).append(pair.local_id)
    return by_status


def test_an_experiment_killed_mid_way_is_resumed_in_a_new_kernel(
    server: ServerHandle, tmp_path: Path
) -> None:
    history = tmp_path / "history.sqlite3"
    env = {**os.environ, "AGENTNB_HISTORY": str(history)}
    setup = SETUP.format(url=server.url_for("operativus"), key=server.api_key)

    with running_kernel(env) as client:
        Session(client).execute(setup)
        client.execute(START)  # not waited for: it is killed
        deadline = time.monotonic() + PATIENCE_S
        while len(pairs_by_status(history).get("completed", [])) < 3:
            assert time.monotonic() < deadline, pairs_by_status(history)
            time.sleep(0.1)
        provisioner = client.parent.provisioner  # the client's parent is its kernel's manager
        os.kill(provisioner.pid, signal.SIGKILL)
        provisioner.process.wait(PATIENCE_S)

    before = pairs_by_status(history)
    done_before = set(before.get("completed", []))
    assert 3 <= len(done_before) < QUESTIONS  # killed mid-way
    assert set(before) - {"completed", "interrupted", None} == set()  # its running runs too

    with running_kernel(env) as client:
        session = Session(client)
        session.execute(setup + "\nimport json")
        statuses = json.loads(session.stdout(session.execute(RESUME, timeout=PROGRAM_PATIENCE_S)))

    assert statuses == ["completed"] * QUESTIONS
    after = pairs_by_status(history)
    assert set(after) == {"completed"} and len(after["completed"]) == QUESTIONS
    assert done_before <= set(after["completed"])  # kept, not run again
    with HistoryStore(history) as store:
        every = store.runs().to_pandas()
        scores = store.scores(after["completed"], history=True)
    completed = every[every["status"] == "completed"]
    assert sorted(completed["message"]) == sorted(
        f"Write about stock number {i}" for i in range(QUESTIONS)
    )  # each question answered once
    assert Counter(score.local_id for score in scores if score.name == "words") == {
        local_id: 1 for local_id in after["completed"]
    }  # each run scored once: before the kill, or by the new kernel

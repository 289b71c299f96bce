"""``agentnb.evals.judge`` on the public API: it grades through a client given as ``client=``
(its run marked as an evaluator's, the graded run's id in its metadata), and called on
agentnb's loop it refuses at once instead of hanging the loop its own run needs."""

from __future__ import annotations

import pytest
from agentnb_testing import PATIENCE_S

from agentnb import AgentClient
from agentnb._core.loop import run_sync
from agentnb._history import RunFilter
from agentnb.evals import judge
from agentnb.history import EVALUATES, HistoryStore


def test_a_judge_given_a_client_grades_and_marks_its_run(client: AgentClient) -> None:
    client.run("echo", "The capital of France is Paris")
    store = client.aio.recorder
    assert isinstance(store, HistoryStore)
    graded = store.runs()[0]
    assert len(store.runs()) == 1
    grader = judge(client=client)
    score, rationale = grader(graded, {"question": "Capital?", "expected": "Paris"}) or (0, "")
    assert score == 1.0 and rationale
    judged = list(store.runs(RunFilter.build(agent="judge")))  # kept apart unless named
    assert [run.metadata.get(EVALUATES) for run in judged] == [graded.local_id]


def test_a_judge_called_on_agentnb_s_loop_refuses_at_once(client: AgentClient) -> None:
    client.run("echo", "Paris")
    store = client.aio.recorder
    assert isinstance(store, HistoryStore)
    grader = judge(client=client)

    async def on_the_loop() -> object:
        return grader(store.runs()[0], {"question": "Capital?", "expected": "Paris"})

    with pytest.raises(RuntimeError, match="await the handle"):
        run_sync(on_the_loop(), PATIENCE_S)

"""Live evaluation (``agentnb.evals.live``): runs on the built-in server scored as they end,
in the background, by code evaluators and a judge on a scripted judge server on 127.0.0.1;
sampled by rate, bounded by what the judge's runs cost; the scores read again from the
history file by a later process."""

from __future__ import annotations

import concurrent.futures
import contextvars
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S, recording_connection, said_on_page
from scripted_judge import JUDGE_MODEL, JUDGE_RUN_COST, scripted_judge

import agentnb
from agentnb._app.front.connections import disconnect
from agentnb.evals import contains, judge, live, tool_called
from agentnb.history import HistoryStore, RunRecord, add_recorder
from agentnb.server import ServerHandle


@pytest.fixture
def via(server: ServerHandle, history: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A connection to the built-in server whose runs go to a default history of the test's
    own (``history``)."""
    with recording_connection(server, history, monkeypatch, "live") as name:
        yield name


@pytest.fixture
def judge_via() -> Iterator[tuple[str, Any]]:
    name = f"judge_{uuid.uuid4().hex[:8]}"
    with scripted_judge(name) as app:
        yield name, app
    disconnect(name)


def ask(agent: str, question: str, via: str) -> agentnb.Run:
    return agentnb.ask(agent, question, via=via, display=False).wait()


def scores_in(history: Path) -> dict[str, dict[str, Any]]:
    """Each run's current scores by its question, as a later process reads the file."""
    with HistoryStore(history) as later:
        found = later.scores(history=False)
        questions = {run.local_id: run.message for run in later.runs()}  # no judge's run
    by_question: dict[str, dict[str, Any]] = {}
    for score in found:
        assert score.local_id in questions, "a judge's own run is never scored"
        by_question.setdefault(questions[score.local_id], {})[score.name] = score.value
    return by_question


def test_each_run_through_the_connection_is_scored_as_it_ends_judge_included(
    via: str, judge_via: tuple[str, Any], history: Path
) -> None:
    judge_name, judge_app = judge_via
    judge_app.held.clear()  # the judge answers only when let: the run must not wait for it
    with live(
        [tool_called("get_stock_price"), judge(JUDGE_MODEL, name="judged", via=judge_name)],
        via=via,
    ) as watching:
        run = ask("finance_agent", "What is NVDA trading at?", via)
        assert run.status == "completed"  # ended and answered while its judge is held
        assert watching.scored == 0
        judge_app.held.set()
        watching.wait(PATIENCE_S)
        ask("finance_agent", "What is AAPL trading at?", via)
    assert scores_in(history) == {
        "What is NVDA trading at?": {"called_get_stock_price": True, "judged": 0.75},
        "What is AAPL trading at?": {"called_get_stock_price": True, "judged": 0.75},
    }
    assert len(judge_app.asked) == 2
    assert "What is NVDA trading at?" in judge_app.asked[0]
    assert (watching.scored, watching.spent) == (2, pytest.approx(2 * JUDGE_RUN_COST))
    assert "2 scored" in repr(watching) and "stopped" in repr(watching)
    ask("echo", "after the end", via)  # stopped: no longer scored
    assert "after the end" not in scores_in(history)


def test_no_run_is_scored_once_the_evaluation_spent_its_bound(
    via: str, judge_via: tuple[str, Any], history: Path
) -> None:
    judge_name, judge_app = judge_via
    bound = 1.5 * JUDGE_RUN_COST  # the second judge run passes it
    with live([judge(JUDGE_MODEL, name="judged", via=judge_name)], via=via, max_cost=bound) as w:
        for ticker in ("NVDA", "AAPL", "MSFT"):
            ask("finance_agent", f"What is {ticker} trading at?", via)
            w.wait(PATIENCE_S)
    assert (w.scored, w.over_budget) == (2, 1)
    assert w.spent == pytest.approx(2 * JUDGE_RUN_COST)
    assert len(judge_app.asked) == 2
    assert sorted(scores_in(history)) == ["What is AAPL trading at?", "What is NVDA trading at?"]


def test_a_sample_scores_a_share_of_the_runs_chosen_by_their_id(via: str, history: Path) -> None:
    def said(run: RunRecord, example: dict[str, Any]) -> bool:
        return bool(run.text)

    with live([said], via=via, sample=0.5) as watching:
        for n in range(20):
            ask("echo", f"run {n}", via)
    scored = scores_in(history)
    assert watching.scored + watching.unsampled == 20
    assert 0 < watching.scored < 20
    assert len(scored) == watching.scored
    assert all(scores == {"said": True} for scores in scored.values())


def test_without_via_every_connection_s_runs_are_scored_but_failed_and_judge_runs(
    via: str, server: ServerHandle, judge_via: tuple[str, Any], history: Path
) -> None:
    judge_name, judge_app = judge_via
    other = f"other_{uuid.uuid4().hex[:8]}"
    agentnb.connect("openai", base_url=server.url_for("openai"), api_key=server.api_key,
                    name=other)  # fmt: skip
    try:
        with live([contains]):  # no expected answer: contains gives no score
            ask("echo", "one", via)
            ask("echo", "two", other)
        looked_up = tool_called("get_stock_price", name="looked_up")
        graded = judge(JUDGE_MODEL, name="judged", via=judge_name)
        with live([looked_up, graded]) as watching:
            ask("echo", "three", via)
            ask("echo", "four", other)
            with pytest.raises(agentnb.AgentNBError):
                ask("no_such_agent", "five", via)
    finally:
        disconnect(other)
    assert scores_in(history) == {
        "three": {"looked_up": False, "judged": 0.75},
        "four": {"looked_up": False, "judged": 0.75},
    }
    assert (watching.scored, len(judge_app.asked)) == (2, 2)  # the judge's runs: not judged


def test_live_refuses_what_it_cannot_do(via: str) -> None:
    with pytest.raises(agentnb.ConfigurationError, match="a list of evaluators"):
        live(contains)  # type: ignore[arg-type]
    with pytest.raises(agentnb.ConfigurationError, match="one or more evaluators"):
        live([])
    with pytest.raises(agentnb.ConfigurationError, match=r"> 0 and ≤ 1, not 0"):
        live([contains], sample=0)
    with pytest.raises(agentnb.ConfigurationError, match=r"> 0 and ≤ 1, not 1.5"):
        live([contains], sample=1.5)
    with pytest.raises(agentnb.ConfigurationError, match="finite number ≥ 0, not -1"):
        live([contains], max_cost=-1)
    with pytest.raises(agentnb.ConfigurationError, match="unknown connection 'nowhere'"):
        live([contains], via="nowhere")
    with pytest.raises(agentnb.ConfigurationError, match=r"has none usable \('<lambda>'\)"):
        live([lambda run, example: True])
    with pytest.raises(agentnb.ConfigurationError, match="two evaluators share a name"):
        live([contains, contains])
    with pytest.raises(agentnb.ConfigurationError, match=r"a function fn\(run, example\), not int"):
        live([contains, 3])  # type: ignore[list-item]


def test_only_a_recorder_can_be_added() -> None:
    with pytest.raises(TypeError, match="has no record_start"):
        add_recorder(object())  # type: ignore[arg-type]


def test_an_evaluator_asking_the_watched_connection_is_not_scored_and_its_cost_counts(
    judge_via: tuple[str, Any], history: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An evaluator that asks an agent on the very connection being watched: its own runs
    are the evaluation's (skipped, their cost counted against ``max_cost``), never scored
    again (that would feed itself: each score asking for one more)."""
    monkeypatch.setenv("AGENTNB_HISTORY", str(history))
    judge_name, judge_app = judge_via
    asked_back: list[str] = []

    def asks_again(run: RunRecord, example: dict[str, Any]) -> bool:
        answer = agentnb.ask(JUDGE_MODEL, f"grade: {run.message}", via=judge_name, display=False)
        asked_back.append(answer.wait().text)
        return True

    with live([asks_again], via=judge_name, max_cost=0.5 * JUDGE_RUN_COST) as watching:
        ask(JUDGE_MODEL, "first", judge_name)
        watching.wait(PATIENCE_S)
        ask(JUDGE_MODEL, "second", judge_name)  # the first's evaluator spent the bound
        watching.wait(PATIENCE_S)
    assert len(asked_back) == 1
    assert judge_app.asked == ["first", "grade: first", "second"]
    assert (watching.scored, watching.over_budget) == (1, 1)
    assert watching.spent == pytest.approx(JUDGE_RUN_COST)  # the evaluator's run, counted


def test_an_evaluator_asking_from_threads_given_its_context_is_not_scored_either(
    judge_via: tuple[str, Any], history: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An evaluator that asks two judges at once from a thread pool of its own, each task run
    in a copy of the body's context (a new thread starts with an empty one, and the
    evaluator's runs are known by it): their runs are the evaluation's, never scored, and
    their cost counts."""
    said_on_page(
        "analysis.md",
        "A run an evaluator starts in a thread of its own is known as the evaluator's only when "
        "the thread runs it in a copy of the body's context "
        "(`pool.submit(contextvars.copy_context().run, fn, ...)`): start runs in the "
        "evaluator's body, or hand them its context.",
    )
    monkeypatch.setenv("AGENTNB_HISTORY", str(history))
    judge_name, judge_app = judge_via

    def grade(prompt: str) -> str:
        return agentnb.ask(JUDGE_MODEL, prompt, via=judge_name, display=False).wait().text

    def two_judges(run: RunRecord, example: dict[str, Any]) -> bool:
        prompts = [f"grade: {run.message}", f"check: {run.message}"]
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            asked = [pool.submit(contextvars.copy_context().run, grade, p) for p in prompts]
            return all(future.result() for future in asked)

    with live([two_judges], via=judge_name) as watching:
        ask(JUDGE_MODEL, "first", judge_name)
        watching.wait(PATIENCE_S)
    assert sorted(judge_app.asked) == ["check: first", "first", "grade: first"]
    assert watching.scored == 1
    assert watching.spent == pytest.approx(2 * JUDGE_RUN_COST)

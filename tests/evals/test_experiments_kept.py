"""Experiments kept in the history: ``evals.experiment(name, agents, dataset, evaluators=)`` against the
built-in server, reopened with ``evals.experiment(name)``, listed, evaluated again, extended,
compared; evaluators that raise; a judge agent; questions refused by a rate limit."""

from __future__ import annotations

import signal
import threading
from typing import Any

import pandas as pd
import pytest

import agentnb
from agentnb import evals, runs
from agentnb._app.many.batch_runs import batch
from agentnb._display.summary_table import table
from agentnb._history import RunRecord, close_default_stores, default_store
from agentnb.evals import judge
from agentnb.server import ServerHandle

DATASET = [
    {"id": "nvda", "question": "What is NVDA trading at?", "expected": "NVDA", "topic": "chips"},
    {"id": "aapl", "question": "What is AAPL trading at?", "expected": "AAPL", "topic": "phones"},
    {"id": "msft", "question": "How is MSFT doing?", "expected": "MSFT", "topic": "software"},
]


def names_ticker(run: RunRecord, example: dict[str, Any]) -> bool:
    return example["expected"] in (run.answer or "")


def answer_size(run: RunRecord, example: dict[str, Any]) -> dict[str, Any]:
    return {"words": len((run.answer or "").split()), "kind": "long" if run.answer else "none"}


def explodes_on_msft(run: RunRecord, example: dict[str, Any]) -> float:
    if example["id"] == "msft":
        raise ValueError("cannot grade MSFT")
    return 1.0


def test_an_experiment_is_kept_scored_and_reopened(connection: str) -> None:
    result = evals.experiment(
        "tickers",
        ["finance_agent", "echo"],
        pd.DataFrame(DATASET),
        via=connection,
        progress=False,
        evaluators=[names_ticker, answer_size, explodes_on_msft],
    ).runs()
    assert [(r.message, r.agent) for r in result] == [
        (row["question"], agent) for row in DATASET for agent in ("finance_agent", "echo")
    ]
    assert all(r.status == "completed" for r in result)
    close_default_stores()  # a later kernel: only the file is left

    experiment = evals.experiment("tickers")
    assert experiment.agents == ["finance_agent", "echo"]
    frame = experiment.to_pandas()
    assert list(frame[["id", "agent"]].itertuples(index=False, name=None)) == [
        (row["id"], agent) for row in DATASET for agent in ("finance_agent", "echo")
    ]
    assert list(frame["expected"]) == ["NVDA", "NVDA", "AAPL", "AAPL", "MSFT", "MSFT"]
    assert list(frame["topic"]) == ["chips", "chips", "phones", "phones", "software", "software"]
    assert frame["score.names_ticker"].tolist() == [True] * 6  # echo repeats the question
    assert (frame["score.words"] > 0).all() and set(frame["score.kind"]) == {"long"}
    assert frame["cost_usd"].notna().tolist() == [True, False] * 3  # echo's model is unpriced
    assert frame["duration"].notna().all() and frame["answer"].str.len().gt(0).all()

    # The evaluator that raised: the runs are kept, the table says it failed and why, and
    # no mean counts those runs.
    failed = frame["evaluator_error.explodes_on_msft"]
    assert failed.notna().tolist() == [False, False, False, False, True, True]
    assert failed.iloc[4] == "ValueError: cannot grade MSFT"
    assert frame["status"].eq("completed").all()
    assert frame["score.explodes_on_msft"].isna().tolist() == [False] * 4 + [True] * 2
    listed = evals.experiments()
    assert listed.loc["tickers", "questions"] == 3 and listed.loc["tickers", "runs"] == 6
    assert listed.loc["tickers", "agents"] == "finance_agent, echo"
    assert listed.loc["tickers", "arms"] == 2, "two agents, no variants: two arms"
    assert listed.loc["tickers", "score.explodes_on_msft"] == 1.0
    assert listed.loc["tickers", "score.names_ticker"] == 1.0
    assert listed.loc["tickers", "cost"] == pytest.approx(frame["cost_usd"].sum())
    assert listed.loc["tickers", ["unpriced", "no_usage"]].tolist() == [3, 0]  # echo's tokens
    shown = table(listed, "all")  # a bool score's mean is the share of True: a percent
    assert shown is not None
    names = [column.about.split(": ")[0] for column in shown.columns]
    cells = dict(zip(names, shown.rows[0], strict=True))
    assert (cells["score.names_ticker"], cells["score.explodes_on_msft"]) == ("100.0%", "1")
    assert cells["arms"] == "2" and "variants" not in names
    assert "100.0%" in repr(listed) and listed.to_pandas()["score.names_ticker"].dtype == float

    scores = default_store().scores(list(frame["local_id"]))  # type: ignore[union-attr]
    assert {(s.name, s.source, s.author) for s in scores if s.name == "names_ticker"} == {
        ("names_ticker", "code", "names_ticker")
    }

    grid = experiment._repr_html_()
    assert "What is NVDA trading at?" in grid and "finance_agent" in grid
    assert "explodes_on_msft failed: ValueError: cannot grade MSFT" in grid
    assert "<script" not in grid


def test_a_name_used_again_goes_on_or_says_what_differs(connection: str) -> None:
    first = evals.experiment("grow", "echo", DATASET[:2], via=connection, progress=False).runs()
    again = evals.experiment("grow", "echo", DATASET[:2], via=connection, progress=False).runs()
    assert again.local_ids == first.local_ids  # nothing left to do: the same runs
    grown = evals.experiment("grow", "echo", DATASET, via=connection, progress=False).runs()
    assert grown.local_ids[:2] == first.local_ids and len(grown) == 3
    assert len(runs()) == 3  # only the new question ran

    with pytest.raises(agentnb.ConfigurationError, match="it ran echo; this run has writer"):
        evals.experiment("grow", "writer", DATASET, via=connection, progress=False)
    with pytest.raises(agentnb.ConfigurationError, match="run options differ"):
        evals.experiment("grow", "echo", DATASET, via=connection, progress=False, temperature=1)
    other = [{**DATASET[0], "expected": "nvidia"}, *DATASET[1:]]
    with pytest.raises(agentnb.ConfigurationError, match="another dataset: its question 0"):
        evals.experiment("grow", "echo", other, via=connection, progress=False)
    with pytest.raises(agentnb.ConfigurationError, match="with 3 questions; this dataset has 2"):
        evals.experiment("grow", "echo", DATASET[:2], via=connection, progress=False)
    assert len(runs()) == 3  # refused before anything ran

    evals.experiment("grow").delete()  # a fresh start under the same name
    fresh = evals.experiment("grow", "writer", DATASET[:1], via=connection, progress=False).runs()
    assert [r.agent for r in fresh] == ["writer"] and len(runs()) == 4  # old runs kept
    with pytest.raises(agentnb.ConfigurationError, match=r"no experiment 'gone'.*'grow'"):
        evals.experiment("gone")


def test_evaluated_again_later_and_compared(connection: str) -> None:
    dataset = [
        {"question": f"What is {ticker} trading at?", "expected": ticker}
        for ticker in ("NVDA", "AAPL", "MSFT", "GOOGL", "AMZN", "TSLA")
    ]
    evals.experiment("ab", ["finance_agent", "echo"], dataset, via=connection, progress=False)
    experiment = evals.experiment("ab")
    with pytest.raises(agentnb.ConfigurationError, match="no numeric or bool score"):
        experiment.compare("finance_agent", "echo")

    def longer(run: RunRecord, example: dict[str, Any]) -> float:
        return float(len(run.answer or ""))

    experiment.evaluate(longer)
    frame = experiment.to_pandas()
    assert frame["score.longer"].tolist() == frame["answer"].str.len().astype(float).tolist()

    comparison = experiment.compare("finance_agent", "echo")
    differences = comparison.to_pandas()["difference"]
    a = frame[frame.agent == "finance_agent"]["score.longer"].to_numpy()
    b = frame[frame.agent == "echo"]["score.longer"].to_numpy()
    assert differences.tolist() == (a - b).tolist()
    assert comparison.mean_difference == pytest.approx((a - b).mean())
    low, high = comparison.interval
    assert low <= comparison.mean_difference <= high
    assert comparison.interval == experiment.compare("finance_agent", "echo").interval  # seeded
    decided = int((a != b).sum())
    assert comparison.wins == int((a > b).sum()) and comparison.win_rate == (
        pytest.approx((a > b).sum() / decided) if decided else None
    )
    assert comparison.cost_ratio is None  # echo's cost is unknown
    durations = frame.groupby("agent")["duration"].median()
    assert comparison.latency_ratio == pytest.approx(durations["finance_agent"] / durations["echo"])
    assert "win rate" in comparison._repr_html_() and "win rate" in repr(comparison)
    with pytest.raises(agentnb.ConfigurationError, match="no arm 'writer'"):
        experiment.compare("writer", "echo")

    experiment.evaluate(longer)  # again: the latest score is the current one
    history = default_store().scores(list(frame["local_id"]), history=True)  # type: ignore[union-attr]
    assert sum(score.name == "longer" for score in history) == 2 * len(frame)

    def named(run: RunRecord, example: dict[str, Any]) -> bool:
        return example["expected"] in (run.answer or "")

    experiment.evaluate(named)
    close_default_stores()  # a later kernel
    each = evals.experiment("ab").compare("finance_agent", "echo")  # one block per score
    assert isinstance(each, evals.Comparisons) and [c.score for c in each] == ["longer", "named"]
    blocks = repr(each).split("\n\n")
    assert [block.splitlines()[0] for block in blocks] == [
        "ab: finance_agent (A) against echo (B) on score.longer",
        "ab: finance_agent (A) against echo (B) on score.named",
    ]
    experiment = evals.experiment("ab")
    shared = experiment.compare("finance_agent", "echo", score="named")
    low, high = shared.interval  # a bool score's difference reads as a share, as summary's mean
    spread = "no spread" if low == high else f"95% interval {low * 100:+.1f}%"
    assert f"{shared.mean_difference * 100:+.1f}% ({spread}" in repr(shared)
    assert experiment.compare("finance_agent", "echo", score="longer").share is False


def test_a_judge_agent_grades_against_the_expected_answer(connection: str) -> None:
    dataset = [
        {"question": "What is NVDA trading at?", "expected": "NVDA trades at about $1,000"},
        {"question": "Say hello", "expected": "hello world"},
    ]
    grader = judge(via=connection)
    evals.experiment("judged", "echo", dataset, via=connection, progress=False, evaluators=[grader])
    frame = evals.experiment("judged").to_pandas()
    # The echo says the question back: the judge gives a parrot nothing, though it holds
    # words of each expected answer.
    assert frame["score.judge"].tolist() == [0.0, 0.0]
    scores = default_store().scores(list(frame["local_id"]))  # type: ignore[union-attr]
    judged = {score.local_id: score for score in scores}
    assert all(score.source == "agent" for score in judged.values())
    assert "says back words of the question" in (judged[frame["local_id"][1]].comment or "")
    close_default_stores()  # a later kernel: the user's figures are as they were
    assert {run.agent for run in runs()} == {"echo"}
    judged_runs = runs(agent="judge")  # naming the agent brings its evaluator runs back
    assert {run.metadata["evaluates"] for run in judged_runs} == set(frame["local_id"])
    summary = agentnb.summary()
    assert list(summary.index) == ["echo"]
    assert "evaluators' runs left out (2 runs" in repr(summary)
    assert list(agentnb.summary(agent="judge").index) == ["judge"]
    listed = evals.experiments().to_pandas().loc["judged"]
    assert (listed["evaluation_runs"], listed["score.judge_n"]) == (2, 2)
    assert listed["evaluation_cost"] == pytest.approx(sum(r.cost_usd for r in judged_runs))
    shown = table(evals.experiments(), "all")
    assert shown is not None
    cells = dict(zip([c.about.split(": ")[0] for c in shown.columns], shown.rows[0], strict=True))
    assert cells["evaluation_cost"].startswith("$"), "formatted as the cost beside it is"


def test_evaluators_are_checked_before_anything_runs(connection: str) -> None:
    with pytest.raises(agentnb.ConfigurationError, match="write it with def"):
        evals.experiment(
            "x", "echo", DATASET, via=connection, progress=False, evaluators=[lambda r, e: 1]
        )
    with pytest.raises(agentnb.ConfigurationError, match="a list of functions"):
        evals.experiment(
            "x", "echo", DATASET, via=connection, progress=False, evaluators=names_ticker
        )  # type: ignore[arg-type]
    with pytest.raises(
        agentnb.ConfigurationError, match=r"no 'question' key; its keys: \['prompt'\]"
    ):
        batch("echo", [{"prompt": "hi"}], via=connection, progress=False)
    with pytest.raises(agentnb.ConfigurationError, match="needs a 'question' that is a str"):
        batch("echo", [{"question": 3}], via=connection, progress=False)
    with pytest.raises(agentnb.ConfigurationError, match="needs a 'question' column"):
        batch("echo", pd.DataFrame({"prompt": ["hi"]}), via=connection, progress=False)
    assert len(runs()) == 0


def test_an_evaluator_returning_no_score_is_a_failure_kept_with_the_run(connection: str) -> None:
    def returns_a_list(run: RunRecord, example: dict[str, Any]) -> Any:
        return [1, 2]

    evals.experiment("odd", "echo", DATASET[:1], via=connection, progress=False, evaluators=[returns_a_list])  # fmt: skip
    frame = evals.experiment("odd").to_pandas()
    assert frame["status"].tolist() == ["completed"]
    assert "a score is a number, a bool or a label" in frame["evaluator_error.returns_a_list"][0]


def test_a_stopped_experiment_is_resumed(server: ServerHandle, connection: str) -> None:
    """A Stop (the kernel's interrupt) mid-experiment: the runs stopped end cancelled and
    stay in the history; resume() runs them, and the questions done before are kept."""
    slow = f"{connection}_slow"
    agentnb.connect(
        "operativus",
        base_url=server.url_for("operativus"),
        api_key=server.api_key,
        name=slow,
        headers={"X-AgentNB-Delay-Ms": "20"},
    )
    questions = [f"Write about stock {i}" for i in range(8)]
    main = threading.main_thread().ident or 0

    def stop_after_the_first(run: RunRecord, example: dict[str, Any]) -> None:
        if example["id"] == "0":  # the first question's run has ended: press Stop
            signal.pthread_kill(main, signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        evals.experiment(
            "stopped",
            "writer",
            questions,
            concurrency=1,
            via=slow,
            progress=False,
            evaluators=[stop_after_the_first],
            metadata={"paragraphs": "6"},
        )
    stopped = evals.experiment("stopped").to_pandas()
    done = set(stopped.loc[stopped["status"] == "completed", "local_id"])
    assert 1 <= len(done) < len(questions)
    assert set(stopped["status"].dropna()) <= {"completed", "cancelled"}

    resumed = evals.experiment("stopped").resume(progress=False)
    assert [run.status for run in resumed] == ["completed"] * len(questions)
    assert done <= set(resumed.local_ids)
    assert "cancelled" in set(runs().to_pandas()["status"])  # the stopped runs are kept


def test_the_demo_judge_gives_nothing_to_an_answer_that_parrots_the_question() -> None:
    from agentnb.server.agents._judge_agent import grade

    question = "What is NVDA trading at?"
    parroted = grade("NVDA trades at $182.50", "What is NVDA trading at?", question)
    assert parroted["score"] == 0.0 and "says back words of the question" in str(parroted)
    answered = grade("NVDA trades at $182.50", "NVDA trades at $182.50 today.", question)
    assert answered["score"] == 1.0

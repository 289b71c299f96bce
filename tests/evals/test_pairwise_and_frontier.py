"""A pairwise judge over two arms of an experiment on the built-in server (both orders asked;
a verdict only when both agree; a judge answering neither, both or garbage a tie counted as
no verdict; the verdicts against a person's preference), and the cost frontier's table and
plot."""

from __future__ import annotations

import html
import uuid
from collections.abc import Mapping
from typing import Any

import pytest

import agentnb
from agentnb import ConfigurationError
from agentnb.evals import Experiment, experiment, pairwise, pairwise_judge
from agentnb.evals._frontier import frontier_of
from agentnb.evals._pairwise import read_preference

QUESTIONS = ["What is NVDA trading at?", "Compare AAPL and MSFT", "hello", "TSLA price?"]


@pytest.fixture
def exp(connection: str) -> Experiment:
    def long_answer(run: Any, example: dict[str, Any]) -> bool:
        return len(run.answer or "") > 60

    return experiment(
        f"pairs_{uuid.uuid4().hex[:6]}",
        ["finance_agent", "echo"],
        QUESTIONS,
        via=connection,
        evaluators=[long_answer],
        progress=False,
    )


def longer(example: Mapping[str, Any], first: Mapping[str, Any], second: Mapping[str, Any]) -> str:
    """A judge with no position bias: the longer answer (a tie when they are as long)."""
    a, b = len(first["answer"]), len(second["answer"])
    return "A" if a > b else "B" if b > a else "tie"


def test_a_consistent_judge_decides_and_its_verdicts_are_scores(exp: Experiment) -> None:
    table = exp.to_pandas()
    answers = {(r["message"], r["arm"]): len(r["answer"]) for _, r in table.iterrows()}
    expected = ["a" if answers[(q, "finance_agent")] > answers[(q, "echo")] else "b"
                for q in QUESTIONS]  # fmt: skip
    judged = pairwise(exp, a="finance_agent", b="echo", judge=longer)
    assert [v.verdict for v in judged.verdicts] == expected
    assert judged.wins == expected.count("a") and judged.losses == expected.count("b")
    assert judged.ties == judged.no_verdict == 0
    low, high = judged.interval or (None, None)
    assert low is not None and high is not None and low <= (judged.win_rate or 0) <= high
    kept = exp.to_pandas().set_index(["message", "arm"])["score.pairwise"]
    assert [kept[(q, "finance_agent")] for q in QUESTIONS] == expected
    # against a person who prefers the same on all but one question
    for question, verdict in zip(QUESTIONS, expected, strict=True):
        person = verdict if question != "hello" else {"a": "b", "b": "a"}[verdict]
        agentnb.score(exp.run(question, "finance_agent"), "prefer", person)
    agreed = judged.agreement("prefer")
    assert agreed.n == 4 and agreed.agreement == pytest.approx(0.75)


@pytest.mark.parametrize("said", ["neither", "both", "A and B", None, 42, "raise"])
def test_a_judge_answering_no_side_is_a_tie_of_no_verdict(exp: Experiment, said: object) -> None:
    def judge(example: Any, first: Any, second: Any) -> object:
        if said == "raise":
            raise RuntimeError("the judge broke")
        return said

    judged = pairwise(exp, "finance_agent", "echo", judge)
    assert (judged.wins, judged.losses, judged.ties, judged.no_verdict) == (0, 0, 4, 4)
    answered = (
        "nothing: it raised RuntimeError('the judge broke')" if said == "raise" else repr(said)
    )
    assert judged.win_rate is None and f"no verdict: the judge answered {answered}" in repr(judged)


def test_the_built_in_judge_decides_a_pair_offline(exp: Experiment, connection: str) -> None:
    """The built-in server's ``judge`` answers pairwise_judge()'s prompt: the echo agent only
    says the question back, so the finance agent wins every question, in both orders."""
    judged = pairwise(exp, "finance_agent", "echo", pairwise_judge("judge", via=connection))
    assert (judged.wins, judged.losses, judged.no_verdict) == (4, 0, 0), repr(judged)


def test_a_judge_that_always_prefers_the_first_position_gives_ties(exp: Experiment) -> None:
    judged = pairwise(exp, "finance_agent", "echo", lambda example, first, second: "A")
    assert (judged.wins, judged.losses, judged.ties, judged.no_verdict) == (0, 0, 4, 0)
    assert "the orders disagree: A then A" in repr(judged)


@pytest.mark.parametrize(
    ("text", "side"),
    [
        ('{"winner": "A", "rationale": "x"}', "A"),
        ('Here: {"winner": "tie"}', "tie"),
        ('{"winner": "both"}', None),
        ('{"winner": "C"}', None),
        ("A", None),
        ("{not json}", None),
        ('["A"]', None),
    ],
)
def test_a_judges_answer_is_read_as_a_side_or_none(text: str, side: str | None) -> None:
    assert read_preference(text) == side


def test_pairwise_refuses_one_arm_twice_and_a_judge_that_is_none(exp: Experiment) -> None:
    with pytest.raises(ConfigurationError, match="two different arms"):
        pairwise(exp, "echo", "echo", longer)
    with pytest.raises(ConfigurationError, match="judge= is a pairwise judge"):
        pairwise(exp, "finance_agent", "echo", "judge")  # type: ignore[arg-type]


def test_the_frontier_table_and_plot(exp: Experiment) -> None:
    import matplotlib

    matplotlib.use("Agg")
    frontier = exp.frontier(score="long_answer", cost="duration")
    points = {p.arm: p for p in frontier.points}
    assert set(points) == {"finance_agent", "echo"}
    assert all(
        p.questions == 4 and 0 <= p.low <= p.pass_rate <= p.high <= 1 for p in points.values()
    )
    assert all(p.mean_duration is not None and p.mean_cost == p.mean_duration
               for p in points.values())  # fmt: skip
    assert not all(p.dominated for p in points.values())  # someone is on the frontier
    assert "pass rate (long_answer)" in repr(frontier)  # checked: not a rate
    assert "<table" in frontier._repr_html_()
    ax = frontier.plot()
    assert {t.get_text() for t in ax.texts} == {
        f"{p.arm} (dominated)" if p.dominated else p.arm for p in frontier.points
    }
    assert ax.get_ylabel() == "pass rate (score.long_answer)"
    assert "frontier" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert list(frontier.to_pandas().index) == ["finance_agent", "echo"]
    with pytest.raises(ConfigurationError, match=r"no score 'nope'.*long_answer"):
        exp.frontier(score="nope")
    with pytest.raises(ConfigurationError, match="cost is one of"):
        exp.frontier(score="long_answer", cost="dollars")


def test_a_frontier_without_costs_says_so_and_claims_no_dominance() -> None:
    """Arms that report no cost (every ACP agent): nothing is placed on a cost axis, no arm is
    called dominated on a cost nobody measured, and the table and the plot say what can be
    drawn instead."""
    import matplotlib

    matplotlib.use("Agg")
    rows = [
        {"status": "completed", "score.tests": passed, "cost_usd": None, "duration": 2.0}
        for passed in (True, False, True, True)  # two questions × arms "fixer", "writer"
    ]
    frontier = frontier_of("fix", ["fixer", "writer"], rows, "tests", "cost", 0.95)
    assert [(p.arm, p.pass_rate, p.mean_cost) for p in frontier.points] == [
        ("fixer", 1.0, None),
        ("writer", 0.5, None),
    ]
    assert not any(p.dominated for p in frontier.points)
    said = (
        "no arm has a cost: frontier(cost='duration') or frontier(cost='tokens') draws what was"
        " measured"
    )
    assert said in repr(frontier) and said in html.unescape(frontier._repr_html_())
    assert frontier.to_pandas()["dominated"].isna().all()
    ax = frontier.plot()
    assert [t.get_text() for t in ax.texts] == [said]
    with_costs = frontier_of("fix", ["fixer", "writer"], rows, "tests", "duration", 0.95)
    assert [p.dominated for p in with_costs.points] == [False, True]

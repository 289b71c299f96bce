"""A gate that counts every question, on real experiments against the built-in server: a
candidate whose runs fail is failed on those questions (not judged on the few left); a
question with no score (an evaluator that raised or gave NaN) is named, counted and fails
the gate unless allowed; too few questions are said to be too few, and the command's exit
status for it is its own and settable; a difference with no spread is not significant by
fiat; ``compare`` skips, and names, a score one arm has none of."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import uuid
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S

import agentnb
from agentnb import AgentClient, evals
from agentnb._history import close_default_stores
from agentnb.server import ServerHandle

QUESTIONS = [f"What is ticker number {i} trading at?" for i in range(8)]


def repeats(run: Any, example: dict[str, Any]) -> bool:
    """Whether the answer repeats the question: echo always does, the finance agent never."""
    return example["question"] in (run.answer or "")


def flaky(run: Any, example: dict[str, Any]) -> bool:
    """True, except on the finance agent's first two questions: one raises, one is NaN."""
    if run.agent == "finance_agent" and example["id"] == "0":
        raise ValueError("the grader is down")
    if run.agent == "finance_agent" and example["id"] == "1":
        return math.nan  # type: ignore[return-value]
    return True


def gate_command(*arguments: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "agentnb", "experiments", *arguments]
    return subprocess.run(
        [*command, "--db", os.environ["AGENTNB_HISTORY"]],
        capture_output=True,
        text=True,
        timeout=PATIENCE_S,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "100"},
    )


def test_a_candidate_failing_7_of_8_questions_fails_the_gate(
    connection: str, server: ServerHandle
) -> None:
    kept = evals.dataset("counted", QUESTIONS)
    evals.experiment("healthy", "echo", kept, via=connection, progress=False, evaluators=[repeats])
    fault = f"stream-error=BROKEN;times=7;tag={uuid.uuid4().hex}"  # its first 7 runs fail
    with AgentClient(
        "operativus",
        base_url=server.url_for("operativus"),
        api_key=server.api_key,
        headers={"X-AgentNB-Fault": fault},
        max_retries=0,
    ) as broken:
        ran = evals.experiment(
            "broken", "echo", kept, via=broken, progress=False, evaluators=[repeats], concurrency=1
        )
    assert [run.status for run in ran.runs()].count("failed") == 7
    close_default_stores()  # a later kernel: only the file is left

    verdict = evals.experiment("broken").check(score="repeats")  # baseline: "healthy"
    assert not verdict and verdict.outcome == "fail" and verdict.worse
    assert verdict.comparison.failed == (7, 0) and len(verdict.comparison.questions) == 8
    assert verdict.comparison.losses == 7 and verdict.comparison.ties == 1
    text = verdict.to_text(200)
    assert text.startswith("FAIL: echo significantly worse than echo (healthy)"), text
    assert "echo 7 (each a failed question, counted ✗)" in text, text

    failed = gate_command("broken", "--check", "echo", "--score", "repeats")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert failed.stdout.startswith("FAIL: echo significantly worse"), failed.stdout


def test_a_missing_score_is_named_counted_and_fails_the_gate_unless_allowed(
    connection: str,
) -> None:
    kept = evals.dataset("flaky", QUESTIONS)
    evals.experiment(
        "graded", ["echo", "finance_agent"], kept, via=connection, progress=False,
        evaluators=[flaky],
    )  # fmt: skip
    graded = evals.experiment("graded")

    verdict = graded.check("echo", "finance_agent", score="flaky")
    assert not verdict and verdict.missing == 2 and verdict.outcome == "fail"
    text = verdict.to_text(300)
    assert text.startswith("FAIL: 2 of 8 questions have no score.flaky, more than the 0 allowed"), (
        text
    )
    assert "0 (finance_agent: flaky failed: ValueError: the grader is down)" in text, text
    assert "1 (finance_agent: flaky failed: " in text, text  # NaN: refused as a score
    assert "6 paired, 2 left out" in text, text

    allowed = graded.check("echo", "finance_agent", score="flaky", allow_missing=2)
    assert allowed and allowed.outcome == "pass" and len(allowed.comparison.questions) == 6

    command = ("graded", "--check", "echo", "finance_agent", "--score", "flaky")
    refused = gate_command(*command)
    assert refused.returncode == 1 and "2 of 8 questions have no score.flaky" in refused.stdout
    passed = gate_command(*command, "--allow-missing", "2")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    with pytest.raises(agentnb.ConfigurationError, match="allow_missing is how many questions"):
        graded.check("echo", "finance_agent", score="flaky", allow_missing=-1)


def test_two_questions_are_too_few_to_call_a_difference(connection: str) -> None:
    kept = evals.dataset("two", QUESTIONS[:2])
    evals.experiment(
        "small", ["echo", "finance_agent"], kept, via=connection, progress=False,
        evaluators=[repeats],
    )  # fmt: skip
    small = evals.experiment("small")
    with pytest.raises(agentnb.ConfigurationError) as no_baseline:
        small.check(candidate="finance_agent", score="repeats")  # no earlier experiment
    said = str(no_baseline.value)
    assert "name another arm, baseline first: .check('echo', 'finance_agent', score='repeats')" in (
        said
    )
    assert "or an earlier experiment: .check(agentnb.evals.experiment('NAME'), " in said

    verdict = small.check("echo", "finance_agent", score="repeats")  # the form it named
    assert verdict.outcome == "undecided" and not verdict.decided and not verdict
    assert verdict.to_text(300).startswith(
        "UNDECIDED: 2 questions: too few to call a difference on score.repeats; the gate treats "
        "it as not decided and fails it"
    ), verdict.to_text(300)
    assert "too few to call a difference (at least 6 at 95%)" in verdict.to_text(300)
    assert small.check("echo", "finance_agent", score="repeats", undecided="pass")
    compared = small.compare("finance_agent", "echo", score="repeats")
    assert compared.finding() == "2 questions: too few to call a difference"

    # Two losses of two, the same difference each time: no spread, and no significance.
    decided = small.check("echo", "finance_agent", score="repeats", min_questions=2)
    assert decided.decided and decided.comparison.interval == (-1.0, -1.0)
    assert decided.outcome == "pass" and not decided.worse
    assert "0 wins and 2 losses could be chance: sign test p = 0.5" in decided.to_text(300)

    command = ("small", "--check", "echo", "finance_agent", "--score", "repeats")
    undecided = gate_command(*command)
    assert undecided.returncode == 2, undecided.stdout + undecided.stderr
    assert undecided.stdout.startswith("UNDECIDED: 2 questions: too few")
    assert gate_command(*command, "--undecided-exit", "0").returncode == 0
    assert gate_command(*command, "--min-questions", "2").returncode == 0
    wrong = gate_command(*command, "--min-questions", "0")
    assert wrong.returncode != 0 and "a whole number >= 1" in wrong.stderr


def test_compare_skips_and_names_a_score_one_arm_has_none_of(connection: str) -> None:
    kept = evals.dataset("costs", QUESTIONS[:3])
    evals.experiment(
        "priced", ["finance_agent", "echo"], kept, via=connection, progress=False,
        evaluators=[repeats, evals.max_cost(1.0)],
    )  # fmt: skip
    compared = evals.experiment("priced").compare("finance_agent", "echo")
    assert isinstance(compared, evals.Comparisons)
    assert [c.score for c in compared] == ["repeats"]
    assert compared.skipped == {"max_cost": "echo: 3 not scored"}
    assert "skipped score.max_cost: no question has it for both arms (echo: 3 not scored)" in (
        repr(compared)
    )
    with pytest.raises(agentnb.ConfigurationError, match=r"echo: 3 not scored"):
        evals.experiment("priced").compare("finance_agent", "echo", score="max_cost")

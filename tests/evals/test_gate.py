"""A gate for CI on real experiments against the built-in server: ``exp.check`` fails a
candidate that is significantly worse than its baseline (or not better, when asked) and
passes an equal or better one; its baseline is by default the last experiment on the same
dataset version; ``agentnb experiments NAME --check`` exits 1 on a failed gate."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S

import agentnb
from agentnb import evals
from agentnb._history import close_default_stores

QUESTIONS = [f"What is ticker number {i} trading at?" for i in range(8)]


def repeats(run: Any, example: dict[str, Any]) -> bool:
    """Whether the answer repeats the question: echo always does, the finance agent never."""
    return example["question"] in (run.answer or "")


@pytest.fixture
def gated(connection: str) -> str:
    """``v1``: echo alone; then ``v2``: echo and the finance agent, on the same dataset
    version; both scored with ``repeats``."""
    kept = evals.dataset("gate", QUESTIONS)
    for name, agents in (("v1", "echo"), ("v2", ["echo", "finance_agent"])):
        evals.experiment(name, agents, kept, via=connection, progress=False, evaluators=[repeats])
    close_default_stores()  # a later kernel: only the file is left
    return connection


def test_a_worse_candidate_fails_and_an_equal_or_better_one_passes(gated: str) -> None:
    candidate = evals.experiment("v2")
    worse = candidate.check(candidate="finance_agent", score="repeats")  # baseline: v1
    assert not worse and worse.worse and not worse.passed
    assert worse.comparison.b == "echo (v1)", "the last experiment on the dataset version"
    assert worse.comparison.a == "finance_agent" and worse.comparison.losses == len(QUESTIONS)
    assert repr(worse).startswith("FAIL: finance_agent significantly worse than echo (v1)")

    equal = candidate.check(candidate="echo", score="repeats")
    assert equal and equal.passed and not equal.worse and not equal.better
    assert repr(equal).startswith("PASS: no significant difference")
    assert not candidate.check(candidate="echo", score="repeats", fail_if="not better")

    better = candidate.check("finance_agent", "echo", score="repeats", fail_if="not better")
    assert better and better.better and better.comparison.b == "finance_agent"
    assert candidate.check(evals.experiment("v1"), "echo", score="repeats")


def test_a_gate_without_a_baseline_or_with_a_bad_option_says_so(gated: str) -> None:
    with pytest.raises(agentnb.ConfigurationError, match="no experiment ran on dataset 'gate'"):
        evals.experiment("v1").check(score="repeats")
    with pytest.raises(agentnb.ConfigurationError, match="fail_if is 'worse' or 'not better'"):
        evals.experiment("v2").check(score="repeats", fail_if="slower")  # type: ignore[arg-type]
    with pytest.raises(agentnb.ConfigurationError, match=r"no question has a score\.nope"):
        evals.experiment("v2").check(score="nope")


def test_the_command_exits_1_on_a_failed_gate_and_0_on_a_passed_one(
    gated: str, tmp_path: Path
) -> None:
    history = os.environ["AGENTNB_HISTORY"]

    def gate(*arms: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "agentnb", "experiments", "v2", "--check", *arms]
        return subprocess.run(
            [*command, "--score", "repeats", "--db", history],
            capture_output=True,
            text=True,
            timeout=PATIENCE_S,
            env={**os.environ, "NO_COLOR": "1", "COLUMNS": "100"},
        )

    failed = gate("finance_agent")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert failed.stdout.startswith("FAIL: finance_agent significantly worse than echo (v1)")
    passed = gate("finance_agent", "echo")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert passed.stdout.startswith("PASS: echo significantly better than finance_agent")

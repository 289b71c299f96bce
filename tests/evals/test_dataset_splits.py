"""Dataset splits: a row's ``split`` field carried from a kept dataset into a batch and an
experiment on the built-in server; one split run, evaluated or compared alone; a split that
is not there, or is no name, refused with what the dataset has."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import agentnb
from agentnb import AgentClient, evals
from agentnb._history import close_default_stores
from agentnb.evals import contains
from agentnb.history import HistoryStore, RunRecord

ROWS = [
    {"id": "nvda", "question": "What is NVDA trading at?", "expected": "NVDA", "split": "test"},
    {"question": "What is AAPL trading at?", "expected": "AAPL", "split": "train"},
    {"id": "msft", "question": "What is MSFT trading at?", "expected": "MSFT", "split": "test"},
    {"question": "What is AMD trading at?", "expected": "AMD", "split": "train"},
]


@pytest.fixture
def kept(history: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AGENTNB_HISTORY", str(history))
    yield evals.dataset("tickers", ROWS)
    close_default_stores()


def test_a_batch_runs_one_split_of_a_kept_dataset(client: AgentClient, kept: Any) -> None:
    result = agentnb.batch("echo", kept, client=client, progress=False, split="train")
    assert [run.message for run in result] == [
        "What is AAPL trading at?",
        "What is AMD trading at?",
    ]


def test_an_experiment_on_one_split_hands_its_evaluators_that_split_s_examples(
    client: AgentClient, kept: Any
) -> None:
    seen: list[dict[str, Any]] = []

    def split_seen(run: RunRecord, example: dict[str, Any]) -> bool:
        seen.append(example)
        return True

    ran = evals.experiment(
        "train_only", "echo", kept, via=client, progress=False, split="train",
        evaluators=[split_seen],
    )  # fmt: skip
    assert [run.message for run in ran.runs()] == [
        "What is AAPL trading at?",
        "What is AMD trading at?",
    ]
    assert sorted((e["id"], e["split"]) for e in seen) == [("1", "train"), ("3", "train")]


def test_an_experiment_keeps_each_question_s_split_and_compares_or_scores_one(
    client: AgentClient, kept: Any, history: Path
) -> None:
    evals.experiment(
        "split_arms",
        ["finance_agent", "echo"],
        kept,
        via=client,
        progress=False,
        evaluators=[contains],
    )
    evals.experiment(
        "test_only", ["finance_agent", "echo"], kept, via=client, progress=False, split="test"
    )

    def long_answer(run: RunRecord, example: dict[str, Any]) -> bool:
        return len(run.text) > 40

    with HistoryStore(history) as store:  # a later process
        whole = evals.experiment("split_arms", store=store)
        table = whole.to_pandas()
        assert table[["id", "split"]].drop_duplicates().values.tolist() == [
            ["nvda", "test"], ["1", "train"], ["msft", "test"], ["3", "train"]
        ]  # fmt: skip
        on_test = whole.compare("finance_agent", "echo", score="contains", split="test")
        assert [question[0] for question in on_test.questions] == ["nvda", "msft"]
        on_train = whole.compare("finance_agent", "echo", score="contains", split="train")
        assert [question[0] for question in on_train.questions] == ["1", "3"]
        whole.evaluate(long_answer, split="train")
        scored = whole.to_pandas().set_index(["id", "agent"])["score.long_answer"]
        assert scored.notna().to_dict() == {
            ("nvda", "finance_agent"): False, ("nvda", "echo"): False,
            ("1", "finance_agent"): True, ("1", "echo"): True,
            ("msft", "finance_agent"): False, ("msft", "echo"): False,
            ("3", "finance_agent"): True, ("3", "echo"): True,
        }  # fmt: skip
        with pytest.raises(agentnb.ConfigurationError, match=r"its splits: 'test', 'train'"):
            whole.compare("finance_agent", "echo", score="contains", split="validation")
        only = evals.experiment("test_only", store=store).to_pandas()
        assert evals.experiment("test_only", store=store).split == "test"
        assert whole.split is None  # the whole dataset
        listed = evals.experiments(store=store)["split"]
        assert listed["test_only"] == "test" and pd.isna(listed["split_arms"])
    assert only[["id", "split"]].drop_duplicates().values.tolist() == [
        ["nvda", "test"], ["msft", "test"]
    ]  # fmt: skip
    assert len(only) == 4


def test_a_split_that_is_not_there_or_is_no_name_is_refused(client: AgentClient) -> None:
    with pytest.raises(agentnb.ConfigurationError, match=r"its splits: 'test', 'train'"):
        agentnb.batch("echo", ROWS, client=client, progress=False, split="validation")
    with pytest.raises(agentnb.ConfigurationError, match=r"its splits: none"):
        agentnb.batch("echo", ["hi"], client=client, progress=False, split="test")
    with pytest.raises(agentnb.ConfigurationError, match=r"item 0 .* 'split' names the split"):
        agentnb.batch("echo", [{"question": "hi", "split": 1}], client=client, progress=False)

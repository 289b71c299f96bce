"""The ready evaluators of ``agentnb.evals`` in a batch: each run's scores kept and shown in
the batch's table, read again from the history file by a later process; a bad argument
refused when the evaluator is made."""

from __future__ import annotations

from pathlib import Path

import pytest

import agentnb
from agentnb import AgentClient
from agentnb.evals import (
    contains,
    equals,
    experiment,
    json_schema,
    max_cost,
    max_duration,
    regex,
    tool_called,
)
from agentnb.history import HistoryStore

TICKERS = [
    {"id": "nvda", "question": "What is NVDA trading at?", "expected": "NVDA"},
    {"id": "aapl", "question": "What is AAPL trading at?", "expected": "AAPL"},
]


def test_ready_evaluators_score_a_batch_whose_table_shows_the_scores(
    client: AgentClient, history: Path
) -> None:
    ready = [
        contains,
        equals,
        regex(r"\$\d"),
        json_schema({"type": "object"}),
        tool_called("get_stock_price"),
        tool_called("calculator", status="failed", name="calculator_failed"),
        max_cost(1.0),
        max_duration(600),
    ]
    result = experiment(
        "ready", "finance_agent", TICKERS, via=client, progress=False, evaluators=ready
    ).runs()
    shown = repr(result)
    for heading in ("contains", "regex", "called_get_stock_price", "max_cost"):
        assert heading in shown.splitlines()[1], shown
    with HistoryStore(history) as later:  # a later process
        frame = later.runs().to_pandas().set_index("message")
        why = later.scores([frame.loc["What is NVDA trading at?", "local_id"]])
    row = frame.loc["What is NVDA trading at?"].filter(like="score.").to_dict()
    assert row == {
        "score.calculator_failed": False,
        "score.called_get_stock_price": True,
        "score.contains": True,
        "score.equals": False,
        "score.json_schema": False,  # markdown, not JSON
        "score.max_cost": True,
        "score.max_duration": True,
        "score.regex": True,  # the demo answer quotes a price
    }
    assert [s.comment for s in why if s.name == "json_schema"] == ["the answer is not JSON"]


def test_ready_evaluators_refuse_bad_arguments() -> None:
    with pytest.raises(agentnb.ConfigurationError, match="not a regular expression"):
        regex("(")
    with pytest.raises(agentnb.ConfigurationError, match="max_cost must be a finite number ≥ 0"):
        max_cost(-1)
    with pytest.raises(agentnb.ConfigurationError, match="max_cost must be a finite number ≥ 0"):
        max_cost(float("inf"))
    with pytest.raises(agentnb.ConfigurationError, match="give name="):
        regex("x", name="a b")
    with pytest.raises(agentnb.ConfigurationError, match="a schema is a JSON schema dict"):
        json_schema(None)


class _Unreadable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no message")


def _unreadable_failure(run: object, example: object) -> bool:
    raise _Unreadable


def test_an_evaluator_whose_error_cannot_be_read_is_kept_as_failed_and_the_batch_goes_on(
    client: AgentClient, history: Path
) -> None:
    experiment(
        "unreadable",
        "finance_agent",
        TICKERS,
        via=client,
        progress=False,
        evaluators=[_unreadable_failure, contains],
    )
    with HistoryStore(history) as store:
        table = experiment("unreadable", store=store).to_pandas()
    assert table["score.contains"].tolist() == [True, True]
    assert set(table["evaluator_error._unreadable_failure"]) == {
        "_Unreadable (its message could not be read: RuntimeError)"
    }


def test_tool_called_by_hand_without_the_calls_says_how_to_apply_it(
    client: AgentClient, history: Path
) -> None:
    client.run("finance_agent", "What is NVDA trading at?")
    with HistoryStore(history) as store:
        record = store.runs()[0]
    with pytest.raises(agentnb.ConfigurationError, match=r"agentnb\.evals\.evaluate"):
        tool_called("get_stock_price")(record, {})

"""Experiments: ``batch()`` over several agents or option variants on the same questions,
against the built-in server, the result read by ``summary()`` and ``compare()``."""

from __future__ import annotations

from typing import Any

import pytest

import agentnb
from agentnb import runs
from agentnb._app.many.batch_runs import batch
from agentnb.server import ServerHandle

QUESTIONS = ["What is NVDA trading at?", "What is AAPL trading at?", "How is MSFT doing?"]


def test_two_agents_on_the_same_questions(connection: str) -> None:
    result = batch(["finance_agent", "echo"], QUESTIONS, via=connection, progress=False)
    assert [(r.message, r.agent) for r in result] == [
        (question, agent) for question in QUESTIONS for agent in ("finance_agent", "echo")
    ]
    assert all(r.status == "completed" for r in result)
    assert sorted(runs().local_ids) == sorted(result.local_ids)  # the same rows as runs()

    summary = result.summary()
    assert list(summary.index) == ["echo", "finance_agent"]
    assert list(summary["runs"]) == [3, 3]
    assert list(summary["failure_rate"]) == [0.0, 0.0]
    assert summary.loc["echo", "unpriced"] == 3  # a model genai-prices does not know
    finance = result.to_pandas().query("agent == 'finance_agent'")
    assert summary.loc["finance_agent", "cost_total"] == pytest.approx(finance["cost_usd"].sum())
    assert summary.loc["finance_agent", "cost_total"] > 0

    first = agentnb.compare(result[0:2])
    assert [run.agent for run in first.runs] == ["finance_agent", "echo"]
    assert {run.message for run in first.runs} == {QUESTIONS[0]}
    assert first.runs[1].text == QUESTIONS[0]  # the echo
    assert "NVDA" in first.runs[0].text


def test_variants_of_the_options(connection: str) -> None:
    variants: list[dict[str, Any]] = [{"temperature": 0.0}, {"temperature": 1.0, "max_tokens": 50}]
    result = batch("echo", QUESTIONS[:2], via=connection, progress=False, variants=variants)
    frame = result.to_pandas()
    assert list(frame["message"]) == [QUESTIONS[0], QUESTIONS[0], QUESTIONS[1], QUESTIONS[1]]
    settings = [row for row in result.column("model_settings")]
    assert ['"temperature": 0.0' in s for s in settings] == [True, False, True, False]
    assert ['"max_tokens": 50' in s for s in settings] == [False, True, False, True]


@pytest.mark.parametrize(
    ("agents", "options", "error"),
    [
        ([], {}, "non-empty list of names"),
        (["echo", "echo"], {}, "named twice"),
        (["echo", 3], {}, "non-empty list of names"),
        ("echo", {"variants": {"temperature": 1}}, "variants must be a non-empty list"),
        ("echo", {"variants": []}, "variants must be a non-empty list"),
        ("echo", {"variants": [{"temperature": 9}]}, "temperature"),
        ("echo", {"variants": [{"temprature": 1}]}, "unknown run option"),
    ],
)
def test_a_bad_experiment_is_refused_before_anything_runs(
    connection: str, agents: Any, options: dict[str, Any], error: str
) -> None:
    with pytest.raises(agentnb.ConfigurationError, match=error):
        batch(agents, QUESTIONS, via=connection, progress=False, **options)
    assert len(runs()) == 0


def test_a_variant_the_dialect_cannot_send_is_refused_first(
    server: ServerHandle, connection: str
) -> None:
    client = agentnb.AgentClient("openai", base_url=server.url_for("openai"), api_key="k")
    # The check names the connection the variant was refused on (conn.check).
    with pytest.raises(
        agentnb.ConfigurationError, match=r"connection 'default' .* cannot send user_id"
    ):
        batch("echo", QUESTIONS, client=client, progress=False, variants=[{}, {"user_id": "u"}])
    assert len(runs()) == 0


# ---- time per tool and per sub-agent --------------------------------------------------------
def test_tool_calls_summary_per_tool_and_per_sub_agent(
    server: ServerHandle, connection: str
) -> None:
    # The vercel dialect says which sub-agent made each call (operativus flattens them).
    client = agentnb.AgentClient(
        "vercel", base_url=server.url_for("vercel"), api_key=server.api_key
    )
    result = batch(
        ["research_team", "finance_agent"],
        ["How is NVDA doing?", "What is AAPL at?"],
        client=client,
        progress=False,
    )
    calls = result.tool_calls()
    frame = calls.to_pandas()
    assert frame["agent"].nunique() > 2  # the sub-agents' calls carry their own agent

    per_tool = calls.summary()
    assert per_tool["calls"].sum() == len(frame)
    assert list(per_tool["calls"]) == sorted(per_tool["calls"], reverse=True)
    for name, row in per_tool.iterrows():
        mine = frame[frame["name"] == name]
        assert row["time_total"] == pytest.approx(mine["duration"].sum())
        assert row["duration_p50"] == pytest.approx(mine["duration"].quantile(0.5))
        assert row["runs"] == mine["local_id"].nunique()
        assert row["failed"] == 0 and row["failure_rate"] == 0.0

    per_agent = calls.summary("agent")
    assert set(per_agent.index) == set(frame["agent"].dropna())
    assert per_agent["time_total"].sum() == pytest.approx(frame["duration"].sum())
    both = calls.summary(["agent", "name"])
    assert both["calls"].sum() == len(frame)
    with pytest.raises(agentnb.ConfigurationError, match="cannot summarise tool calls"):
        calls.summary("arguments")


def test_failed_denied_and_unreported_calls_count_as_failures() -> None:
    from agentnb._history import ToolCallRecord
    from agentnb.history import ToolCallHistory

    statuses = ["succeeded", "failed", "denied", "no_result", "running"]
    calls = ToolCallHistory(
        [
            ToolCallRecord(
                "r", f"c{i}", i, "a", "t", status, None, None, None, None, None, 1.0
            ).to_row()
            for i, status in enumerate(statuses)
        ]
    )
    row = calls.summary().loc["t"]
    assert (row["calls"], row["failed"]) == (5, 3)
    assert row["failure_rate"] == pytest.approx(3 / 4)  # the running call has not ended
    assert row["time_total"] == 5.0

"""Usage and cost figures out of their sane range are no figures: a raw-socket server per
dialect reports, in the spellings each dialect reads, a cost of 1e308, NaN, a negative or a
boolean, and 10^30 prompt tokens. The run keeps none of them as a figure, is priced by its
sane figures only (never by 10^30 tokens, never at 1e308 USD), says what it refused
(``run.refused_figures``, in its snapshot; ``cost_reason`` when the cost is missing), and a
summary of such runs is finite."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
from typing import Any

import pytest
from hostile_server import Conn, HostileServer, Request, sse_head

from agentnb._client.async_client import AsyncAgentClient
from agentnb._core.pricing import MAX_COST_USD
from agentnb._core.run import Run
from agentnb._history._records import RunRecord, run_row
from agentnb.history import RunHistory

pytest.importorskip("pandas")

MODEL = "gpt-4o"


USAGE = '"__usage__"'
"""Where the usage's JSON text goes as written (NaN and Infinity are no JSON of json's)."""


def _frames(*events: Any, usage: str) -> bytes:
    return "".join(f"data: {json.dumps(e).replace(USAGE, usage)}\n\n" for e in events).encode()


def _openai(usage: str) -> bytes:
    choice = {"index": 0, "delta": {"content": "hi"}}
    last = {"index": 0, "delta": {}, "finish_reason": "stop"}
    return (
        _frames(
            {"id": "c1", "model": MODEL, "choices": [choice]},
            {"id": "c1", "model": MODEL, "choices": [last], "usage": "__usage__"},
            usage=usage,
        )
        + b"data: [DONE]\n\n"
    )


def _responses(usage: str) -> bytes:
    created = {"id": "resp_1", "status": "in_progress", "model": MODEL, "output": []}
    text = {"type": "output_text", "text": "hi", "annotations": []}
    message = {"id": "m1", "type": "message", "role": "assistant", "status": "completed",
               "content": [text]}  # fmt: skip
    done = {**created, "status": "completed", "output": [message], "usage": "__usage__"}
    return _frames(
        {"type": "response.created", "response": created, "sequence_number": 0},
        {"type": "response.output_text.delta", "item_id": "m1", "output_index": 0,
         "content_index": 0, "delta": "hi", "sequence_number": 1},
        {"type": "response.completed", "response": done, "sequence_number": 2},
        usage=usage,
    )  # fmt: skip


DIALECTS = {"openai": (_openai, "prompt_tokens", "completion_tokens"),
            "openai-responses": (_responses, "input_tokens", "output_tokens")}  # fmt: skip


def _run(dialect: str, usage: str) -> Run:
    stream, _, _ = DIALECTS[dialect]

    async def answer(conn: Conn, request: Request) -> None:
        await conn.send(sse_head() + stream(usage))

    async def go(url: str) -> Run:
        async with AsyncAgentClient(dialect, base_url=url, record=False) as client:
            return await client.run(MODEL, "hi")

    with HostileServer(answer) as server:
        return asyncio.run(go(server.url))


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@pytest.mark.parametrize("cost", ["1e308", "NaN", "Infinity", "-1", "true", "1e7"])
def test_a_cost_out_of_range_is_refused_and_the_run_says_so(dialect: str, cost: str) -> None:
    _, prompt, completion = DIALECTS[dialect]
    run = _run(dialect, f'{{"{prompt}": 10, "{completion}": 5, "cost": {cost}}}')
    assert run.usage is not None and run.usage.cost is None
    assert run.cost is None or (math.isfinite(run.cost) and run.cost < 1)  # by its tokens
    assert run.refused_figures is not None and "cost=" in run.refused_figures
    assert run.snapshot()["refused_figures"] == run.refused_figures
    summary = RunHistory.from_runs([run, run]).summary()
    assert all(math.isfinite(v) or math.isnan(v) for v in summary["cost_total"])
    assert not (summary["cost_total"] > MAX_COST_USD).any()


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_tokens_out_of_range_price_nothing(dialect: str) -> None:
    _, prompt, completion = DIALECTS[dialect]
    run = _run(dialect, f'{{"{prompt}": {10**30}, "{completion}": 5}}')
    assert run.usage is not None and run.usage.prompt_tokens is None
    assert run.cost is None
    assert run.cost_reason is not None and f"{prompt}={10**30}" in run.cost_reason
    assert run.refused_figures is not None and f"{prompt}={10**30}" in run.refused_figures


def test_a_summary_of_rows_past_the_range_is_finite() -> None:
    """Rows made before the range was checked (or a crafted history) sum to no infinity."""
    run = _run("openai", '{"prompt_tokens": 10, "completion_tokens": 5}')
    record = RunRecord.from_row(run_row(run))
    crafted = [dataclasses.replace(record, local_id=f"r{i}", cost_usd=1e308) for i in range(2)]
    summary = RunHistory.from_records(crafted).summary()
    assert math.isnan(summary["cost_total"].iloc[0])
    assert summary["unpriced"].iloc[0] == 2

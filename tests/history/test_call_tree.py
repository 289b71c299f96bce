"""The history keeps the call tree: each tool call's parent, agent and depth, from a real run
of the built-in server's ``research_team`` (a lead, parallel analysts, a quant two levels
deep), so ``runs().tool_calls()`` groups by agent and depth."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from agentnb_testing import client_for

from agentnb.history import HistoryStore
from agentnb.server import ServerHandle


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    with HistoryStore(tmp_path / "history.sqlite3") as opened:
        yield opened


@pytest.mark.parametrize("dialect", ["seekrflow-vercel", "ag-ui", "langgraph"])
async def test_a_delegating_run_is_recorded_as_a_tree(
    server: ServerHandle, store: HistoryStore, dialect: str
) -> None:
    async with client_for(server, dialect, recorder=store) as client:
        run = await client.run("research_team", "Compare NVDA and AAPL")
    calls = store.runs().tool_calls()
    assert len(calls) == len(run.tool_calls) == 8
    for record, call in zip(calls, run.tool_calls, strict=True):
        assert (record.call_id, record.parent_call_id, record.depth) == (
            call.call_id,
            call.parent_call_id,
            call.depth,
        )
    by_id = {record.call_id: record for record in calls}
    for record in calls:
        if record.parent_call_id is not None:
            assert by_id[record.parent_call_id].depth == (record.depth or 0) - 1

    frame = calls.to_pandas()
    assert str(frame["depth"].dtype) == "Int64"
    sizes = frame.groupby(["agent", "depth"], observed=True).size().to_dict()
    assert sizes == {("research_team", 0): 2, ("analyst", 1): 4, ("quant", 2): 2}
    names = frame.groupby(["agent", "depth"], observed=True)["name"].agg(
        lambda names: sorted(set(names))
    )
    assert names[("analyst", 1)] == ["get_stock_price", "quant"]
    assert names[("quant", 2)] == ["calculator"]


async def test_a_flat_run_is_all_at_the_top(server: ServerHandle, store: HistoryStore) -> None:
    async with client_for(server, "openai", recorder=store) as client:
        await client.run("research_team", "Compare NVDA and AAPL")
    frame = store.runs().tool_calls().to_pandas()
    assert frame.groupby(["agent", "depth"], observed=True).size().to_dict() == {
        ("research_team", 0): 8
    }
    assert frame["parent_call_id"].isna().all()

"""The local history joined with a platform's own listing (``runs().with_remote(remote_runs(...))``),
against the built-in server: runs made through agentnb (recorded) and straight over HTTP (not
recorded, as from another notebook or the platform's UI), in every dialect that lists runs."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentnb_testing import PATIENCE_S, client_for, run_request
from genai_prices import Usage as PricedUsage
from genai_prices import calc_price

import agentnb
from agentnb._app.past.remote_runs import fetch_remote_runs
from agentnb._history import RunFilter
from agentnb.history import HistoryStore, RunHistory
from agentnb.server import ServerHandle

_RUN_ID = re.compile(r"\b(run_[0-9a-f]{24}|resp_[0-9a-f]{24})\b")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    with HistoryStore(tmp_path / "history.sqlite3") as opened:
        yield opened


def http_client(server: ServerHandle) -> httpx.Client:
    key = server.api_key
    headers = {"Authorization": f"Bearer {key}", "X-API-Key": key}
    return httpx.Client(base_url=server.base_url, headers=headers, timeout=PATIENCE_S)


def stream_over_http(http: httpx.Client, path: str, body: dict[str, Any]) -> str:
    """Run straight over HTTP, as another program would (agentnb records nothing); the
    platform's run id, read from the stream."""
    answer = http.post(path, json=body, headers={"Accept": "text/event-stream"})
    assert answer.status_code == 200, answer.text
    found = _RUN_ID.search(answer.text)
    assert found is not None, answer.text[:300]
    return found.group(1)


def genai_cost(model: str, prompt: int, completion: int, at: datetime | None) -> float:
    usage = PricedUsage(input_tokens=prompt, output_tokens=completion)
    return float(calc_price(usage, model_ref=model, genai_request_timestamp=at).total_price)


def origins(history: RunHistory) -> dict[str, str]:
    return dict(zip(history.column("run_id"), history.column("origin"), strict=True))


# ---- a thread's listing: SeekrFlow ---------------------------------------------------------
async def test_seekrflow_runs_made_elsewhere_join_the_local_ones(
    server: ServerHandle, store: HistoryStore
) -> None:
    async with client_for(server, "seekrflow", recorder=store) as client:
        first = await client.run("finance_agent", "What is NVDA trading at?")
        thread = first.thread_id
        assert thread is not None
        second = await client.run("finance_agent", "And AAPL?", thread_id=thread)
        with http_client(server) as http:
            http.post(f"/v1/threads/{thread}/messages", json={"content": "And MSFT?"})
            elsewhere = stream_over_http(
                http, f"/v1/threads/{thread}/runs/stream", {"agent_id": "finance_agent"}
            )
        listing = await fetch_remote_runs(client, thread_id=thread)

    local = store.runs(RunFilter.build(thread=thread))
    assert len(local) == 2
    joined = local.with_remote(listing)
    assert joined.source == "joined"
    assert origins(joined) == {first.run_id: "both", second.run_id: "both", elsewhere: "remote"}
    assert [r.run_id for r in joined] == [elsewhere, second.run_id, first.run_id]  # newest first
    assert "(2 both, 1 remote)" in repr(joined)

    # the run made elsewhere: the platform's usage and model, priced by genai-prices
    row = joined[0]
    assert row.model == "gpt-4o-mini" and row.agent == "finance_agent"
    assert row.prompt_tokens and row.completion_tokens
    assert row.cost_source == "genai-prices"
    assert row.cost_usd == pytest.approx(
        genai_cost("gpt-4o-mini", row.prompt_tokens, row.completion_tokens, row.started_at)
    )
    assert row.message is None and row.local_id == elsewhere  # the listing has no question
    # a run on both sides is the local row: its question and answer stay
    assert joined[1].local_id == second.local_id and joined[1].message == "And AAPL?"
    assert joined[1].cost_usd == second.cost

    frame = joined.to_pandas()
    assert list(frame.columns)[-1] == "origin"
    assert str(frame["origin"].dtype) == "category"
    assert frame["cost_usd"].sum() == pytest.approx(sum(r.cost_usd or 0 for r in joined))
    summary = joined.summary(by="origin")
    assert summary.loc["both", "runs"] == 2 and summary.loc["remote", "runs"] == 1
    assert summary.loc["remote", "cost_total"] == pytest.approx(row.cost_usd)
    assert joined.summary().loc["finance_agent", "runs"] == 3
    # the local runs' tool calls are still there; the remote run has none here
    calls = joined.tool_calls()
    assert {c.local_id for c in calls} == {first.local_id, second.local_id}
    assert [d["origin"] for d in joined.to_dicts()] == ["remote", "both", "both"]
    assert joined[:1].column("origin") == ["remote"]


async def test_a_local_row_lacking_usage_takes_the_platforms(
    server: ServerHandle, store: HistoryStore
) -> None:
    """Local data wins where it has it; usage, model and cost come from the listing where
    the local row has none (a run whose stream and finalize told nothing)."""
    async with client_for(server, "seekrflow", recorder=store) as client:
        run = await client.run("finance_agent", "What is NVDA trading at?")
        listing = await fetch_remote_runs(client, thread_id=run.thread_id)
    recorded = store.get(run.local_id)
    assert recorded is not None and recorded.total_tokens is not None
    bare = dataclasses.replace(
        recorded,
        prompt_tokens=None,
        completion_tokens=None,
        total_tokens=None,
        model=None,
        cost_usd=None,
        cost_source=None,
        status="interrupted",
    )
    joined = RunHistory.from_records([bare]).with_remote(listing)
    assert len(joined) == 1
    row = joined[0]
    assert joined.column("origin") == ["both"]
    assert row.status == "interrupted"  # the local figure wins
    assert row.local_id == run.local_id and row.answer == recorded.answer
    assert (row.prompt_tokens, row.completion_tokens, row.total_tokens) == (
        recorded.prompt_tokens,
        recorded.completion_tokens,
        recorded.total_tokens,
    )
    assert row.model == "gpt-4o-mini"
    assert row.cost_usd == pytest.approx(recorded.cost_usd)
    assert row.cost_source == "genai-prices"


# ---- every other dialect that lists runs ---------------------------------------------------
async def test_langgraph_thread_listing_joins(server: ServerHandle, store: HistoryStore) -> None:
    async with client_for(server, "langgraph", recorder=store) as client:
        run = await client.run("finance_agent", "What is NVDA trading at?")
        thread = run.thread_id
        assert thread is not None
        with http_client(server) as http:
            body = {
                "assistant_id": "finance_agent",
                "input": {"messages": [{"type": "human", "content": "AAPL?"}]},
            }
            elsewhere = stream_over_http(http, f"/langgraph/threads/{thread}/runs/stream", body)
        listing = await fetch_remote_runs(client, thread_id=thread)
    joined = store.runs().with_remote(listing)
    assert origins(joined) == {run.run_id: "both", elsewhere: "remote"}
    made_elsewhere = joined[0]
    # LangGraph's run object has no usage or model: nothing is invented
    assert made_elsewhere.run_id == elsewhere and made_elsewhere.status == "completed"
    assert made_elsewhere.total_tokens is None and made_elsewhere.cost_usd is None
    assert joined[1].cost_usd == run.cost and joined[1].cost_usd is not None
    summary = joined.summary(by="origin")
    assert summary.loc["remote", ["unpriced", "no_usage"]].tolist() == [0, 1]  # no usage listed


@pytest.mark.parametrize(
    ("dialect", "model"),
    [("operativus", "gpt-4o-mini"), ("openai-responses", "gpt-4o-mini"), ("a2a", None)],
)
async def test_listing_by_run_id_joins(
    server: ServerHandle, store: HistoryStore, dialect: str, model: str | None
) -> None:
    async with client_for(server, dialect, recorder=store) as client:
        run = await client.run("finance_agent", "What is NVDA trading at?")
        with http_client(server) as http:
            path, body = run_request(http, dialect, "finance_agent", "AAPL?")
            elsewhere = stream_over_http(http, path, body)
        ids = [run.run_id or "", elsewhere, "run_000000000000000000000000"]
        listing = await fetch_remote_runs(client, agent="finance_agent", run_ids=ids)
    joined = store.runs().with_remote(listing)
    assert origins(joined) == {run.run_id: "both", elsewhere: "remote"}
    made_elsewhere = next(r for r in joined if r.run_id == elsewhere)
    assert made_elsewhere.status == "completed"
    assert made_elsewhere.model == model
    if model is None:  # A2A's task carries no usage or model
        assert made_elsewhere.cost_usd is None
        return
    assert made_elsewhere.prompt_tokens and made_elsewhere.completion_tokens
    assert made_elsewhere.cost_usd == pytest.approx(
        genai_cost(
            model,
            made_elsewhere.prompt_tokens,
            made_elsewhere.completion_tokens,
            made_elsewhere.started_at,
        )
    )


async def test_a_model_genai_prices_does_not_know_stays_unpriced(
    server: ServerHandle, store: HistoryStore
) -> None:
    async with client_for(server, "operativus", recorder=store) as client:
        with http_client(server) as http:
            path, body = run_request(http, "operativus", "echo", "hello")
            elsewhere = stream_over_http(http, path, body)
        listing = await fetch_remote_runs(client, agent="echo", run_ids=[elsewhere])
    joined = store.runs().with_remote(listing)
    row = joined[0]
    assert row.model == "agentnb-echo" and row.total_tokens
    assert row.cost_usd is None and row.cost_source is None
    summary = joined.summary(by="origin")
    assert summary.loc["remote", ["unpriced", "no_usage"]].tolist() == [1, 0]  # usage, no price


def test_the_platforms_own_cost_wins() -> None:
    from agentnb.events import Usage
    from agentnb.providers import RemoteRun

    listed = RemoteRun(
        run_id="r1",
        agent="a",
        thread_id="t",
        status="completed",
        created_at=datetime(2025, 6, 1, tzinfo=UTC).isoformat(),
        prompt_tokens=1000,
        completion_tokens=10,
        model="gpt-4o",
        usage=Usage(prompt_tokens=1000, completion_tokens=10, cost=0.5),
    )
    remote = RunHistory.from_remote([listed])
    assert (remote[0].cost_usd, remote[0].cost_source) == (0.5, "platform")
    joined = RunHistory().with_remote(remote)
    assert joined.column("origin") == ["remote"] and joined[0].cost_usd == 0.5


def test_with_remote_takes_a_listing_only(store: HistoryStore) -> None:
    local = store.runs()
    with pytest.raises(agentnb.ConfigurationError, match="takes a platform's listing"):
        local.with_remote(local)
    with pytest.raises(agentnb.ConfigurationError, match="takes a platform's listing"):
        local.with_remote([])  # type: ignore[arg-type]
    remote = RunHistory.from_remote([])
    with pytest.raises(agentnb.ConfigurationError, match="call it on"):
        remote.with_remote(remote)
    with pytest.raises(agentnb.ConfigurationError, match="cannot summarise by"):
        local.summary(by="origin")  # only a joined history has origins


async def test_a2a_lists_a_contexts_tasks_page_by_page(
    server: ServerHandle, store: HistoryStore
) -> None:
    """A2A 1.0's ``ListTasks``: the tasks of one context (the thread), newest first, read a
    page at a time by token; joined with the local ones."""
    async with client_for(server, "a2a", recorder=store) as client:
        first = await client.run("echo", "one")
        context = first.thread_id
        assert context is not None
        second = await client.run("echo", "two", thread_id=context)
        await client.run("echo", "another conversation")  # not in this context
        with http_client(server) as http:
            message = {
                "messageId": "m-elsewhere",
                "role": "ROLE_USER",
                "contextId": context,
                "parts": [{"text": "three"}],
            }
            body = {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "SendStreamingMessage",
                "params": {"message": message},
            }
            elsewhere = stream_over_http(http, "/a2a/echo", body)
        listed = await client.list_runs(context, agent="echo", page_size=1)
        limited = await fetch_remote_runs(client, thread_id=context, agent="echo", limit=2)
        with pytest.raises(agentnb.ConfigurationError, match="say which agent"):
            await fetch_remote_runs(client, thread_id=context)
    assert [r.run_id for r in listed] == [elsewhere, second.run_id, first.run_id]
    assert {r.thread_id for r in listed} == {context}
    assert [r.run_id for r in limited] == [elsewhere, second.run_id]
    joined = store.runs(RunFilter.build(thread=context)).with_remote(
        RunHistory.from_remote(listed, provider="a2a")
    )
    assert origins(joined) == {elsewhere: "remote", second.run_id: "both", first.run_id: "both"}


def test_a2a_list_tasks_refuses_bad_paging(server: ServerHandle) -> None:
    with http_client(server) as http:
        for params, error in (
            ({"pageSize": 0}, "pageSize must be 1 to 100"),
            ({"pageSize": "5"}, "pageSize must be 1 to 100"),
            ({"pageToken": "not-mine"}, "is not one this server gave"),
            ({"contextId": 7}, "contextId must be a string"),
        ):
            body = {"jsonrpc": "2.0", "id": 9, "method": "ListTasks", "params": params}
            answer = http.post("/a2a/echo", json=body).json()
            assert answer["error"]["code"] == -32602 and error in answer["error"]["message"]


async def test_a_second_listing_joins_a_joined_history(
    server: ServerHandle, store: HistoryStore
) -> None:
    """Two threads' listings joined one after the other: a row keeps whether it was
    recorded here."""
    async with client_for(server, "seekrflow", recorder=store) as client:
        mine = await client.run("echo", "mine")
        with http_client(server) as http:
            other_thread = http.post("/v1/threads", json={}).json()["id"]
            http.post(f"/v1/threads/{other_thread}/messages", json={"content": "theirs"})
            theirs = stream_over_http(
                http, f"/v1/threads/{other_thread}/runs/stream", {"agent_id": "echo"}
            )
        first = await fetch_remote_runs(client, thread_id=mine.thread_id)
        second = await fetch_remote_runs(client, thread_id=other_thread)
    once = store.runs().with_remote(second)
    assert origins(once) == {mine.run_id: "local", theirs: "remote"}
    twice = once.with_remote(first).with_remote(second)
    assert origins(twice) == {mine.run_id: "both", theirs: "remote"}
    assert len(twice) == 2

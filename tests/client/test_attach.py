"""Showing again a run the platform is still executing (issue 20): a SeekrFlow run started by
a connection that went away (a kernel that died, another notebook) is streamed again with
``client.attach`` through the platform's attach route, from its start and on to its end; a
finished run attaches to its whole stream; a dialect without such an operation says so before
any I/O."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentnb_testing import PATIENCE_S, client_for

from agentnb import AgentClient, Run
from agentnb._core.exceptions import ConfigurationError, NotFoundError
from agentnb.events import RunCompleted, TextDelta
from agentnb.history import HistoryStore
from agentnb.providers import HttpRequest
from agentnb.server import ServerHandle


def start_and_walk_away(server: ServerHandle, agent: str, **body: Any) -> tuple[str, str]:
    """Start a SeekrFlow run with plain httpx, read its first frames, drop the connection
    (nothing tells the platform to stop) and return (thread id, run id)."""
    headers = {"Authorization": f"Bearer {server.api_key}", "X-AgentNB-Delay-Ms": "30"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=PATIENCE_S) as http:
        thread_id = http.post("/v1/threads", json={}).json()["id"]
        http.post(f"/v1/threads/{thread_id}/messages", json={"content": "a long story"})
        path = f"/v1/threads/{thread_id}/runs/stream/vercel"
        with http.stream("POST", path, json={"agent_id": agent, **body}) as response:
            for line in response.iter_lines():
                if line.startswith("data: {") and '"start"' in line:
                    run_id: str = json.loads(line[6:])["messageMetadata"]["runId"]
                    return thread_id, run_id
    raise AssertionError("the run did not start")


async def test_a_run_left_running_is_shown_again_to_its_end(server: ServerHandle) -> None:
    thread_id, run_id = start_and_walk_away(server, "writer", metadata={"paragraphs": "6"})
    log = server.app.state.agentnb.runs.get(run_id)
    assert log is not None and not log.finished  # still going on the platform
    async with client_for(server, "seekrflow-vercel", record=False) as client:
        stream = client.attach("writer", run_id, thread_id=thread_id)
        events = [event async for event in stream]
    run = stream.run
    assert run.status == "completed" and isinstance(events[-1], RunCompleted)
    assert run.run_id == run_id and run.thread_id == thread_id
    assert run.text == log.answer_text() and len(run.text) > 500
    assert log.status == "completed"


async def test_a_finished_run_attaches_to_its_whole_stream(server: ServerHandle) -> None:
    async with client_for(server, "seekrflow", record=False) as client:
        first = await client.run("finance_agent", "What is NVDA at?")
        assert first.run_id is not None
        again = client.attach("finance_agent", first.run_id, thread_id=first.thread_id)
        async for _ in again:
            pass
    run = again.run
    assert run.status == "completed" and run.text == first.text
    assert [c.name for c in run.tool_calls] == [c.name for c in first.tool_calls]


async def test_attaching_to_an_unknown_run_is_not_found(server: ServerHandle) -> None:
    async with client_for(server, "seekrflow-vercel", record=False) as client:
        thread = await client.transport.send_json(_create_thread())
        stream = client.attach("writer", "run_nobody", thread_id=thread["id"])
        with pytest.raises(NotFoundError):
            async for _ in stream:
                pass
    assert stream.run.status == "failed"


def _create_thread() -> HttpRequest:
    return HttpRequest("POST", "/v1/threads", json={})


@pytest.mark.parametrize("dialect", ["openai", "runtools"])
async def test_a_dialect_that_cannot_attach_says_so_before_any_io(
    server: ServerHandle, dialect: str
) -> None:
    async with client_for(server, dialect, record=False) as client:
        with pytest.raises(ConfigurationError, match="cannot stream a run that is already going"):
            client.attach("writer", "run_1", thread_id="thread_1")


async def test_seekrflow_needs_the_thread_to_attach(server: ServerHandle) -> None:
    async with client_for(server, "seekrflow", record=False) as client:
        with pytest.raises(ConfigurationError, match="pass thread_id="):
            client.attach("writer", "run_1")


def test_the_sync_client_attaches_too(server: ServerHandle) -> None:
    thread_id, run_id = start_and_walk_away(server, "writer", metadata={"paragraphs": "4"})
    with (
        AgentClient(
            "seekrflow-vercel",
            base_url=server.url_for("seekrflow-vercel"),
            api_key=server.api_key,
            record=False,
        ) as client,
        client.attach("writer", run_id, thread_id=thread_id) as stream,
    ):
        kinds = {type(event).__name__ for event in stream}
    assert stream.run.status == "completed" and "RunCompleted" in kinds
    log = server.app.state.agentnb.runs.get(run_id)
    assert stream.run.text == log.answer_text()


async def test_a_refused_attach_leaves_the_history_row_as_it_was(
    server: ServerHandle, tmp_path: Path
) -> None:
    store = HistoryStore(tmp_path / "h.db")
    partial = Run(agent="writer", message="a long story", run_id="run_gone", thread_id="t")
    partial.apply(TextDelta(delta="Once upon"))
    store.record(partial)  # a row left by a process that died: interrupted, partial answer
    async with client_for(server, "seekrflow-vercel", recorder=store) as client:
        thread = await client.transport.send_json(_create_thread())
        stream = client.attach(
            "writer",
            "run_gone",
            thread_id=thread["id"],
            message="a long story",
            local_id=partial.local_id,
        )
        with pytest.raises(NotFoundError):
            async for _ in stream:
                pass
    store.flush()
    kept = store.get(partial.local_id)
    assert kept is not None and kept.answer == "Once upon" and kept.status == "interrupted"
    assert len(store.runs()) == 1
    store.close()

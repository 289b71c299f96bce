"""The SeekrFlow SDK's own client (``seekrai``, pinned in ``tests/sdk_envs/seekrai.txt``, run
in ``.tools/seekrai`` by ``sdk_clients/seekrai_client.py``) against the built-in server's
SeekrFlow routes: its streaming client and event flattener read the same answer, reasoning and
tool calls agentnb reads, and its run routes (list, retrieve, cancel, attach) answer as it
expects.

Found this way (the SDK wins): it creates threads at ``POST v1/threads/`` (trailing slash),
and its stream parser reads only ``data:`` lines, so the server sends data-only frames (no SSE
ids, no retry hint), as SeekrFlow does."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from agentnb_testing import PATIENCE_S, client_for, sdk_python

from agentnb.server import ServerHandle

CLIENT = Path(__file__).parent / "sdk_clients" / "seekrai_client.py"
QUESTION = "What is NVDA trading at, and how did it move this week?"


def seekrai(server: ServerHandle, mode: str, agent: str, question: str) -> dict[str, Any]:
    command = [str(sdk_python("seekrai")), str(CLIENT), server.base_url, server.api_key]
    done = subprocess.run(
        [*command, mode, agent, question], capture_output=True, text=True, timeout=PATIENCE_S
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


async def test_the_sdk_reads_the_run_agentnb_reads(server: ServerHandle) -> None:
    seen = seekrai(server, "run", "finance_agent", QUESTION)
    async with client_for(server, "seekrflow-vercel", record=False) as client:
        run = await client.run("finance_agent", QUESTION)
    assert seen["text"] == run.text and "| NVDA |" in run.text
    assert seen["reasoning"] == run.reasoning
    sdk_calls = [(t["name"], t["input"], t["output"]) for t in seen["tools"]]
    assert sdk_calls == [(c.name, c.arguments, c.output) for c in run.tool_calls]
    [run_id] = seen["runs"]
    assert seen["retrieved"] == {
        "id": run_id,
        "status": "RunStatus.COMPLETED",
        "agent": "finance_agent",
    }


def test_the_sdks_cancel_stops_the_agent(server: ServerHandle) -> None:
    seen = seekrai(server, "cancel", "writer", "a long story")
    run_id = seen["run_id"]
    assert seen["cancel"] == {"status": "canceled", "run_id": run_id}
    assert seen["status"] == "RunStatus.CANCELLED"
    log = server.app.state.agentnb.runs.get(run_id)
    assert log is not None and log.status == "cancelled"
    failure = log.failure()
    assert failure is not None and failure.message == "the run was cancelled: by the client"


def test_the_sdks_attach_streams_the_run_agentnb_attaches_to(server: ServerHandle) -> None:
    seen = seekrai(server, "attach", "writer", "a long story")
    log = server.app.state.agentnb.runs.get(seen["run_id"])
    assert log is not None and log.status == "completed"
    assert seen["text"] == log.answer_text() and seen["status"] == "RunStatus.COMPLETED"


def _same(call_id: str) -> str:
    """A call id with its run's own part (``call_<run>_n``) left out: two runs compare."""
    return re.sub(r"^call_[0-9a-f]{8}_", "call_", call_id)


async def test_the_sdk_reads_the_sub_agent_tree_agentnb_reads(server: ServerHandle) -> None:
    """``research_team`` delegates to parallel analysts (each reusing its own call ids) and a
    quant two levels deep: the SDK keys each call by its whole ``toolCallPath``, exactly the
    call ids of agentnb's tree; its metadata names the agents agentnb names."""
    seen = seekrai(server, "nested", "research_team", "Compare NVDA and AAPL")
    async with client_for(server, "seekrflow-vercel", record=False) as client:
        run = await client.run("research_team", "Compare NVDA and AAPL")
    calls = {_same(call.call_id): call for call in run.tool_calls}
    assert set(map(_same, seen["calls"])) == set(calls) and len(calls) == 8
    for key, sdk in seen["calls"].items():
        call = calls[_same(key)]
        assert (sdk["name"], sdk["input"], sdk["output"]) == (
            call.name,
            call.arguments,
            call.output,
        )
        assert sdk["depth"] == call.depth
        assert sdk["agent_id"] == call.agent
        parent = calls.get(_same(call.parent_call_id or ""))
        assert sdk["parent_agent_id"] == ((parent.agent or "research_team") if parent else None)
        assert sdk["source_tool"] == (parent.name if parent else None)
    # a sub-agent's text is its call's (keyed by the path that led to it), not the answer
    assert seen["texts"].pop("") == run.text
    texts = {_same(path): text for path, text in seen["texts"].items()}
    assert texts == {_same(c.call_id): c.agent_text for c in run.tool_calls if c.agent_text}
    assert seen["reasoning"].pop("") == run.reasoning
    reasoning = {_same(path): text for path, text in seen["reasoning"].items()}
    assert reasoning == {
        _same(c.call_id): c.agent_reasoning for c in run.tool_calls if c.agent_reasoning
    }
    # the SDK's own printer labels the lines with their agents and shows the lead's answer
    printed = seen["printed"]
    assert "[tool input → calculator] (agent_id=quant, parent_agent_id=analyst) (depth=2" in printed
    assert printed.rstrip().endswith(run.text.rstrip())
    assert "[answer]" in printed and printed.count("[answer]") == 1

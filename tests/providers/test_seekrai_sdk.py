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
import subprocess
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import client_for, sdk_python

from agentnb.server import ServerHandle

pytestmark = pytest.mark.timeout(300)

CLIENT = Path(__file__).parent / "sdk_clients" / "seekrai_client.py"
QUESTION = "What is NVDA trading at, and how did it move this week?"


def seekrai(server: ServerHandle, mode: str, agent: str, question: str) -> dict[str, Any]:
    command = [str(sdk_python("seekrai")), str(CLIENT), server.base_url, server.api_key]
    done = subprocess.run(
        [*command, mode, agent, question], capture_output=True, text=True, timeout=120
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

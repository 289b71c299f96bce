"""Round 7 of the notebook's trust: nothing of the user's code runs for a read before the
person decides, and a summary given up on does not outlive its read.

Issue 66's "Reads before the decision": 12 denied reads ran a side-effecting ``repr`` 12
times; 32 denied reads of a slow object held the run 58 s and left 10 summary threads
spinning a core after it. Made again here with a scripted Chat Completions agent on
127.0.0.1 (``tests/reading_agent.py``: ``notebook_variables``, then ``notebook_describe``
of ``cfg`` and ``notebook_error``) over a ``cfg`` whose ``repr`` counts its calls."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from agentnb_testing import PATIENCE_S, said_on_page, serving_asgi
from reading_agent import BODIES, reading_agent

import agentnb
from agentnb._app.context.context_summary import summarize
from agentnb._app.context.context_tools import Kernel, context_tools
from agentnb.events import ToolApprovalRequested

NONCE = "0123456789abcdef"


class Loud:
    """A value whose ``repr`` and lazy property have a side effect: each call is counted."""

    def __init__(self) -> None:
        self.calls = 0

    def __repr__(self) -> str:
        self.calls += 1
        return "loud"

    @property
    def shape(self) -> tuple[int, ...]:
        self.calls += 1
        return (1,)


class Spinning:
    """A value whose ``repr`` spins a core for ever, counting its turns."""

    def __init__(self) -> None:
        self.turns = 0

    def __repr__(self) -> str:
        while True:
            self.turns += 1


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serving_asgi(reading_agent) as base:
        yield f"{base}/v1"


async def asked_and_run(url: str, kernel: Kernel, allow: bool) -> tuple[list[str], agentnb.Run]:
    """One run over ``kernel``'s reads, each decided ``allow``: the questions asked, the run."""
    asked: list[str] = []
    tools = context_tools(kernel, NONCE)
    client = agentnb.AsyncAgentClient("openai", base_url=url, api_key="k", record=False)
    async with client, client.stream("m", "what is in my notebook?", tools=tools) as stream:
        async for event in stream:
            if isinstance(event, ToolApprovalRequested):
                asked.append(event.reason or "")
                if allow:
                    stream.approvals.approve(event.call_id)
                else:
                    stream.approvals.deny(event.call_id, "no")
    return asked, stream.run


async def test_a_denied_read_runs_nothing_of_the_users_code(url: str) -> None:
    loud = Loud()
    kernel = Kernel({"cfg": loud})
    for _ in range(12):
        asked, run = await asked_and_run(url, kernel, allow=False)
        assert [c.status for c in run.tool_calls] == ["denied"] * 3
    assert loud.calls == 0
    prefix = "reads the notebook once approved, at the sample level: "
    assert asked[:2] == [
        prefix + "the names, types and sizes of its variables (page 1)",
        prefix + f"a summary of the variable cfg ({__name__} Loud)",
    ]
    assert asked[2].startswith(prefix + "the last exception a cell raised (")


async def test_the_summary_is_made_once_allowed_and_is_what_is_sent(url: str) -> None:
    loud = Loud()
    BODIES.clear()
    _, run = await asked_and_run(url, Kernel({"cfg": loud}), allow=True)
    assert [c.status for c in run.tool_calls] == ["succeeded"] * 3
    assert loud.calls == 2  # the listing's shape, then the summary's repr: after "allow"
    results = [m["content"] for m in BODIES[-1]["messages"] if m["role"] == "tool"]
    assert "cfg: " in results[0] and "cfg: tests" not in results[1]
    assert f"cfg: {__name__} Loud: loud" in results[1]


def summary_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "agentnb-context-summary"]


def test_a_summary_given_up_on_is_stopped_and_does_not_outlive_its_read() -> None:
    said_on_page(
        "security.md",
        "one summarizer (bounded in time and size: a summary past its time is stopped, never "
        "left running)",
    )
    spinning = Spinning()
    for _ in range(3):
        assert summarize(spinning, "slow") == "slow: Spinning <repr timed out>"
    deadline = time.monotonic() + PATIENCE_S
    while summary_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert summary_threads() == []
    turns = spinning.turns
    time.sleep(0.3)
    assert spinning.turns == turns  # nothing spins on


async def test_denied_reads_of_a_slow_value_run_nothing(url: str) -> None:
    spinning = Spinning()
    for _ in range(4):
        _, run = await asked_and_run(url, Kernel({"cfg": spinning}), allow=False)
        assert run.status == "completed"
    assert spinning.turns == 0 and summary_threads() == []


def test_each_tools_question_names_what_it_will_read() -> None:
    kernel = Kernel(
        {"cfg": {"a": 1}, "In": ["", "cfg", "x = 1", "cfg"], "Out": {1: {"a": 1}, 3: 3}}
    )
    previews = {t.name: t.preview for t in context_tools(kernel, NONCE)}
    said = {
        name: preview(arguments)
        for name, arguments in [
            ("notebook_variables", {"page": 2}),
            ("notebook_describe", {"name": "cfg"}),
            ("notebook_cells", {"count": 2}),
            ("notebook_files", {"path": "data"}),
            ("notebook_read_file", {"path": "sales.csv", "lines": 20}),
        ]
        if (preview := previews[name]) is not None
    }
    prefix = "reads the notebook once approved, at the sample level: "
    assert said == {
        "notebook_variables": prefix + "the names, types and sizes of its variables (page 2)",
        "notebook_describe": prefix + "a summary of the variable cfg (dict)",
        "notebook_cells": prefix
        + "the source of cells 2 to 3 and the values they returned (Out[3]: int)",
        "notebook_files": prefix + "the names and sizes of the files in the folder 'data'",
        "notebook_read_file": prefix + "the first 20 lines of the file 'sales.csv'",
    }
    describe = previews["notebook_describe"]
    assert describe is not None
    assert describe({"name": "nope"}).endswith(
        "the variable nope (the notebook has none it may read by that name)"
    )

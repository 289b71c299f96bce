"""One AG-UI ``STATE_DELTA`` does bounded work (issue 53): a hostile server on 127.0.0.1 sends
a large state, then a JSON Patch whose operations each cost as much as the state (inserts at
the head of a large list, copies of a list whose items count nothing), or more operations
than one delta may hold. The run ends ``interrupted`` with :class:`agentnb.RunTooLargeError`
saying the state change was too much work, keeping the state as it was and what came
before; a small change to a large state stays cheap, and the state's deltas apply once, to
the state the run was sent."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S, asgi_body, serving_asgi

import agentnb
from agentnb._core.state import MAX_PATCH_OPERATIONS, PatchTooMuchWork, apply_patch

LONG = 100_000
"""Items of the state's long list: 4.8 MB of the 32 MiB the runs here may keep."""
SHORT_STRINGS = 200_000
"""Empty strings: 12.8 MB of the bound, their copy 12.8 MB more, each an item to walk or copy."""
REPEATS = 2_000
REFUSED_BEFORE_THE_COPY = """
import sys, tracemalloc
from agentnb._core.state import PatchTooMuchWork, apply_patch
long = int(sys.argv[1])
state = {"a": [0] * long}
tracemalloc.start()
try:
    apply_patch(state, [{"op": "add", "path": "/a/0", "value": 1}], work=long // 2)
except PatchTooMuchWork as refused:
    assert "items" in str(refused), refused
else:
    raise SystemExit("the patch was applied")
print(tracemalloc.get_traced_memory()[1], len(state["a"]))
"""


def _frame(kind: str, **fields: Any) -> bytes:
    return f"data: {json.dumps({'type': kind, **fields})}\n\n".encode()


def _state_and_delta(scenario: str) -> tuple[Any, list[Any]]:
    if scenario == "head_inserts":  # each shifts the whole list, twice
        pair = [{"op": "add", "path": "/a/0", "value": 1}, {"op": "remove", "path": "/a/0"}]
        return {"a": [0] * LONG}, pair * REPEATS
    if scenario == "copies_of_empty_strings":  # each pair walks the list twice
        pair = [{"op": "copy", "from": "/a", "path": "/b"}, {"op": "remove", "path": "/b"}]
        return {"a": [""] * SHORT_STRINGS}, pair * 40
    if scenario == "many_operations":  # each costs little, but there are too many
        return {"a": 0}, [{"op": "test", "path": "/a", "value": 0}] * (MAX_PATCH_OPERATIONS + 1)
    if scenario == "small_copies_and_appends":  # a small change to a large state, many times
        pair = [
            {"op": "copy", "from": "/b", "path": "/c"},
            {"op": "add", "path": "/a/-", "value": 2},
        ]
        return {"a": [0] * LONG, "b": 1}, pair * REPEATS
    raise AssertionError(scenario)


def _frames(scenario: str, thread: str) -> Iterator[bytes]:
    yield _frame("RUN_STARTED", threadId=thread, runId="r1")
    yield _frame("TEXT_MESSAGE_CONTENT", messageId="m1", delta="before ")
    if scenario == "delta_only":  # AG-UI: a delta may change the state the run was sent
        yield _frame("STATE_DELTA", delta=[{"op": "add", "path": "/notes/-", "value": "two"}])
    elif scenario == "first_turn":
        yield _frame("STATE_SNAPSHOT", snapshot={"notes": ["one"]})
    else:
        state, delta = _state_and_delta(scenario)
        yield _frame("STATE_SNAPSHOT", snapshot=state)
        yield _frame("STATE_DELTA", delta=delta)
    yield _frame("TEXT_MESSAGE_CONTENT", messageId="m1", delta="after")
    yield _frame("RUN_FINISHED", threadId=thread, runId="r1")


SENT_STATES: list[Any] = []


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = await asgi_body(scope, receive, send)
    if body is None:
        return
    request = json.loads(body)
    SENT_STATES.append(request.get("state"))
    scenario = request["messages"][-1]["content"]
    head = [(b"content-type", b"text/event-stream")]
    await send({"type": "http.response.start", "status": 200, "headers": head})
    for frame in _frames(scenario, request["threadId"]):
        await send({"type": "http.response.body", "body": frame, "more_body": True})
        await asyncio.sleep(0)
    await send({"type": "http.response.body", "body": b""})


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serving_asgi(_app) as base:
        yield base


def _client(url: str) -> agentnb.AgentClient:
    return agentnb.AgentClient("ag-ui", base_url=url, api_key="k", record=False, max_run_mib=32)


@pytest.mark.parametrize("scenario", ["head_inserts", "copies_of_empty_strings", "many_operations"])
def test_a_delta_past_one_events_work_ends_the_run_with_the_state_as_it_was(
    url: str, scenario: str
) -> None:
    state, _ = _state_and_delta(scenario)
    with _client(url) as client, pytest.raises(agentnb.RunTooLargeError) as ended:
        client.run("agent", scenario)
    run = ended.value.run
    assert run is not None and run.status == "interrupted"
    assert run.error is not None and run.error.code == "too_large"
    assert "STATE_DELTA" in run.error.message and "max_run_mib" in run.error.message
    assert run.state == state  # refused whole: the state as the snapshot left it
    assert ended.value.partial_text == "before "  # what came before is kept, nothing after


def test_a_small_change_to_a_large_state_stays_cheap(url: str) -> None:
    """Copying a small value leaves the large list the patch already copied its own: each
    append after it does not copy the list again."""
    with _client(url) as client:
        run = client.run("agent", "small_copies_and_appends")
    assert run.status == "completed" and run.text == "before after"
    assert len(run.state["a"]) == LONG + REPEATS and run.state["c"] == 1
    state, delta = _state_and_delta("small_copies_and_appends")
    result, _ = apply_patch(state, delta, work=LONG + 20 * len(delta))  # the list copied once
    assert result == run.state


def test_a_delta_applies_to_the_state_the_run_was_sent(url: str) -> None:
    """An AG-UI agent may send a delta to the state it was given, without a snapshot first:
    the run shows that state changed, and the thread's next run sends it."""
    SENT_STATES.clear()
    with _client(url) as client:
        first = client.run("agent", "first_turn")
        second = client.run("agent", "delta_only", thread_id=first.thread_id)
        third = client.run("agent", "first_turn", thread_id=first.thread_id)
    assert second.state == {"notes": ["one", "two"]} and second.custom_events == []
    assert SENT_STATES == [None, {"notes": ["one"]}, {"notes": ["one", "two"]}]
    assert third.state == {"notes": ["one"]}


def test_a_patch_is_refused_before_the_work_that_would_pass_its_budget() -> None:
    """The budget is checked before each copy, shift or walk: the long list is not copied.
    Measured in a process of its own: a peak traced here would count what this process's
    other threads (servers of other tests) allocate meanwhile."""
    measured = subprocess.run(
        [sys.executable, "-c", REFUSED_BEFORE_THE_COPY, str(LONG)],
        capture_output=True, text=True, check=True, timeout=PATIENCE_S,
    )  # fmt: skip
    peak, length = map(int, measured.stdout.split())
    assert peak < LONG  # a copy of the list would hold 8 bytes an item
    assert length == LONG
    state = {"a": [0] * LONG}
    with pytest.raises(PatchTooMuchWork, match="operations"):
        apply_patch(state, [{"op": "test", "path": "/a/0", "value": 0}] * 3, max_operations=2)

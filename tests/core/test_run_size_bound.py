"""What one run keeps is bounded (``max_run_mib``): a real uvicorn server on 127.0.0.1 streams
an AG-UI run past the bound in every way a run can grow (answer, reasoning, tool arguments,
tool outputs, custom events, one huge frame, a stream that never ends), and the run ends
``interrupted`` with :class:`agentnb.RunTooLargeError`, keeping what it had up to the bound;
the client's memory stays near the bound while it streams and is given back after the run;
the history keeps no more than the run."""

from __future__ import annotations

import asyncio
import gc
import json
import time
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from agentnb_testing import PATIENCE_S, asgi_body, serving_asgi

import agentnb
from agentnb.history import HistoryStore

MIB = 1024 * 1024
PIECE = "x" * 4096
DOUBLING = {"op": "copy", "from": "/a", "path": "/a/-"}
"""Copies the list at ``/a`` into itself: each operation doubles the state."""
EMPTY_LISTS = 100_000
EMPTY_LIST_EVENTS = 20
SMALL_VALUES: dict[str, Any] = {"empty_strings": "", "short_strings": "ab", "numbers": 1000}
"""A value of each kind that JSON writes in a few bytes and Python holds in many more (a
string object, a number object, and the list's reference to each)."""
EMPTY_LISTS_FRAME = (
    b'data: {"type":"CUSTOM","name":"noise","value":[' + b"[]," * 999_999 + b"[]]}\n\n"
)
"""Made once: the server's own copies are not what the test measures."""


def _frame(kind: str, **fields: Any) -> bytes:
    return f"data: {json.dumps({'type': kind, **fields})}\n\n".encode()


def _content(scenario: str) -> Iterator[bytes]:
    """The frames of each scenario, after RUN_STARTED: each grows the run without end."""
    n = 0
    while True:
        n += 1
        if scenario == "text":
            yield _frame("TEXT_MESSAGE_CONTENT", messageId="m1", delta=PIECE)
        elif scenario == "reasoning":
            yield _frame("REASONING_MESSAGE_CONTENT", messageId="r1", delta=PIECE)
        elif scenario == "arguments":
            if n == 1:
                yield _frame("TOOL_CALL_START", toolCallId="c1", toolCallName="write")
            yield _frame("TOOL_CALL_ARGS", toolCallId="c1", delta=PIECE)
        elif scenario == "outputs":
            yield _frame("TOOL_CALL_START", toolCallId=f"c{n}", toolCallName="read")
            yield _frame("TOOL_CALL_RESULT", toolCallId=f"c{n}", messageId=f"t{n}",
                         content=PIECE * 16)  # fmt: skip
        elif scenario == "custom":
            yield _frame("CUSTOM", name="progress", value={"log": [PIECE] * 4})
        elif scenario == "markers":  # frames that add nothing to the run, without end
            yield _frame("TEXT_MESSAGE_END", messageId="m1")
        elif scenario == "figures":  # figures no float holds, from the server
            yield _frame("TEXT_MESSAGE_CONTENT", messageId="m1", delta="hi")
            usage = {"model": "gpt-4o", "input_tokens": 10**400, "output_tokens": 5,
                     "cost": -(10**400)}  # fmt: skip
            yield _frame("RUN_FINISHED", threadId="t1", runId="r1", usage=[usage])
            return
        elif scenario == "copy_doubling":  # issue 53: 2,254 bytes that double the state 50 times
            yield _frame("STATE_SNAPSHOT", snapshot={"a": ["seed"]})
            yield _frame("STATE_DELTA", delta=[DOUBLING] * 50)
            yield _frame("RUN_FINISHED", threadId="t1", runId="r1")
            return
        elif scenario == "empty_lists":  # containers that hold nothing still cost memory
            for _ in range(EMPTY_LIST_EVENTS):
                yield _frame("CUSTOM", name="noise", value=[[]] * EMPTY_LISTS)
            yield _frame("RUN_FINISHED", threadId="t1", runId="r1")
            return
        elif scenario in SMALL_VALUES:  # each value costs memory beyond its characters
            for _ in range(EMPTY_LIST_EVENTS * 4):
                yield _frame("CUSTOM", name="noise", value=[SMALL_VALUES[scenario]] * EMPTY_LISTS)
            yield _frame("RUN_FINISHED", threadId="t1", runId="r1")
            return
        elif scenario == "one_frame_of_empty_lists":  # 3 MB on the wire, ~64 MB parsed
            yield EMPTY_LISTS_FRAME
            yield _frame("RUN_FINISHED", threadId="t1", runId="r1")
            return
        elif scenario == "one_huge_frame":
            yield _frame("TEXT_MESSAGE_CONTENT", messageId="m1", delta="y" * (17 * MIB))
            return
        elif scenario == "one_frame":
            yield _frame("TEXT_MESSAGE_CONTENT", messageId="m1", delta="y" * (3 * MIB))
            yield _frame("RUN_FINISHED", threadId="t1", runId="r1")
            return


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = await asgi_body(scope, receive, send)
    if body is None:
        return
    scenario = json.loads(body)["messages"][-1]["content"]
    head = [(b"content-type", b"text/event-stream")]
    await send({"type": "http.response.start", "status": 200, "headers": head})

    async def frames() -> AsyncIterator[bytes]:
        yield _frame("RUN_STARTED", threadId="t1", runId="r1")
        for frame in _content(scenario):
            yield frame

    hung_up = asyncio.ensure_future(receive())  # the next message is the client's hang-up
    async for frame in frames():
        if hung_up.done():
            return
        await send({"type": "http.response.body", "body": frame, "more_body": True})
        await asyncio.sleep(0)
    hung_up.cancel()
    await send({"type": "http.response.body", "body": b""})


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serving_asgi(_app) as base:
        yield f"{base}"


def _client(url: str, **options: Any) -> agentnb.AgentClient:
    return agentnb.AgentClient("ag-ui", base_url=url, api_key="k", record=False, **options)


def _kept(run: agentnb.Run) -> int:
    calls = sum(len(c.arguments_text) + len(str(c.output or "")) for c in run.tool_calls)
    events = sum(len(json.dumps(e.value)) for e in run.custom_events)
    return len(run.text) + len(run.reasoning) + calls + events


@pytest.mark.parametrize(
    "scenario", ["text", "reasoning", "arguments", "outputs", "custom", "one_frame"]
)
def test_a_run_past_its_bound_ends_with_what_it_kept(url: str, scenario: str) -> None:
    with _client(url, max_run_mib=1) as client, pytest.raises(agentnb.RunTooLargeError) as ended:
        client.run("agent", scenario)
    run = ended.value.run
    assert isinstance(ended.value, agentnb.RunInterruptedError)
    assert run is not None and run.status == "interrupted"
    assert run.error is not None and "1 MiB" in run.error.message
    assert "max_run_mib" in str(ended.value)
    assert _kept(run) <= MIB
    if scenario != "one_frame":  # what came before the bound is kept
        assert _kept(run) > MIB // 2
        assert ended.value.partial_text == run.text


def test_a_stream_iterated_event_by_event_raises_at_the_bound(url: str) -> None:
    seen: list[object] = []
    with (
        _client(url, max_run_mib=1) as client,
        client.stream("agent", "reasoning") as stream,
        pytest.raises(agentnb.RunTooLargeError),
    ):
        seen.extend(stream)  # event by event, until the stream raises
    assert stream.run.status == "interrupted" and len(seen) > 100
    assert MIB // 2 < len(stream.run.reasoning) <= MIB


def test_an_endless_stream_with_no_run_timeout_ends_at_the_bound(url: str) -> None:
    endless = _client(url, max_run_mib=2, run_timeout=None, idle_timeout=None)
    with endless as client, pytest.raises(agentnb.RunTooLargeError) as ended:
        client.run("agent", "text")
    assert ended.value.run is not None
    assert 1.5 * MIB < len(ended.value.run.text) <= 2 * MIB


def test_an_endless_stream_of_frames_that_add_nothing_ends_at_the_bound(url: str) -> None:
    """The client remembers every frame applied (to skip a server's replay after a resume):
    those bytes count against the bound too, so such a stream cannot grow the client."""
    endless = _client(url, max_run_mib=1, run_timeout=None, idle_timeout=None)
    with endless as client, pytest.raises(agentnb.RunTooLargeError) as ended:
        client.run("agent", "markers")
    run = ended.value.run
    assert run is not None and run.status == "interrupted" and run.text == ""


def _given_back_to(base: int) -> int:
    """What is still traced above ``base`` once it falls under half a MiB, or at the deadline.
    The server streams from a thread of this process: on a loaded machine it may still hold
    its last chunks for a while after the client has ended the run."""
    deadline = time.monotonic() + PATIENCE_S
    while True:
        gc.collect()
        left = tracemalloc.get_traced_memory()[0] - base
        if left < MIB // 2 or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def test_memory_stays_near_the_bound_and_is_given_back(url: str) -> None:
    with _client(url, max_run_mib=4) as client:
        with pytest.raises(agentnb.RunTooLargeError):
            client.run("agent", "text")  # warm every cache first
        gc.collect()
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            with pytest.raises(agentnb.RunTooLargeError) as ended:
                client.run("agent", "text")
            kept = len(ended.value.run.text) if ended.value.run is not None else 0
            held = tracemalloc.get_traced_memory()[0] - base
            del ended
            peak = tracemalloc.get_traced_memory()[1] - base
            left = _given_back_to(base)
        finally:
            tracemalloc.stop()
    assert kept > 3 * MIB
    assert held < 3 * 4 * MIB
    assert peak < 4 * 4 * MIB
    assert left < MIB // 2


def test_the_history_keeps_no_more_than_the_run(url: str, tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "history.sqlite3")
    recorded = agentnb.AgentClient("ag-ui", base_url=url, recorder=store, max_run_mib=1)
    with recorded as client, pytest.raises(agentnb.RunTooLargeError) as ended:
        client.run("agent", "text")
    assert ended.value.run is not None
    record = store.get(ended.value.run.local_id)
    assert record is not None
    assert record.status == "interrupted" and record.error_code == "too_large"
    assert 0 < len(record.answer or "") <= MIB


def test_without_a_bound_a_run_keeps_everything(url: str) -> None:
    with _client(url, max_run_mib=None) as client:
        run = client.run("agent", "one_frame")
    assert len(run.text) == 3 * MIB


def test_figures_past_a_float_from_the_server_are_refused_not_a_crash(
    url: str, tmp_path: Path
) -> None:
    store = HistoryStore(tmp_path / "history.sqlite3")
    with agentnb.AgentClient("ag-ui", base_url=url, recorder=store) as client:
        run = client.run("agent", "figures")
    assert run.usage is not None and run.usage.prompt_tokens is None
    assert run.usage.completion_tokens == 5 and run.usage.cost is None
    assert run.refused_figures is not None and "input_tokens" in run.refused_figures
    assert json.loads(json.dumps(run.snapshot()))["refused_figures"] == run.refused_figures
    record = store.get(run.local_id)
    assert record is not None and record.refused_figures == run.usage.refused
    assert "input_tokens=an integer of about 401 digits" in run.refused_figures


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), 10**400, True, "16"])
def test_a_bad_bound_is_a_configuration_error(bad: object) -> None:
    with pytest.raises(agentnb.ConfigurationError, match="max_run_mib"):
        _client("http://127.0.0.1:9", max_run_mib=bad)


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["copy_doubling", "empty_lists", *SMALL_VALUES])
def test_what_the_state_and_custom_events_hold_counts_not_their_wire_size(
    url: str, scenario: str
) -> None:
    """Issue 53: 2,254 bytes of ``copy`` operations double the state 50 times, and events of
    a hundred thousand empty lists (400 KB each) hold 6 MB each, and a hundred thousand empty
    or short strings or small numbers hold 0.8–6 MB where the strings' characters are 0–200 KB:
    the run counts what it would keep, ends at its bound, and the process stays near it."""
    bound = 4 * MIB
    process = psutil.Process()
    with _client(url, max_run_mib=4) as client:
        with pytest.raises(agentnb.RunTooLargeError):
            client.run("agent", "text")  # warm every cache first
        gc.collect()
        rss = process.memory_info().rss
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            with pytest.raises(agentnb.RunTooLargeError) as ended:
                client.run("agent", scenario)
            held = tracemalloc.get_traced_memory()[0] - base
            peak = tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()
        grew = process.memory_info().rss - rss
    run = ended.value.run
    assert run is not None and run.status == "interrupted"
    assert run.error is not None and run.error.code == "too_large"
    assert len(json.dumps(run.state)) < 100  # the delta was refused whole, unbuilt
    assert held < 2 * bound and peak < 3 * bound
    assert grew < 3 * bound + 16 * MIB  # RSS, allocator slack included  # checked: not a rate


def test_one_frame_past_the_bound_is_refused_before_it_is_parsed(url: str) -> None:
    """Issue 53: the decoder's cap on one event was 16 MiB whatever the run's bound, so a 3 MB
    frame of empty lists was parsed (~64 MB) before the run could count it: the run's bound
    caps the frame too, and the run ends as any run past its bound does."""
    with _client(url, max_run_mib=1) as client:
        with pytest.raises(agentnb.RunTooLargeError):
            client.run("agent", "text")  # warm every cache first
        gc.collect()
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            with pytest.raises(agentnb.RunTooLargeError) as ended:
                client.run("agent", "one_frame_of_empty_lists")
            peak = tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()
    run = ended.value.run
    assert run is not None and run.status == "interrupted" and run.custom_events == []
    assert run.error is not None and run.error.code == "too_large"
    assert peak < 8 * MIB


def test_a_frame_past_16_mib_under_a_larger_bound_is_the_decoders_error(url: str) -> None:
    with _client(url, max_run_mib=20) as client, pytest.raises(agentnb.EventTooLargeError):
        client.run("agent", "one_huge_frame")


def test_a_delta_is_counted_by_what_it_leaves_in_the_state() -> None:
    """Under the bound, the run keeps the doubled state; a delta that shrinks the state gives
    its room back (a long run of small changes never reaches the bound)."""
    run = agentnb.Run(max_size=MIB)
    run.apply(agentnb.events.StateSnapshot(state={"a": ["seed"]}))
    run.apply(agentnb.events.StateDelta(patch=[DOUBLING] * 10))
    assert json.dumps(run.state).count("seed") == 2**10 and run.status != "interrupted"
    for _ in range(1000):  # each adds ~8 KB and takes it away again
        run.apply(
            agentnb.events.StateDelta(patch=[{"op": "add", "path": "/b", "value": PIECE * 2}])
        )
        run.apply(agentnb.events.StateDelta(patch=[{"op": "remove", "path": "/b"}]))
    assert run.status != "interrupted" and "b" not in run.state
    run.apply(agentnb.events.StateDelta(patch=[DOUBLING] * 10))
    assert run.status == "interrupted" and json.dumps(run.state).count("seed") == 2**10


DELTAS = {"warm": 1000, "fewer": 20_000, "more": 60_000}
"""Deltas of 8 characters the Vercel app streams, by the message's word."""


def _ui_frame(**chunk: str) -> str:
    return f"data: {json.dumps(chunk)}\n\n"


async def _vercel_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A Vercel AI SDK UI message stream of deltas of 8 characters, each its own, as many as
    :data:`DELTAS` gives the message's word."""
    body = await asgi_body(scope, receive, send)
    if body is None:
        return
    deltas = next(count for word, count in DELTAS.items() if f'"{word}"'.encode() in body)
    head = [(b"content-type", b"text/event-stream"), (b"x-vercel-ai-ui-message-stream", b"v1")]
    await send({"type": "http.response.start", "status": 200, "headers": head})
    start = _ui_frame(type="start", messageId="m1") + _ui_frame(type="text-start", id="t1")
    await send({"type": "http.response.body", "body": start.encode(), "more_body": True})
    for at in range(0, deltas, 1000):
        batch = "".join(_ui_frame(type="text-delta", id="t1", delta=f"{n:07d} ")
                        for n in range(at, at + 1000))  # fmt: skip
        await send({"type": "http.response.body", "body": batch.encode(), "more_body": True})
    end = _ui_frame(type="finish") + "data: [DONE]\n\n"
    await send({"type": "http.response.body", "body": end.encode()})


@pytest.mark.slow
def test_a_thread_keeps_its_answer_without_an_object_per_delta() -> None:
    """The Vercel dialect keeps the answer for the thread's next turn beside the run's own:
    gathered as the run gathers it, not as one small string a delta (~60 bytes each for 8
    characters), so a run of tiny deltas holds a small multiple of its text. Measured as
    what each further character adds at the peak, between a run of 20,000 deltas and one of
    60,000, so what every run holds whatever its length (buffers, the client's caches)
    cancels out: ~4 bytes (the run's text, the thread's reading of it, their joins), where
    an object a delta adds ~8 more (the run's own chunks left unjoined: ~8 in all)."""
    with (
        serving_asgi(_vercel_app) as base,
        agentnb.AgentClient("vercel", base_url=base, api_key="k", record=False) as client,
    ):
        warm = client.run("agent", "warm")  # every cache warm first, on the same code path
        assert len(warm.text) == 8 * DELTAS["warm"]
        fewer, fewer_peak = _traced_run(client, "fewer")
        more, more_peak = _traced_run(client, "more")
    assert (len(fewer.text), len(more.text)) == (8 * DELTAS["fewer"], 8 * DELTAS["more"])
    per_character = (more_peak - fewer_peak) / (len(more.text) - len(fewer.text))
    assert per_character < 6, (fewer_peak, more_peak)


def _traced_run(client: agentnb.AgentClient, word: str) -> tuple[agentnb.Run, int]:
    """A run of the Vercel app's ``word`` deltas, and the most memory it held at once
    beyond what the process held before it (tracemalloc's peak)."""
    gc.collect()
    tracemalloc.start()
    try:
        base_memory = tracemalloc.get_traced_memory()[0]
        run = client.run("agent", word)
        return run, tracemalloc.get_traced_memory()[1] - base_memory
    finally:
        tracemalloc.stop()

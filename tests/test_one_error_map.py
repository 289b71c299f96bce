"""One status → exception map: the same failure raises the same error, with the run and its
partial text, whichever way the run was started and waited for.

Each failure is injected by the built-in server (``X-AgentNB-Fault``); each path starts the
writer agent on it and keeps what it raised. Before issue 10, ``RunHandle.wait()`` raised
errors with ``.run = None`` (its own copy of the map), so the partial answer was lost.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest
from agentnb_testing import PATIENCE_S
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import agentnb
from agentnb import HTTPStatusError
from agentnb.events import RunFailed
from agentnb.server import ServerHandle

DIALECT = "operativus"
AGENT = "writer"


class Failure(NamedTuple):
    error: type[agentnb.AgentNBError]
    status: str
    with_text: bool
    """Whether part of the answer arrived before the failure."""


FAILURES: dict[str, Failure] = {
    "stream-error=500": Failure(agentnb.RunFailedError, "failed", False),
    "drop-after=8;no-ids": Failure(agentnb.RunInterruptedError, "interrupted", True),
    "stall-after=8;no-ids": Failure(agentnb.StreamStallError, "interrupted", True),
    "status=401": Failure(agentnb.AuthenticationError, "failed", False),
}

Start = Callable[[ServerHandle, dict[str, Any]], None]


def client_options(server: ServerHandle, spec: str) -> dict[str, Any]:
    """A client's options for one call: a fault header of its own (one-shot faults count per
    exact header value), a short idle timeout for a stall (only there: on a loaded machine
    a 401 once took longer than 0.5 s to come, and the first of a stalling stream's events
    once came after 0.5 s, so the run stalled with no text), no retry waits, no history."""
    return {
        "base_url": server.url_for(DIALECT),
        "api_key": server.api_key,
        "headers": {"X-AgentNB-Fault": f"{spec};tag={uuid.uuid4().hex}"},
        "idle_timeout": 2.0 if spec.startswith("stall") else 30.0,
        "backoff": 0.0,
        "record": False,
        "connection": "errmap",  # a refused key's advice names it: the same for every way
    }


def async_client_run(server: ServerHandle, options: dict[str, Any]) -> None:
    async def go() -> None:
        async with agentnb.AsyncAgentClient(DIALECT, **options) as client:
            await client.run(AGENT, "go")

    asyncio.run(go())


def sync_client_run(server: ServerHandle, options: dict[str, Any]) -> None:
    with agentnb.AgentClient(DIALECT, **options) as client:
        client.run(AGENT, "go")


def sync_stream(server: ServerHandle, options: dict[str, Any]) -> None:
    with agentnb.AgentClient(DIALECT, **options) as client, client.stream(AGENT, "go") as stream:
        for _ in stream:
            pass


def handle_wait(server: ServerHandle, options: dict[str, Any]) -> None:
    with agentnb.AgentClient(DIALECT, **options) as client:
        agentnb.ask(AGENT, "go", client=client, display=False).wait(PATIENCE_S)


def await_handle(server: ServerHandle, options: dict[str, Any]) -> None:
    with agentnb.AgentClient(DIALECT, **options) as client:
        handle = agentnb.ask(AGENT, "go", client=client, display=False)

        async def go() -> None:
            await handle

        asyncio.run(go())


def ask_wait(server: ServerHandle, options: dict[str, Any]) -> None:
    with agentnb.AgentClient(DIALECT, **options) as client:
        agentnb.ask(AGENT, "go", client=client, display=False, wait=True)


def magic_wait(server: ServerHandle, options: dict[str, Any]) -> None:
    """``%agent --wait`` says the error as a one-paragraph UsageError; the handle it bound
    with ``--out`` raises the error itself."""
    given = {k: v for k, v in options.items() if k not in ("record", "connection")}
    agentnb.connect(DIALECT, name="errmap", **given)
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "agentnb")
    shell.user_ns.pop("err_handle", None)
    with pytest.raises(UsageError) as said:
        shell.run_line_magic(
            "agent", f"{AGENT} --via errmap --wait --no-record --out err_handle go"
        )
    handle = shell.user_ns["err_handle"]
    error = handle.exception()
    # the same error, in whole words cut into lines, its class last (a refusal's reason first)
    words = " ".join(str(said.value).split())
    assert words.endswith(f"{type(error).__name__})"), words
    if not isinstance(error, HTTPStatusError):
        assert words == " ".join(f"{error} ({type(error).__name__})".split())
    handle.wait(PATIENCE_S)


WAYS: dict[str, Start] = {
    "AsyncAgentClient.run": async_client_run,
    "AgentClient.run": sync_client_run,
    "AgentClient.stream": sync_stream,
    "RunHandle.wait": handle_wait,
    "await RunHandle": await_handle,
    "ask(wait=True)": ask_wait,
    "%agent --wait": magic_wait,
}


def raised(way: Start, server: ServerHandle, spec: str) -> agentnb.AgentNBError:
    with pytest.raises(agentnb.AgentNBError) as caught:
        way(server, client_options(server, spec))
    return caught.value


IN_STREAM = "stream-error=500"
"""A failure the platform reports inside the stream: a stream the caller drives yields it as
a ``RunFailed`` event (the caller reads it there) instead of raising."""
CASES = [
    # a stall waits out its idle limit twice: seconds, so scheduled first (tests/conftest.py)
    pytest.param(way, spec, marks=[pytest.mark.slow] if spec.startswith("stall") else [])
    for way in sorted(WAYS)
    for spec in sorted(FAILURES)
    if not (way == "AgentClient.stream" and spec == IN_STREAM)
]


@pytest.mark.parametrize(("way", "spec"), CASES)
def test_the_same_failure_raises_the_same_error_with_its_run(
    server: ServerHandle, way: str, spec: str
) -> None:
    failure = FAILURES[spec]
    reference = raised(async_client_run, server, spec)
    error = raised(WAYS[way], server, spec)
    assert type(error) is failure.error
    assert str(error) == str(reference)
    run = error.run
    assert run is not None, f"{way}: the error lost its run"
    assert run.status == failure.status and run.agent == AGENT
    assert bool(run.text) is failure.with_text
    if isinstance(error, agentnb.RunError):
        assert error.partial_text == run.text


def test_a_stream_yields_an_in_stream_failure_as_its_last_event(server: ServerHandle) -> None:
    reference = raised(async_client_run, server, IN_STREAM)
    with (
        agentnb.AgentClient(DIALECT, **client_options(server, IN_STREAM)) as client,
        client.stream(AGENT, "go") as stream,
    ):
        events = list(stream)
    assert isinstance(events[-1], RunFailed) and events[-1].message == str(reference)
    assert stream.run.status == "failed"


def test_a_stall_is_an_interruption_and_a_timeout(server: ServerHandle) -> None:
    error = raised(handle_wait, server, "stall-after=8;no-ids")
    assert isinstance(error, agentnb.RunInterruptedError)
    assert isinstance(error, agentnb.StreamTimeoutError) and isinstance(error, TimeoutError)
    assert error.run is not None and error.run.error is not None
    assert error.run.error.code == "timeout"


SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}


@pytest.mark.parametrize(
    ("answer", "problem"),
    [("plain words", "not valid JSON"), ('{"n": "x"}', "does not match the schema")],
)
def test_an_answer_that_misses_its_schema_raises_with_the_run(
    server: ServerHandle, answer: str, problem: str
) -> None:
    with agentnb.AgentClient(
        DIALECT, **server.client_settings(DIALECT), api_key=server.api_key, record=False
    ) as client:
        handle = agentnb.ask("echo", answer, client=client, display=False, schema=SCHEMA)
        handle.wait(PATIENCE_S)
    with pytest.raises(agentnb.AnswerSchemaError, match=problem) as caught:
        _ = handle.result
    assert caught.value.run is handle.run and caught.value.run.text == answer

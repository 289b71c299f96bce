"""A call asked before anything is sent (``RunRequest.asks_first``, what a notebook
message's attachments become) at the client, on a dialect that carries no decisions: the
stream shows the call and pauses before its first request, its ``approve=`` policy or
``stream.approvals`` deciding; approved, the request goes; denied, nothing goes and the run
ends failed saying so, keeping the message as typed. Against the built-in server behind a
proxy that keeps every request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from agentnb_testing import serving_asgi
from wire_tap import WireTap

import agentnb
from agentnb._core.client_tools import AskedFirst, tool
from agentnb.events import RunPaused, ToolApprovalRequested, ToolCallStarted
from agentnb.server import start_server
from agentnb.types import RunRequest


@pytest.fixture(scope="module")
def tapped() -> Iterator[tuple[WireTap, str, str]]:
    with start_server() as server:
        wire = WireTap(server.base_url)
        with serving_asgi(wire) as url:
            yield wire, url + "/v1", server.api_key


def asked(message: str = "What is in @df?") -> RunRequest:
    def attach(mentions: list[str]) -> str:
        """Attach them."""
        return "attached"

    declared = tool(attach, approve=True)
    first = AskedFirst(declared, {"mentions": ["@df"]}, "attachments_denied", "nothing went")
    return RunRequest(agent="echo", message=message, asks_first=first)


def test_the_call_is_decided_before_the_first_request(tapped: tuple[WireTap, str, str]) -> None:
    wire, url, key = tapped
    client = agentnb.AgentClient("openai", base_url=url, api_key=key, record=False)
    before = len(wire.bodies)
    with client, client.stream(asked()) as stream:
        events = iter(stream)
        first = [next(events) for _ in range(3)]
        assert [type(e) for e in first] == [ToolCallStarted, ToolApprovalRequested, RunPaused]
        assert len(wire.bodies) == before  # paused before the first byte went
        stream.approvals.approve(first[0].call_id)  # type: ignore[union-attr]
        for _ in events:
            pass
    assert stream.run.status == "completed"
    assert "What is in @df?" in wire.bodies[before]


def test_a_denial_sends_nothing_and_ends_the_run_failed(
    tapped: tuple[WireTap, str, str],
) -> None:
    wire, url, key = tapped
    client = agentnb.AgentClient("openai", base_url=url, api_key=key, record=False)
    before = len(wire.bodies)
    with client, pytest.raises(agentnb.RunFailedError) as failed:
        client.run(asked(), approve=False)  # accepted: the decision is the client's own
    assert failed.value.code == "attachments_denied"
    assert str(failed.value) == "nothing went"
    run = failed.value.run
    assert run is not None and run.message == "What is in @df?"
    assert [(c.name, c.status) for c in run.tool_calls] == [("attach", "denied")]
    assert len(wire.bodies) == before

"""Raw-socket Responses API servers at the edges of the typed stream: events out of order, a
sequence gap (closed by resuming after the last event applied, or a clear error when the
server cannot stream the response again), a cut between an item's added and done, a repeated
sequence number, hosted tool calls as cards, ``error`` and ``response.failed`` as typed
errors."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hostile_server import Conn, HostileServer, Request, http_head, sse_head

from agentnb import AsyncAgentClient, InvalidRequestError, Run, RunInterruptedError

RESPONSE = "resp_hostile"
_Obj = dict[str, Any]


def response(status: str, **fields: Any) -> _Obj:
    return {"id": RESPONSE, "object": "response", "status": status, "model": "m", "output": []}


def text_item(item_id: str, text: str) -> _Obj:
    return {"id": item_id, "type": "message", "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}  # fmt: skip


def delta(item_id: str, piece: str) -> _Obj:
    return {"type": "response.output_text.delta", "item_id": item_id, "output_index": 0,
            "content_index": 0, "delta": piece}  # fmt: skip


def numbered(events: Sequence[_Obj]) -> list[_Obj]:
    return [{**event, "sequence_number": n} for n, event in enumerate(events)]


def answer(pieces: Sequence[str], usage: _Obj | None = None) -> list[_Obj]:
    """A response whose answer is ``pieces``, numbered from 0."""
    done = {**response("completed"), "output": [text_item("msg_1", "".join(pieces))]}
    if usage is not None:
        done["usage"] = usage
    return numbered(
        [
            {"type": "response.created", "response": response("in_progress")},
            {"type": "response.output_item.added", "output_index": 0,
             "item": {"id": "msg_1", "type": "message", "role": "assistant", "content": []}},
            *(delta("msg_1", piece) for piece in pieces),
            {"type": "response.output_item.done", "output_index": 0,
             "item": text_item("msg_1", "".join(pieces))},
            {"type": "response.completed", "response": done},
        ]
    )  # fmt: skip


def frames(events: Sequence[_Obj]) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


Script = Callable[[Request], list[_Obj]]


class ResponsesServer:
    """POST /responses streams ``first``; GET /responses/{id}?stream=true streams the
    ``full`` response after ``starting_after``, or answers ``retrieve_status`` with an
    OpenAI error."""

    def __init__(
        self, first: list[_Obj], full: list[_Obj] | None = None, retrieve_status: int = 200
    ) -> None:
        self.first = first
        self.full = full if full is not None else first
        self.retrieve_status = retrieve_status
        self.targets: list[str] = []

    async def __call__(self, conn: Conn, request: Request) -> None:
        self.targets.append(f"{request.method} {request.path}")
        if request.method == "POST":
            await conn.send(sse_head() + frames(self.first))
            return
        if self.retrieve_status != 200:
            error = {
                "error": {
                    "message": "Only background responses can be streamed.",
                    "type": "invalid_request_error",
                    "code": None,
                    "param": None,
                }
            }
            head = http_head("400 Bad Request", {"Content-Type": "application/json"})
            await conn.send(head + json.dumps(error).encode())
            return
        query = parse_qs(urlsplit(request.path).query)
        after = int(query.get("starting_after", ["-1"])[0])
        later = [e for e in self.full if e["sequence_number"] > after]
        await conn.send(sse_head() + frames(later))


async def run_against(server: ResponsesServer, **options: Any) -> Run:
    with HostileServer(server) as srv:
        async with AsyncAgentClient(
            "openai-responses", base_url=srv.url, record=False, max_retries=0, **options
        ) as client:
            async with client.stream("m", "hi") as stream:
                await stream.consume()  # the run's end, whatever it is, is on the run
            return stream.run


PIECES = ["The ", "answer ", "is ", "42", "."]


async def test_events_out_of_order_are_applied_in_order() -> None:
    events = answer(PIECES)
    shuffled = [events[0], events[3], events[1], events[2], events[5], events[4], *events[6:]]
    server = ResponsesServer(shuffled)
    run = await run_against(server)
    assert run.status == "completed" and run.text == "The answer is 42."
    assert server.targets == ["POST /responses"]  # nothing missing: no resume


async def test_a_sequence_gap_is_closed_by_resuming_after_the_last_event() -> None:
    events = answer(PIECES)
    server = ResponsesServer([e for e in events if e["sequence_number"] != 4], full=events)
    run = await run_against(server)
    assert run.status == "completed" and run.text == "The answer is 42."  # nothing twice
    assert server.targets == [
        "POST /responses",
        f"GET /responses/{RESPONSE}?stream=true&starting_after=3",
    ]


async def test_a_gap_the_server_cannot_fill_is_a_clear_error_not_a_silent_loss() -> None:
    events = answer(PIECES)
    server = ResponsesServer([e for e in events if e["sequence_number"] != 4], retrieve_status=400)
    with pytest.raises(RunInterruptedError) as caught:
        await run_against(server)
    run = caught.value.run
    assert run is not None and run.status == "interrupted"
    assert run.text == "The answer "  # what came before the gap, nothing after it
    assert run.error is not None
    assert "resuming it failed" in run.error.message
    assert "Only background responses can be streamed" in run.error.message


async def test_a_cut_between_an_items_added_and_done_resumes_inside_it() -> None:
    arguments = json.dumps({"city": "Paris", "unit": "celsius"})
    call = {"id": "fc_1", "type": "function_call", "call_id": "call_1", "name": "weather"}
    events = numbered(
        [
            {"type": "response.created", "response": response("in_progress")},
            {"type": "response.output_item.added", "output_index": 0,
             "item": {**call, "arguments": "", "status": "in_progress"}},
            *({"type": "response.function_call_arguments.delta", "item_id": "fc_1",
               "output_index": 0, "delta": arguments[i : i + 7]}
              for i in range(0, len(arguments), 7)),
            {"type": "response.function_call_arguments.done", "item_id": "fc_1",
             "output_index": 0, "arguments": arguments},
            {"type": "response.output_item.done", "output_index": 0,
             "item": {**call, "arguments": arguments, "status": "completed"}},
            {"type": "response.completed",
             "response": {**response("completed"), "output": [{**call, "arguments": arguments}]}},
        ]
    )  # fmt: skip
    server = ResponsesServer(events[:4], full=events)  # cut after two argument deltas
    run = await run_against(server)
    assert run.status == "completed", run.error
    [tool] = run.tool_calls
    assert tool.arguments_text == arguments  # each delta once
    assert tool.arguments == {"city": "Paris", "unit": "celsius"}
    assert (tool.status, run.finish_reason) == ("no_result", "tool_calls")  # the client's turn
    assert server.targets[1] == f"GET /responses/{RESPONSE}?stream=true&starting_after=3"


async def test_a_repeated_sequence_number_is_applied_once() -> None:
    events = answer(PIECES)
    repeated = [*events[:4], events[3], events[3], *events[4:]]
    run = await run_against(ResponsesServer(repeated))
    assert run.status == "completed" and run.text == "The answer is 42."


async def test_hosted_tools_are_tool_call_cards() -> None:
    search = {
        "id": "ws_1",
        "type": "web_search_call",
        "status": "completed",
        "action": {"type": "search", "query": "NVDA price"},
    }
    files = {
        "id": "fs_1",
        "type": "file_search_call",
        "status": "completed",
        "queries": ["10-K"],
        "results": [{"file_id": "f1", "text": "revenue"}],
    }
    code = {
        "id": "ci_1",
        "type": "code_interpreter_call",
        "status": "completed",
        "code": "print(1+1)",
        "container_id": "c1",
        "outputs": [{"type": "logs", "logs": "2"}],
    }
    mcp = {
        "id": "mcp_1",
        "type": "mcp_call",
        "server_label": "docs",
        "name": "lookup",
        "arguments": '{"q": "x"}',
        "output": "found",
        "status": "completed",
    }
    failed = {
        "id": "mcp_2",
        "type": "mcp_call",
        "server_label": "docs",
        "name": "lookup",
        "arguments": "{}",
        "error": "MCP server down",
        "status": "failed",
    }
    items = [search, files, code, mcp, failed]
    events = numbered(
        [
            {"type": "response.created", "response": response("in_progress")},
            *(e for n, item in enumerate(items) for e in (
                {"type": "response.output_item.added", "output_index": n,
                 "item": {**item, "status": "in_progress"}},
                {"type": f"response.{item['type']}.in_progress", "item_id": item["id"],
                 "output_index": n},
                {"type": "response.output_item.done", "output_index": n, "item": item},
            )),
            {"type": "response.completed", "response": {**response("completed"), "output": items,
             "usage": {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15,
                       "input_tokens_details": {"cached_tokens": 6},
                       "output_tokens_details": {"reasoning_tokens": 3}}}},
        ]
    )  # fmt: skip
    run = await run_against(ResponsesServer(events))
    assert run.status == "completed" and not run.unknown_events
    cards = {c.call_id: c for c in run.tool_calls}
    assert [c.name for c in run.tool_calls] == [
        "web_search",
        "file_search",
        "code_interpreter",
        "lookup",
        "lookup",
    ]
    assert cards["ws_1"].arguments == {"action": {"type": "search", "query": "NVDA price"}}
    assert cards["fs_1"].output == [{"file_id": "f1", "text": "revenue"}]
    assert cards["ci_1"].arguments["code"] == "print(1+1)"
    assert cards["ci_1"].output == [{"type": "logs", "logs": "2"}]
    assert (cards["mcp_1"].status, cards["mcp_1"].output) == ("succeeded", "found")
    assert (cards["mcp_2"].status, cards["mcp_2"].error) == ("failed", "MCP server down")
    assert run.usage is not None
    assert (run.usage.cached_tokens, run.usage.reasoning_tokens) == (6, 3)
    assert run.finish_reason == "stop"


@pytest.mark.parametrize(
    ("last", "code", "message"),
    [
        ({"type": "error", "code": "rate_limit_exceeded", "message": "Slow down"},
         "rate_limit_exceeded", "Slow down"),
        ({"type": "response.failed", "response": {**response("failed"),
          "error": {"code": "server_error", "message": "The model crashed"}}},
         "server_error", "The model crashed"),
        ({"type": "response.failed", "response": response("cancelled")},
         "cancelled", "cancelled"),
    ],
)  # fmt: skip
async def test_errors_are_typed(last: _Obj, code: str, message: str) -> None:
    events = answer(PIECES)
    run = await run_against(ResponsesServer(numbered([*events[:3], last])))
    assert run.status == "failed"
    assert run.error is not None and run.error.code == code
    assert message in run.error.message
    assert run.text == "The "


async def test_reasoning_summary_is_reasoning_never_the_answer() -> None:
    events = numbered(
        [
            {"type": "response.created", "response": response("in_progress")},
            {"type": "response.output_item.added", "output_index": 0,
             "item": {"id": "rs_1", "type": "reasoning", "summary": []}},
            {"type": "response.reasoning_summary_part.added", "item_id": "rs_1",
             "output_index": 0, "summary_index": 0, "part": {"type": "summary_text", "text": ""}},
            {"type": "response.reasoning_summary_text.delta", "item_id": "rs_1",
             "output_index": 0, "summary_index": 0, "delta": "First"},
            {"type": "response.reasoning_summary_part.added", "item_id": "rs_1",
             "output_index": 0, "summary_index": 1, "part": {"type": "summary_text", "text": ""}},
            {"type": "response.reasoning_summary_text.delta", "item_id": "rs_1",
             "output_index": 0, "summary_index": 1, "delta": "Second"},
            # the done carries the whole summary: what the deltas missed is added, once
            {"type": "response.reasoning_summary_text.done", "item_id": "rs_1",
             "output_index": 0, "summary_index": 1, "text": "Second thought"},
            {"type": "response.output_item.added", "output_index": 1,
             "item": {"id": "msg_1", "type": "message", "role": "assistant", "content": []}},
            {"type": "response.refusal.delta", "item_id": "msg_1", "output_index": 1,
             "content_index": 0, "delta": "I can't"},
            {"type": "response.completed", "response": {**response("completed"), "output": [
                {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed",
                 "content": [{"type": "refusal", "refusal": "I can't help."}]}]}},
        ]
    )  # fmt: skip
    run = await run_against(ResponsesServer(events))
    assert run.reasoning == "First\n\nSecond thought"
    assert run.text == "I can't help."  # the rest of the refusal came with the response
    assert run.finish_reason == "refusal"


DEVUI_REFUSAL = {
    "error": {
        "message": "Missing entity_id in metadata. Provide metadata.entity_id in request.",
        "type": "invalid_request_error",
        "code": None,
    }
}
"""Microsoft Agent Framework's DevUI's 400 (agent-framework-devui 1.0.0b261022, _server.py)."""


class RoutedByMetadata:
    """POST /responses as DevUI answers it: a 400 unless ``metadata.entity_id`` names the
    agent (``always_refuse``: whatever the body says), else the answer. Every body is kept."""

    def __init__(self, *, refuses: bool = True, always_refuse: bool = False) -> None:
        self.refuses, self.always_refuse = refuses, always_refuse
        self.bodies: list[_Obj] = []

    async def __call__(self, conn: Conn, request: Request) -> None:
        body = json.loads(request.body)
        self.bodies.append(body)
        named = (body.get("metadata") or {}).get("entity_id")
        if self.always_refuse or (self.refuses and not named):
            head = http_head("400 Bad Request", {"Content-Type": "application/json"})
            await conn.send(head + json.dumps(DEVUI_REFUSAL).encode())
            return
        await conn.send(sse_head() + frames(answer(["Routed."])))


async def runs_against(server: RoutedByMetadata, count: int, **options: Any) -> list[Run]:
    with HostileServer(server) as srv:
        async with AsyncAgentClient(
            "openai-responses", base_url=srv.url, record=False, max_retries=0, **options
        ) as client:
            return [await client.run("finance", f"question {n}") for n in range(count)]


def sent_metadata(server: RoutedByMetadata) -> list[object]:
    return [body.get("metadata") for body in server.bodies]


async def test_devui_refusing_a_run_without_its_agent_gets_it_again_named_once() -> None:
    server = RoutedByMetadata()
    first, second = await runs_against(server, 2)
    assert (first.status, first.text, second.text) == ("completed", "Routed.", "Routed.")
    # the refused request made no run: sent again once with the agent named; the connection
    # then names it from the start
    assert sent_metadata(server) == [None, {"entity_id": "finance"}, {"entity_id": "finance"}]
    assert [body["input"] for body in server.bodies] == ["question 0", "question 0", "question 1"]
    assert first.retries == 0


async def test_a_server_that_takes_the_run_is_sent_no_metadata_it_was_not_given() -> None:
    server = RoutedByMetadata(refuses=False)  # OpenAI's API: no key of agentnb's in metadata
    [run] = await runs_against(server, 1)
    assert run.status == "completed" and sent_metadata(server) == [None]
    server = RoutedByMetadata(refuses=False)
    [run] = await runs_against(server, 1, provider_options={"agent_metadata": "entity_id"})
    assert sent_metadata(server) == [{"entity_id": "finance"}]  # the option, sent at once


async def test_a_refusal_the_agents_name_does_not_end_is_raised_after_one_more_try() -> None:
    server = RoutedByMetadata(always_refuse=True)
    with pytest.raises(InvalidRequestError, match="Missing entity_id in metadata"):
        await runs_against(server, 1)
    assert sent_metadata(server) == [None, {"entity_id": "finance"}]

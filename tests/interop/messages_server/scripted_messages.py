"""A scripted Anthropic Messages server, run by ``.tools/anthropic``'s Python: every frame it
streams is one of the ``anthropic`` SDK's own event models (``RawMessageStartEvent``, ...)
serialised as the SDK serialises them, and every request is checked against the SDK's
``MessageCreateParamsStreaming`` and Anthropic's headers first (a 400 or 401 in Anthropic's
error shape otherwise; the SDK 2.10 itself sends its key as ``Authorization: Bearer`` and
``anthropic-version: 2026-10-21``, agentnb ``x-api-key`` and ``2023-06-01``: both are taken). Usage: ``python scripted_messages.py PORT KEY``.

The model names the script: ``claude-sonnet-4-5`` thinks then answers (a second turn says how
many messages it was sent), ``search`` runs a web search itself, ``tools`` calls the
notebook's ``position_value`` and answers with its ``tool_result``, ``overloaded`` fails
mid-stream with an ``error`` event, ``status-529`` / ``status-400`` answer with that status,
``slow`` streams until the client goes (``GET /gone`` then says whether it went);
``max-tokens``, ``max-tokens-call`` (cut inside a ``tool_use``'s arguments), ``stop-sequence``,
``refusal`` (with ``stop_details``) and ``pause-turn`` (a web search paused before its result;
sent back as it was, the turn goes on with the result and the answer) stop with that stop
reason; ``pause-always`` pauses every time; ``look`` says what the last user message carries
(each image's type and size, its text's first line, each attachment's). Hostile scripts:
``one-index-two-calls`` starts two ``tool_use`` blocks on one content-block index, ``disagreeing-call`` starts a ``tool_use`` with one input
and streams another; each answers its results back in words.

As Anthropic's API does, a request is refused (400) when a ``tool_result`` answers no
``tool_use`` of the assistant message before it, when a ``tool_use`` is not answered by the
next message, or when two ``tool_use`` blocks of a message share an id.
"""

from __future__ import annotations

import base64
import json
import struct
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pydantic
from anthropic import types as t
from anthropic.types.message_create_params import MessageCreateParamsStreaming

CHECK = pydantic.TypeAdapter(MessageCreateParamsStreaming)
KEY = sys.argv[2] if len(sys.argv) > 2 else "sk-ant-test"
GONE: list[str] = []
"""The scripts whose client went away mid-stream."""


def start(model: str, message_id: str, input_tokens: int) -> t.RawMessageStartEvent:
    usage = t.Usage(input_tokens=input_tokens, output_tokens=1, cache_read_input_tokens=0)
    message = t.Message(
        id=message_id, type="message", role="assistant", content=[], model=model, usage=usage
    )
    return t.RawMessageStartEvent(type="message_start", message=message)


def block(index: int, content: Any) -> t.RawContentBlockStartEvent:
    return t.RawContentBlockStartEvent(
        type="content_block_start", index=index, content_block=content
    )


def delta(index: int, piece: Any) -> t.RawContentBlockDeltaEvent:
    return t.RawContentBlockDeltaEvent(type="content_block_delta", index=index, delta=piece)


def stop(index: int) -> t.RawContentBlockStopEvent:
    return t.RawContentBlockStopEvent(type="content_block_stop", index=index)


def text(index: int, *pieces: str) -> list[Any]:
    deltas = [delta(index, t.TextDelta(type="text_delta", text=p)) for p in pieces]
    return [block(index, t.TextBlock(type="text", text="")), *deltas, stop(index)]


def end(reason: str, output_tokens: int, **delta: Any) -> list[Any]:
    usage = t.MessageDeltaUsage(output_tokens=output_tokens)
    message_delta = t.RawMessageDeltaEvent(
        type="message_delta",
        delta={"stop_reason": reason, "stop_sequence": None, **delta},
        usage=usage,
    )
    return [message_delta, t.RawMessageStopEvent(type="message_stop")]


def ping() -> Any:
    return {"type": "ping"}  # the SDK has no model for it: the frame as Anthropic documents it


def thinking(body: dict[str, Any]) -> list[Any]:
    turns = len(body["messages"])
    answer = ("The answer", " is 4.") if turns == 1 else (f"Turn with {turns} messages.",)
    return [
        start(body["model"], f"msg_think_{turns}", 12),
        ping(),
        block(0, t.ThinkingBlock(type="thinking", thinking="", signature="")),
        delta(0, t.ThinkingDelta(type="thinking_delta", thinking="Two plus two")),
        delta(0, t.ThinkingDelta(type="thinking_delta", thinking=" is four.")),
        delta(0, t.SignatureDelta(type="signature_delta", signature="sig-abc")),
        stop(0),
        *text(1, *answer),
        *end("end_turn", 20),
    ]


def search(body: dict[str, Any]) -> list[Any]:
    query = {"query": "NVDA price"}
    result = t.WebSearchResultBlock(
        type="web_search_result",
        title="NVDA",
        url="https://example.com/nvda",
        encrypted_content="e",
    )
    return [
        start(body["model"], "msg_search", 30),
        block(
            0,
            t.ServerToolUseBlock(
                type="server_tool_use", id="srvtoolu_1", name="web_search", input={}
            ),
        ),
        delta(0, t.InputJSONDelta(type="input_json_delta", partial_json=json.dumps(query))),
        stop(0),
        block(
            1,
            t.WebSearchToolResultBlock(
                type="web_search_tool_result", tool_use_id="srvtoolu_1", content=[result]
            ),
        ),
        stop(1),
        *text(2, "NVDA is at 100."),
        *end("end_turn", 9),
    ]


def tools(body: dict[str, Any]) -> list[Any]:
    last = body["messages"][-1]
    answers = (
        [b for b in last["content"] if isinstance(b, dict) and b.get("type") == "tool_result"]
        if isinstance(last["content"], list)
        else []
    )
    if answers:
        return [
            start(body["model"], "msg_tools_2", 40),
            *text(0, f"The position is worth {answers[0]['content']}."),
            *end("end_turn", 8),
        ]
    declared = [tool["name"] for tool in body.get("tools", [])]
    assert declared == ["position_value"], declared
    arguments = json.dumps({"ticker": "NVDA", "shares": 3})
    return [
        start(body["model"], "msg_tools_1", 25),
        *text(0, "Let me look."),
        block(1, t.ToolUseBlock(type="tool_use", id="toolu_1", name="position_value", input={})),
        delta(1, t.InputJSONDelta(type="input_json_delta", partial_json=arguments[:10])),
        delta(1, t.InputJSONDelta(type="input_json_delta", partial_json=arguments[10:])),
        stop(1),
        *end("tool_use", 15),
    ]


def overloaded(body: dict[str, Any]) -> list[Any]:
    error = t.ErrorResponse(
        type="error", error=t.OverloadedError(type="overloaded_error", message="Overloaded")
    )
    return [start(body["model"], "msg_over", 5), *text(0, "Part")[:2], error]


def max_tokens(body: dict[str, Any]) -> list[Any]:
    return [start(body["model"], "msg_cut", 7), *text(0, "The answer is"), *end("max_tokens", 3)]


def max_tokens_in_a_call(body: dict[str, Any]) -> list[Any]:
    """Cut while the call's arguments stream: they never close."""
    return [
        start(body["model"], "msg_cut_call", 7),
        *text(0, "Let me look."),
        block(1, t.ToolUseBlock(type="tool_use", id="toolu_cut", name="position_value", input={})),
        delta(1, t.InputJSONDelta(type="input_json_delta", partial_json='{"ticker": "NV')),
        stop(1),
        *end("max_tokens", 16),
    ]


def stop_sequence(body: dict[str, Any]) -> list[Any]:
    return [
        start(body["model"], "msg_seq", 7),
        *text(0, "Step one."),
        *end("stop_sequence", 4, stop_sequence="###"),
    ]


def refusal(body: dict[str, Any]) -> list[Any]:
    details = t.RefusalStopDetails(
        type="refusal",
        category="cyber",
        explanation="This request was declined because it could enable cyber harm.",
    )
    return [
        start(body["model"], "msg_refused", 9),
        *text(0, "Hello.."),
        *end("refusal", 2, stop_details=details.model_dump()),
    ]


def pause_turn(body: dict[str, Any]) -> list[Any]:
    """A server tool's long turn paused: the call made, no result yet. Sent back as it was
    (the assistant's paused content last), the turn goes on: the result, then the answer."""
    last = body["messages"][-1]
    if last["role"] == "assistant":
        assert [b["id"] for b in last["content"] if b["type"] == "server_tool_use"] == [
            "srvtoolu_p"
        ], last
        result = t.WebSearchResultBlock(
            type="web_search_result", title="NVDA", url="https://example.com/nvda",
            encrypted_content="e",
        )  # fmt: skip
        return [
            start(body["model"], "msg_paused_on", 50),
            block(
                0,
                t.WebSearchToolResultBlock(
                    type="web_search_tool_result", tool_use_id="srvtoolu_p", content=[result]
                ),
            ),
            stop(0),
            *text(1, "NVDA is at 100."),
            *end("end_turn", 9),
        ]
    return paused(body)


def pause_always(body: dict[str, Any]) -> list[Any]:
    """A turn that pauses every time it is sent back, with another search each time."""
    last = body["messages"][-1]
    made = len(last["content"]) if last["role"] == "assistant" else 0
    return paused(body, f"srvtoolu_p{made}")


def paused(body: dict[str, Any], call_id: str = "srvtoolu_p") -> list[Any]:
    query = {"query": "NVDA price"}
    return [
        start(body["model"], "msg_paused", 30),
        block(
            0,
            t.ServerToolUseBlock(type="server_tool_use", id=call_id, name="web_search", input={}),
        ),
        delta(0, t.InputJSONDelta(type="input_json_delta", partial_json=json.dumps(query))),
        stop(0),
        *end("pause_turn", 6),
    ]


def results_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    last = body["messages"][-1]
    content = last["content"] if isinstance(last["content"], list) else []
    return [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]


def results_said(body: dict[str, Any], message_id: str) -> list[Any]:
    said = "; ".join(
        f"{r['tool_use_id']}{' failed' if r.get('is_error') else ''}: {r['content']}"
        for r in results_of(body)
    )
    return [start(body["model"], message_id, 40), *text(0, said), *end("end_turn", 8)]


def tool_use(index: int, call_id: str, given: dict[str, Any], streamed: str) -> list[Any]:
    use = t.ToolUseBlock(type="tool_use", id=call_id, name="position_value", input=given)
    piece = t.InputJSONDelta(type="input_json_delta", partial_json=streamed)
    return [block(index, use), delta(index, piece)]


def one_index_two_calls(body: dict[str, Any]) -> list[Any]:
    if results_of(body):
        return results_said(body, "msg_pair_2")
    return [
        start(body["model"], "msg_pair_1", 25),
        *tool_use(1, "toolu_a", {}, json.dumps({"ticker": "NVDA", "shares": 1})),
        *tool_use(1, "toolu_b", {}, json.dumps({"ticker": "AAPL", "shares": 2})),
        stop(1),
        *end("tool_use", 15),
    ]


def disagreeing_call(body: dict[str, Any]) -> list[Any]:
    if results_of(body):
        return results_said(body, "msg_disagree_2")
    given = {"ticker": "NVDA", "shares": 3}
    return [
        start(body["model"], "msg_disagree_1", 25),
        *tool_use(1, "toolu_d", given, json.dumps({"ticker": "AAPL", "shares": 1000})),
        stop(1),
        *end("tool_use", 15),
    ]


def look(body: dict[str, Any]) -> list[Any]:
    """Says what the last user message carries, as a model given it would read it: each
    image block's type and size (a PNG's, from its header), the first line of its text and
    each attachment's first line (those starting with ``@``)."""
    content = body["messages"][-1]["content"]
    blocks = content if isinstance(content, list) else [{"type": "text", "text": content}]
    seen = []
    for b in blocks:
        if b["type"] == "image":
            png = base64.b64decode(b["source"]["data"], validate=True)
            width, height = struct.unpack(">II", png[16:24]) if png[12:16] == b"IHDR" else (0, 0)
            seen.append(f"{b['source']['media_type']} {width}x{height}")
    lines = next(b["text"] for b in blocks if b["type"] == "text").splitlines()
    attached = [line for line in lines if line.startswith("@")]
    said = f"{len(seen)} image(s): {', '.join(seen) or 'none'}; text: {lines[0]}"
    said += f"; attached: {' | '.join(attached) or 'nothing'}"
    return [start(body["model"], "msg_look", 30), *text(0, said), *end("end_turn", 12)]


def unpaired_tools(messages: list[dict[str, Any]]) -> str | None:
    """What Anthropic's API says of a thread whose ``tool_use`` and ``tool_result`` blocks
    do not pair up; None when they do."""

    def blocks(message: dict[str, Any], kind: str) -> list[dict[str, Any]]:
        content = message["content"] if isinstance(message["content"], list) else []
        return [b for b in content if isinstance(b, dict) and b.get("type") == kind]

    for at, message in enumerate(messages):
        if message["role"] == "assistant":
            uses = [b["id"] for b in blocks(message, "tool_use")]
            if len(set(uses)) != len(uses):
                return f"messages.{at}: tool_use ids must be unique: {uses}"
            after = messages[at + 1] if at + 1 < len(messages) else None
            answered = {b["tool_use_id"] for b in blocks(after, "tool_result")} if after else set()
            if after is not None and set(uses) - answered:
                return f"messages.{at}: tool_use ids without tool_result: {set(uses) - answered}"
        else:
            before = messages[at - 1] if at > 0 else {"content": []}
            uses = {b["id"] for b in blocks(before, "tool_use")}
            for result in blocks(message, "tool_result"):
                if result["tool_use_id"] not in uses:
                    return f"messages.{at}: unexpected tool_use_id {result['tool_use_id']}"
    return None


SCRIPTS = {
    "one-index-two-calls": one_index_two_calls,
    "disagreeing-call": disagreeing_call,
    "search": search,
    "tools": tools,
    "overloaded": overloaded,
    "max-tokens": max_tokens,
    "max-tokens-call": max_tokens_in_a_call,
    "stop-sequence": stop_sequence,
    "refusal": refusal,
    "pause-turn": pause_turn,
    "pause-always": pause_always,
    "look": look,
}


def frame(event: Any) -> bytes:
    data = event if isinstance(event, dict) else json.loads(event.to_json(indent=None))
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def answer(self, status: int, body: Any) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def error(self, status: int, kind: str, message: str) -> None:
        self.answer(status, {"type": "error", "error": {"type": kind, "message": message}})

    def do_GET(self) -> None:
        if self.path == "/health":
            self.answer(200, {"ok": True})
        elif self.path == "/gone":
            self.answer(200, GONE)
        else:
            self.error(404, "not_found_error", self.path)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path != "/v1/messages":
            return self.error(404, "not_found_error", self.path)
        # the key in either header, as the SDK's credential code takes it (2.10 sends Bearer)
        if KEY not in (self.headers.get("x-api-key"), self.headers.get("authorization", "")[7:]):
            return self.error(401, "authentication_error", "invalid x-api-key")
        if not self.headers.get("anthropic-version"):
            return self.error(400, "invalid_request_error", "anthropic-version: header is required")
        try:
            CHECK.validate_python(body)
        except pydantic.ValidationError as exc:
            return self.error(400, "invalid_request_error", str(exc))
        unpaired = unpaired_tools(body["messages"])
        if unpaired is not None:
            return self.error(400, "invalid_request_error", unpaired)
        model = body["model"]
        if model.startswith("status-"):
            status = int(model.removeprefix("status-"))
            kind = "overloaded_error" if status == 529 else "invalid_request_error"
            return self.error(status, kind, f"scripted {status}")
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        if model == "slow":
            return self.slow(body)
        for event in SCRIPTS.get(model, thinking)(body):
            self.wfile.write(frame(event))
            self.wfile.flush()

    def slow(self, body: dict[str, Any]) -> None:
        try:
            self.wfile.write(
                frame(start("slow", "msg_slow", 3)) + b"".join(map(frame, text(0)[:1]))
            )
            for _ in range(6000):
                self.wfile.write(frame(delta(0, t.TextDelta(type="text_delta", text="word "))))
                self.wfile.flush()
                time.sleep(0.05)
        except (BrokenPipeError, ConnectionResetError):
            GONE.append("slow")


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()

"""A scripted model for the real coding agents the ACP tests run, on 127.0.0.1, so they run
offline: Anthropic's Messages API for Claude Code (every frame one of the ``anthropic`` SDK's
own event models, as ``tests/interop/messages_server/scripted_messages.py`` makes them) and
OpenAI's Responses API for Codex (the events as the Responses API streams them), Gemini's
``generateContent`` / ``streamGenerateContent`` for Gemini CLI. Whatever it
is asked, it answers ``The scripted model says: <the last words of the user's message>``.
Every request's path and model is logged to ``GET /log``. Usage: ``python scripted_model.py
PORT``, run by ``.tools/anthropic``'s Python.

Two scripts make the coding agents ask the client's permission, by the user's message:
``write PATH TEXT...`` (Claude Code: a ``tool_use`` of its file-writing tool, ``Write`` as the
request declares it) and ``run COMMAND...`` (Codex: a call of its shell tool, as the request
declares it); the turn after the tool's result answers ``The scripted model says: the tool
said <its result's first words>``. A third, ``mcpcall TOOL JSON`` (both agents), calls the
MCP tool the request declares by that name (an MCP server's tool, whatever prefix the agent
gives it) with the JSON's arguments; the turn after answers with its whole result (at most
400 characters)."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "messages_server"))
from scripted_messages import block, delta, end, frame, start, stop, text

LOG: list[dict[str, Any]] = []
_lock = threading.Lock()


def last_words(body: dict[str, Any]) -> str:
    """The end of the last user text the request holds (the agent wraps it in its own)."""
    found = ""
    for message in body.get("messages") or body.get("input") or body.get("contents") or []:
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content", message.get("parts"))
        pieces = [content] if isinstance(content, str) else content or []
        for piece in pieces:
            value = piece if isinstance(piece, str) else piece.get("text", "")
            if value.strip() and not value.lstrip().startswith("<"):
                found = value.strip()
    return " ".join(found.split()[-4:])


def pieces(said: str) -> list[str]:
    """``said`` in the pieces a model streams: word by word, the spaces kept."""
    words = said.split(" ")
    return [word + " " for word in words[:-1]] + words[-1:]


def user_text(body: dict[str, Any]) -> str:
    """The last user text the request holds, whole (see :func:`last_words`)."""
    found = ""
    for message in body.get("messages") or body.get("input") or []:
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        pieces = [content] if isinstance(content, str) else content or []
        for piece in pieces:
            value = piece if isinstance(piece, str) else piece.get("text", "")
            if value.strip() and not value.lstrip().startswith("<"):
                found = value.strip()
    return found


def tool_result(body: dict[str, Any]) -> str | None:
    """The text of the tool result the request ends with (None: it ends otherwise)."""
    items = body.get("messages") or body.get("input") or []
    last = items[-1] if items else {}
    if last.get("type") == "function_call_output":
        output = last.get("output")
        return output if isinstance(output, str) else json.dumps(output)
    content = last.get("content") if last.get("role") == "user" else None
    for piece in content if isinstance(content, list) else []:
        if isinstance(piece, dict) and piece.get("type") == "tool_result":
            inner = piece.get("content")
            if isinstance(inner, list):
                inner = " ".join(str(i.get("text", "")) for i in inner if isinstance(i, dict))
            return f"{'error: ' if piece.get('is_error') else ''}{inner}"
    return None


def declared(body: dict[str, Any], *names: str) -> str | None:
    """The first of ``names`` the request declares as a tool (by its name's end)."""
    tools = [str(tool.get("name", "")) for tool in body.get("tools") or []]
    for name in names:
        for tool in tools:
            if tool == name or tool.endswith(f"__{name}"):
                return tool
    return None


def mcp_call(body: dict[str, Any], words: list[str]) -> tuple[str, str, str | None] | None:
    """``mcpcall TOOL JSON``, before the tool's result: the declared tool's full name, the
    arguments (JSON text) and its namespace (Codex declares an MCP server's tools as one
    Responses API ``namespace`` tool, ``mcp__SERVER``, whose calls name it); None otherwise."""
    if words[0] != "mcpcall" or len(words) < 2 or tool_result(body) is not None:
        return None
    arguments = " ".join(words[2:]) or "{}"
    tool = declared(body, words[1])
    if tool is not None:
        return tool, arguments, None
    for group in body.get("tools") or []:
        inner = {str(t.get("name")) for t in group.get("tools") or [] if isinstance(t, dict)}
        if group.get("type") == "namespace" and words[1] in inner:
            return words[1], arguments, str(group.get("name"))
    return None


def answer_of(body: dict[str, Any]) -> str:
    result = tool_result(body)
    if result is not None and user_text(body).startswith("mcpcall "):
        return f"The scripted model says: the tool said {' '.join(result.split())[:400]}"
    if result is not None:
        return f"The scripted model says: the tool said {' '.join(result.split()[:6])}"
    return f"The scripted model says: {last_words(body)}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def send_json(self, status: int, body: Any) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:
        if self.path == "/log":
            with _lock:
                self.send_json(200, LOG)
        else:
            self.send_json(200, {"ok": True})

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        path = self.path.split("?", 1)[0]
        with _lock:
            LOG.append({"path": path, "model": body.get("model"), "stream": body.get("stream")})
        if path.endswith("/messages/count_tokens"):
            return self.send_json(200, {"input_tokens": 12})
        if path.endswith("/messages"):
            return self.messages(body)
        if path.endswith("/responses"):
            return self.respond(body)
        if path.endswith(":countTokens"):
            return self.send_json(200, {"totalTokens": 12})
        if path.endswith(":generateContent") or path.endswith(":streamGenerateContent"):
            return self.generate(body, path.rsplit("/", 1)[-1].split(":")[0], path)
        self.send_json(404, {"error": {"type": "not_found_error", "message": path}})

    def stream(self, frames: list[bytes]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        for piece in frames:
            self.wfile.write(piece)
            self.wfile.flush()
        self.close_connection = True

    def messages(self, body: dict[str, Any]) -> None:
        model, said = str(body.get("model")), answer_of(body)
        words = user_text(body).split(" ")
        writer = declared(body, "Write")
        called = mcp_call(body, words)
        if called is not None and body.get("stream"):
            use = {
                "type": "tool_use",
                "id": "toolu_mcp",
                "name": called[0],
                "input": {},
            }  # no namespace
            events = [
                start(model, "msg_mcp", 12),
                block(0, use),
                delta(0, {"type": "input_json_delta", "partial_json": called[1]}),
                stop(0),
                *end("tool_use", 7),
            ]
            return self.stream([frame(event) for event in events])
        if words[0] == "write" and writer and body.get("stream") and tool_result(body) is None:
            given = {"file_path": words[1], "content": " ".join(words[2:]) + "\n"}
            use = {"type": "tool_use", "id": "toolu_write", "name": writer, "input": {}}
            events = [
                start(model, "msg_write", 12),
                block(0, use),
                delta(0, {"type": "input_json_delta", "partial_json": json.dumps(given)}),
                stop(0),
                *end("tool_use", 7),
            ]
            return self.stream([frame(event) for event in events])
        if not body.get("stream"):
            message = {
                "id": "msg_scripted",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": said}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 12, "output_tokens": 7},
            }
            return self.send_json(200, message)
        events = [start(model, "msg_scripted", 12), *text(0, *pieces(said)), *end("end_turn", 7)]
        self.stream([frame(event) for event in events])

    def respond(self, body: dict[str, Any]) -> None:
        said = answer_of(body)
        words = user_text(body).split(" ")
        if words[0] == "run" and tool_result(body) is None:
            return self.call_shell(body, " ".join(words[1:]))
        called = mcp_call(body, words)
        if called is not None:
            return self.call_function(body, *called)
        item = {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed"}
        part = {"type": "output_text", "text": said, "annotations": []}
        deltas = [
            {
                "type": "response.output_text.delta",
                "item_id": "msg_1",
                "output_index": 0,
                "content_index": 0,
                "delta": word,
            }
            for word in pieces(said)
        ]
        started = {**item, "status": "in_progress", "content": []}
        self.stream_response(body, "resp_1", started, deltas, {**item, "content": [part]})

    def call_shell(self, body: dict[str, Any], command: str) -> None:
        """A Responses API turn that calls the agent's shell tool with ``command``."""
        tool = declared(body, "shell_command", "shell", "exec_command") or "shell"
        arguments: dict[str, Any] = {
            "shell_command": {"command": command},
            "shell": {"command": ["bash", "-lc", command]},
            "exec_command": {"cmd": command},
        }.get(tool, {"command": ["bash", "-lc", command]})
        self.call_function(body, tool, json.dumps(arguments))

    def call_function(
        self, body: dict[str, Any], tool: str, arguments: str, namespace: str | None = None
    ) -> None:
        """A Responses API turn that calls the function ``tool`` (of ``namespace``, where it
        has one) with ``arguments`` (JSON)."""
        item: dict[str, Any] = {
            "id": "fc_1",
            "type": "function_call",
            "call_id": "call_run_1",
            "name": tool,
            "arguments": arguments,
            "status": "completed",
            **({"namespace": namespace} if namespace else {}),
        }
        at = {"item_id": "fc_1", "output_index": 0}
        deltas = [
            {"type": "response.function_call_arguments.delta", **at, "delta": item["arguments"]},
            {"type": "response.function_call_arguments.done", **at, "arguments": item["arguments"]},
        ]
        started = {**item, "arguments": "", "status": "in_progress"}
        self.stream_response(body, "resp_run", started, deltas, item)

    def stream_response(
        self,
        body: dict[str, Any],
        response_id: str,
        started: dict[str, Any],
        deltas: list[dict[str, Any]],
        done: dict[str, Any],
    ) -> None:
        """A Responses API turn of one output item: ``started`` as it is added, ``deltas``,
        then ``done`` as it and the response complete (with the turn's usage)."""
        response = {
            "id": response_id,
            "object": "response",
            "model": body.get("model"),
            "status": "in_progress",
        }
        usage = {
            "input_tokens": 12,
            "output_tokens": 7,
            "total_tokens": 19,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 0},
        }
        events: list[dict[str, Any]] = [
            {"type": "response.created", "response": response},
            {"type": "response.output_item.added", "output_index": 0, "item": started},
            *deltas,
            {"type": "response.output_item.done", "output_index": 0, "item": done},
            {
                "type": "response.completed",
                "response": {**response, "status": "completed", "usage": usage, "output": [done]},
            },
        ]
        self.stream([f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events])

    def generate(self, body: dict[str, Any], model: str, path: str) -> None:
        """Gemini's ``generateContent`` (one JSON answer) or ``streamGenerateContent``
        (``?alt=sse``: one ``GenerateContentResponse`` a frame, the last with its
        ``finishReason`` and ``usageMetadata``)."""
        said = answer_of(body)
        usage = {"promptTokenCount": 12, "candidatesTokenCount": 7, "totalTokenCount": 19}

        def chunk(text: str, last: bool) -> dict[str, Any]:
            candidate: dict[str, Any] = {
                "content": {"role": "model", "parts": [{"text": text}]},
                "index": 0,
            }
            answer: dict[str, Any] = {"candidates": [candidate], "modelVersion": model}
            if last:
                candidate["finishReason"] = "STOP"
                answer["usageMetadata"] = usage
            return answer

        if path.endswith(":generateContent"):
            return self.send_json(200, chunk(said, True))
        words = pieces(said)
        frames = [chunk(word, i == len(words) - 1) for i, word in enumerate(words)]
        self.stream([f"data: {json.dumps(f)}\n\n".encode() for f in frames])


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()

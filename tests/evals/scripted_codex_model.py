"""A scripted Responses API for Codex on 127.0.0.1 (stdlib only): asked to fix ``add``, it
first calls Codex's ``exec_command`` tool with a command that fixes ``calc.py`` in the turn's
working directory; given that call's output, it answers ``fixed``. Usage: ``python
scripted_codex_model.py PORT``; ``GET /log`` lists the commands it had Codex run."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FIX = "sed -i 's/a - b/a + b/' calc.py"
LOG: list[str] = []
_lock = threading.Lock()
USAGE = {
    "input_tokens": 12,
    "output_tokens": 7,
    "total_tokens": 19,
    "input_tokens_details": {"cached_tokens": 0},
    "output_tokens_details": {"reasoning_tokens": 0},
}


def called_already(body: dict[str, Any]) -> bool:
    return any(
        isinstance(item, dict) and item.get("type") == "function_call_output"
        for item in body.get("input") or []
    )


def events_of(item: dict[str, Any], model: Any) -> list[dict[str, Any]]:
    """One output item streamed as the Responses API streams it."""
    response = {"id": "resp_1", "object": "response", "model": model, "status": "in_progress"}
    return [
        {"type": "response.created", "response": response},
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.output_item.done", "output_index": 0, "item": item},
        {
            "type": "response.completed",
            "response": {**response, "status": "completed", "usage": USAGE, "output": [item]},
        },
    ]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        with _lock:
            raw = json.dumps(LOG).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if called_already(body):
            part = {"type": "output_text", "text": "fixed", "annotations": []}
            item = {"id": "msg_1", "type": "message", "role": "assistant",
                    "status": "completed", "content": [part]}  # fmt: skip
        else:
            with _lock:
                LOG.append(FIX)
            item = {"id": "fc_1", "type": "function_call", "status": "completed",
                    "call_id": "call_1", "name": "exec_command",
                    "arguments": json.dumps({"cmd": FIX, "login": False})}  # fmt: skip
        frames = [
            f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode()
            for e in events_of(item, body.get("model"))
        ]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        for frame in frames:
            self.wfile.write(frame)
            self.wfile.flush()
        self.close_connection = True


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()

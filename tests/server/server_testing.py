"""Helpers the server tests share: reading SSE, starting a run in each dialect (the request
itself is :func:`agentnb_testing.run_request`), waiting."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from agentnb_testing import run_request

from agentnb.server import DIALECT_PROVIDERS, ServerHandle
from agentnb.server._service import AppState


@dataclass
class SSE:
    data: str
    event: str | None = None
    id: str | None = None
    retry: int | None = None

    def json(self) -> Any:
        return json.loads(self.data)

    @property
    def number(self) -> int:
        assert self.id is not None
        return int(self.id.rpartition(":")[2])

    @property
    def run_id(self) -> str:
        if self.id is None:  # data-only frames (SeekrFlow's): the run id is in the payload
            body = self.json()
            meta = body.get("meta_data") or body.get("messageMetadata") or {}
            found = meta.get("run_id") or meta.get("runId")
            assert isinstance(found, str), body
            return found
        return self.id.rpartition(":")[0]


def _frame(lines: list[str]) -> SSE | None:
    frame = SSE(data="")
    data: list[str] = []
    for line in lines:
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name == "event":
            frame.event = value
        elif name == "id":
            frame.id = value
        elif name == "retry":
            frame.retry = int(value)
    if not data:
        return None
    frame.data = "\n".join(data)
    return frame


def parse_sse(text: str) -> list[SSE]:
    frames = (_frame(block.split("\n")) for block in text.split("\n\n") if block.strip())
    return [f for f in frames if f is not None]


def iter_sse(response: httpx.Response) -> Iterator[SSE]:
    lines: list[str] = []
    for line in response.iter_lines():
        if line:
            lines.append(line)
            continue
        frame = _frame(lines)
        lines = []
        if frame is not None:
            yield frame


def state_of(server: ServerHandle) -> AppState:
    state: AppState = server.app.state.agentnb
    return state


KINDS = list(DIALECT_PROVIDERS)
DATA_ONLY = {"seekrflow", "seekrflow-vercel"}
"""Dialects whose platform streams data-only frames: ids only with the ``ids`` fault flag."""
NO_IDS = {*DATA_ONLY, "openai-responses"}
"""... and those whose events are numbered in their data (the Responses API's
``sequence_number``): ids only with the ``ids`` fault flag too."""
TERMINAL = {
    "seekrflow": "[DONE]",
    "seekrflow-vercel": "[DONE]",
    "openai": "[DONE]",
    "vercel": "[DONE]",
}


def stream(client: httpx.Client, kind: str, **kwargs: Any) -> list[SSE]:
    path, body = run_request(client, kind, **kwargs)
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return parse_sse(response.text)


def is_complete(kind: str, frames: list[SSE]) -> bool:
    last = frames[-1]
    if kind in TERMINAL:
        return last.data == "[DONE]"
    if kind == "runagent":
        return last.event == "done"
    if kind == "runtools":
        return last.event == "complete"
    if kind == "ag-ui":
        return bool(last.json()["type"] == "RUN_FINISHED")
    if kind == "langgraph":
        return last.event == "end"
    if kind == "openai-responses":
        return bool(last.json()["type"] == "response.completed")
    if kind == "a2a":
        update = last.json()["result"].get("statusUpdate", {})
        return bool(update.get("status", {}).get("state") == "TASK_STATE_COMPLETED")
    return last.json()["event"] == "STOP"


def ipv6_loopback_available() -> bool:
    """True where this machine can listen on ``::1``."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True

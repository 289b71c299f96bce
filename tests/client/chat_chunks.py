"""Frames of a scripted Chat Completions stream, for tests whose server on 127.0.0.1 says
exactly what a platform would (tool calls with crafted arguments, an agent that never stops
calling)."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["chat_chunk"]


def chat_chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    """One ``chat.completion.chunk`` SSE frame carrying ``delta`` (and a finish reason)."""
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    body = {"id": "c1", "object": "chat.completion.chunk", "model": "m", "choices": [choice]}
    return f"data: {json.dumps(body)}\n\n".encode()

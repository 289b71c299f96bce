"""A scripted LLM judge on 127.0.0.1: a Chat Completions stream that grades every answer
``{"score": 0.75, ...}`` with a fixed usage, so each judge run has a known price; it can be
held until the test lets it answer."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from agentnb_testing import asgi_body, serving_asgi

import agentnb

__all__ = ["JUDGE_MODEL", "JUDGE_RUN_COST", "ScriptedJudge", "scripted_judge"]

JUDGE_MODEL = "scripted-judge"
JUDGE_RUN_COST = 0.013
"""USD one judge run costs at the prices :func:`scripted_judge` sets: 1000 prompt tokens at
$10 and 100 completion tokens at $30 a million."""


def _frame(body: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(body)}\n\n".encode()


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return _frame({"id": "j", "object": "chat.completion.chunk", "model": JUDGE_MODEL,
                   "choices": [choice]})  # fmt: skip


class ScriptedJudge:
    """The judge's ASGI app: ``asked`` holds the prompts it was sent; while ``held`` is
    clear, it waits before answering."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.held = threading.Event()
        self.held.set()
        self.answer = json.dumps({"score": 0.75, "rationale": "states the price"})
        """What it answers every prompt with."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = await asgi_body(scope, receive, send)
        if body is None:
            return
        self.asked.append(json.loads(body)["messages"][-1]["content"])
        await asyncio.to_thread(self.held.wait)
        grade = self.answer
        usage = {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100}
        head = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": head})
        last = {"id": "j", "object": "chat.completion.chunk", "model": JUDGE_MODEL}
        for frame in (
            _chunk({"role": "assistant", "content": grade}),
            _chunk({}, "stop"),
            _frame({**last, "choices": [], "usage": usage}),
            b"data: [DONE]\n\n",
        ):
            await send({"type": "http.response.body", "body": frame, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


@contextmanager
def scripted_judge(name: str) -> Iterator[ScriptedJudge]:
    """The scripted judge served on 127.0.0.1 as connection ``name`` (openai dialect), its
    model priced; the prices are cleared on leaving."""
    app = ScriptedJudge()
    with serving_asgi(app) as base:
        agentnb.connect("openai", base_url=f"{base}/v1", api_key="judge-key", name=name)
        agentnb.set_prices({JUDGE_MODEL: {"input_mtok": 10, "output_mtok": 30}})
        try:
            yield app
        finally:
            agentnb.set_prices(None)

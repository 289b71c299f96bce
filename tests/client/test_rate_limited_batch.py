"""A rate-limited platform (a raw-socket server answering 429 with Retry-After): one 429
holds every run of the client until the time it names, and an experiment of four windows' worth
of questions finishes with every question answered once."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import pytest
from hostile_server import Conn, HostileServer, Request, http_head, sse_head

import agentnb
import agentnb.evals
from agentnb._client.async_client import AsyncAgentClient
from agentnb._history import close_default_stores
from agentnb.history import HistoryStore

RETRY_AFTER = 1.0


def chunk(content: str) -> bytes:
    body = {"id": "c1", "choices": [{"index": 0, "delta": {"content": content}}]}
    return f"data: {json.dumps(body)}\n\n".encode()


def finish() -> bytes:
    body = {"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    return f"data: {json.dumps(body)}\n\ndata: [DONE]\n\n".encode()


def question_of(request: Request) -> str:
    question: str = json.loads(request.body)["messages"][-1]["content"]
    return question


async def echo(conn: Conn, request: Request) -> None:
    await conn.send(sse_head() + chunk(question_of(request)) + finish())


async def too_many(conn: Conn) -> None:
    head = {"Retry-After": f"{RETRY_AFTER:g}", "Content-Length": "0"}
    await conn.send(http_head("429 Too Many Requests", head))


async def test_a_429_holds_every_run_of_the_client() -> None:
    """Run A is refused with Retry-After: 1; run B, started once the client has read that,
    reaches the server no sooner than A's retry: the client waits as one."""
    arrivals: list[tuple[float, str]] = []
    refused_at: list[float] = []

    async def handler(conn: Conn, request: Request) -> None:
        arrivals.append((time.monotonic(), question_of(request)))
        if not refused_at:
            refused_at.append(time.monotonic())
            await too_many(conn)
            return
        await echo(conn, request)

    with HostileServer(handler) as server:
        async with AsyncAgentClient(
            "openai", base_url=server.url, api_key="k", record=False
        ) as client:
            held = asyncio.Event()
            slept = client.transport.sleep

            async def sleep(seconds: float) -> None:
                held.set()  # the client has read the 429 and holds its runs
                await slept(seconds)

            client.transport.sleep = sleep  # type: ignore[method-assign]
            first = asyncio.ensure_future(client.run("m", "first"))
            await held.wait()
            second = await client.run("m", "second")
            assert (await first).text == "first" and second.text == "second"
    assert [question for _, question in arrivals] in (
        ["first", "first", "second"],
        ["first", "second", "first"],
    )
    later = [at for at, _ in arrivals[1:]]
    assert min(later) >= refused_at[0] + RETRY_AFTER - 0.01  # the server's clock is ours


class RateLimit:
    """At most ``per_window`` requests answered per ``RETRY_AFTER`` seconds; the others 429."""

    def __init__(self, per_window: int) -> None:
        self.per_window = per_window
        self.window = 0.0
        self.count = 0
        self.refused = 0
        self.answered: list[str] = []
        self.lock = threading.Lock()

    def admits(self) -> bool:
        with self.lock:
            now = time.monotonic()
            if now - self.window >= RETRY_AFTER:
                self.window, self.count = now, 0
            self.count += 1
            if self.count > self.per_window:
                self.refused += 1
                return False
            return True

    async def __call__(self, conn: Conn, request: Request) -> None:
        if not self.admits():
            await too_many(conn)
            return
        self.answered.append(question_of(request))
        await echo(conn, request)


QUESTIONS = 240
"""Four of the limit's windows: enough for runs to be refused, held and sent again in each."""


def test_an_experiment_of_many_questions_finishes_against_a_rate_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AGENTNB_HISTORY", str(tmp_path / "history.sqlite3"))
    questions = [f"question {i}" for i in range(QUESTIONS)]
    limit = RateLimit(per_window=60)
    try:
        with HostileServer(limit) as server:
            client = agentnb.AgentClient("openai", base_url=server.url, api_key="k", max_retries=1)
            with client:
                result = agentnb.evals.experiment(
                    "many", "m", questions, concurrency=32, via=client, progress=True
                ).runs()
    finally:
        close_default_stores()
    assert limit.refused > 0  # the limit was hit ...
    lost = {i: (run.status, run.error) for i, run in enumerate(result) if run.status != "completed"}
    assert lost == {}  # ... nothing lost
    assert [run.answer for run in result] == questions
    assert sorted(limit.answered) == sorted(questions)  # each question answered once

    with HistoryStore(tmp_path / "history.sqlite3") as store:
        frame = agentnb.evals.experiment("many", store=store).to_pandas()
        assert frame["status"].eq("completed").all() and len(frame) == len(questions)
        every = store.runs().to_pandas()
    refused = every[every["status"] == "failed"]
    assert len(every) == len(questions) + len(refused)
    # A run refused after its own retry is kept, failed, and its question sent again.
    assert set(refused["error_code"]) <= {"RateLimitError"}
    assert set(refused["message"]) <= set(questions)
    last = capsys.readouterr().err.strip().split("\r")[-1]
    assert last.startswith(f"experiment many: {QUESTIONS}/{QUESTIONS} runs")
    assert "left" not in last

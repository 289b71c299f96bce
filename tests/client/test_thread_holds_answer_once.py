"""A Vercel run and its thread hold the answer once: the UI message the thread keeps for the
next turn reads its text from the run (the same strings, no copy of its own), through a real
chat route on 127.0.0.1, with tool calls between the texts, and across an approval."""

from __future__ import annotations

import pytest
from agentnb_testing import client_for

from agentnb.server import ServerHandle


@pytest.mark.parametrize(
    ("agent", "message"), [("writer", "Streams"), ("finance_agent", "NVDA and QQQQ please")]
)
async def test_the_thread_keeps_the_runs_own_text(
    server: ServerHandle, agent: str, message: str
) -> None:
    async with client_for(server, "vercel", record=False) as client:
        run = await client.run(agent, message)
        assert run.status == "completed" and run.thread_id is not None
        user, assistant = client.provider.history(run.thread_id)
        kept = client.provider.threads.messages(run.thread_id)[1]
    texts = [part["text"] for part in kept["parts"] if part["type"] == "text"]
    run_texts = [part.text for part in run.parts if part.kind == "text"]
    assert texts == run_texts and "".join(texts) == run.text and run.text
    assert all(a is b for a, b in zip(texts, run_texts, strict=True))  # one string, not two
    assert user["role"] == "user" and assistant == kept


async def test_a_follow_up_sends_the_answer_the_run_kept(server: ServerHandle) -> None:
    async with client_for(server, "vercel", record=False) as client:
        first = await client.run("echo", "Hello **there**")
        second = await client.run("echo", "again", thread_id=first.thread_id)
        assert second.status == "completed"
        sent = client.provider.threads.messages(first.thread_id)
    answer = "".join(p["text"] for p in sent[1]["parts"] if p["type"] == "text")
    assert answer == first.text and len(sent) == 4

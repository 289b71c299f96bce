"""The conversations a stateless dialect keeps on the client stay bounded over a long session:
the most recently used threads are kept (a follow-up or a retry on them sends the whole thread),
older ones are dropped, and a follow-up on a dropped thread says why it cannot be sent."""

from __future__ import annotations

import asyncio
import json

from agentnb._core.request import build_request
from agentnb.events import RunCompleted
from agentnb.providers import SendJson
from agentnb.providers._client_threads import MAX_KEPT_THREADS
from agentnb.providers.openai import OpenAI
from agentnb.sse import ServerSentEvent


async def _no_io(request: object) -> object:
    raise AssertionError("a stateless dialect sends nothing before its stream")


SEND: SendJson = _no_io  # type: ignore[assignment]


def one_run(provider: OpenAI, message: str, thread_id: str | None = None) -> str:
    """A whole run as the client drives it: prepare, the request, the frames, finalize."""
    request = asyncio.run(
        provider.prepare(build_request("gpt", message, thread_id=thread_id), SEND)
    )
    provider.stream_http_request(request)
    translator = provider.translator(request)
    chunk = {"id": f"run-{message}", "choices": [{"index": 0, "delta": {"content": "ok"}}]}
    events = translator.translate(ServerSentEvent(data=json.dumps(chunk)))
    events += translator.translate(ServerSentEvent(data="[DONE]"))
    completed = events[-1]
    assert isinstance(completed, RunCompleted)
    asyncio.run(provider.finalize(request, translator, completed, SEND))
    assert request.thread_id is not None
    return request.thread_id


def test_the_least_recently_used_threads_are_dropped_past_the_bound() -> None:
    provider = OpenAI()
    first = one_run(provider, "q0")
    kept = [one_run(provider, f"q{n}") for n in range(1, MAX_KEPT_THREADS + 1)]
    assert not provider.threads.knows(first)
    why = provider.cannot_continue(first)
    assert why is not None and "does not hold thread" in why
    assert str(MAX_KEPT_THREADS) in why
    assert all(provider.threads.knows(thread) for thread in kept)
    assert provider.history(kept[-1]) == [
        {"role": "user", "content": f"q{MAX_KEPT_THREADS}"},
        {"role": "assistant", "content": "ok"},
    ]


def test_a_thread_in_use_is_kept_while_others_come_and_go() -> None:
    provider = OpenAI()
    talked = one_run(provider, "first question")
    for n in range(MAX_KEPT_THREADS + 5):
        if n % 100 == 0:
            one_run(provider, f"follow-up {n}", thread_id=talked)
        one_run(provider, f"other {n}")
    assert provider.threads.knows(talked)
    assert provider.history(talked)[0] == {"role": "user", "content": "first question"}

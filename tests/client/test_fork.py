"""A retried turn forks its thread where the dialect can (``RunRequest.fork``): the model is
given the thread as it was before the turn, never the answer being retried, and the thread it
forked from keeps that answer. Proven on what the built-in server (real uvicorn) received:
the retry's history and prompt tokens equal the replaced turn's, and hold nothing of it."""

from __future__ import annotations

from typing import Any

import pytest

from agentnb import AsyncAgentClient, ConfigurationError, InvalidRequestError, Run
from agentnb._core.request import build_request
from agentnb.providers import available_providers, get_provider
from agentnb.server import DIALECT_PROVIDERS, ServerHandle
from agentnb.server._run_log import RunLog
from agentnb.types import Fork

FORKING = ("vercel", "ag-ui", "openai", "openai-responses", "langgraph", "anthropic")
NOT_FORKING = ("operativus", "runagent", "runtools", "seekrflow", "seekrflow-vercel", "a2a")


def client_of(server: ServerHandle, provider: str) -> AsyncAgentClient:
    settings = server.client_settings(provider)
    return AsyncAgentClient(provider, **settings, api_key=server.api_key, record=False)


def asked(server: ServerHandle, message: str) -> list[RunLog]:
    """The server's logs of the runs asked ``message``, oldest first."""
    return [log for log in server.app.state.agentnb.runs.all() if log.request.message == message]


def received(server: ServerHandle, message: str) -> RunLog:
    """The server's log of the (latest) run asked ``message``."""
    logs = asked(server, message)
    assert logs, f"the server got no run asking {message!r}"
    return logs[-1]


def history_of(log: RunLog) -> list[tuple[str, str]]:
    return [(m.role, m.content) for m in log.request.history]


async def retry(
    client: AsyncAgentClient, replaced: Run, started_from: str | None, text: str
) -> Run:
    """``text`` in place of the turn ``replaced``, asked on ``started_from``."""
    fork = Fork(thread_id=replaced.thread_id or "", run_id=replaced.run_id)
    request = build_request("echo", text, thread_id=started_from)
    return await client.run(request.model_copy(update={"fork": fork}))


@pytest.mark.parametrize("provider", [p for p in FORKING if p in DIALECT_PROVIDERS])
async def test_a_retry_is_given_the_thread_before_the_turn_it_replaces(
    server: ServerHandle, provider: str
) -> None:
    tag = f"{provider}-{id(server)}"
    first_q, second_q = f"first {tag}", f"second {tag}"
    async with client_of(server, provider) as client:
        first = await client.run("echo", first_q)
        second = await client.run("echo", second_q, thread_id=first.thread_id)
        again = await retry(client, second, first.thread_id, second_q)
    assert again.status == "completed", again.error
    turn_two, retried = asked(server, second_q)
    assert history_of(retried) == history_of(turn_two)
    assert [content for _, content in history_of(retried)] == [first_q, first_q]  # + the echo
    assert all(second_q not in content for _, content in history_of(retried))
    # the same prompt, token for token: the retried turn's answer is not in it
    assert again.usage is not None and second.usage is not None
    assert again.usage.prompt_tokens == second.usage.prompt_tokens


@pytest.mark.parametrize("provider", ["vercel", "ag-ui", "openai"])
async def test_a_client_thread_forks_into_a_new_thread_and_the_old_one_keeps_its_turns(
    server: ServerHandle, provider: str
) -> None:
    async with client_of(server, provider) as client:
        first = await client.run("echo", "one")
        second = await client.run("echo", "two", thread_id=first.thread_id)
        again = await retry(client, second, first.thread_id, "two, again")
        after = await client.run("echo", "three", thread_id=again.thread_id)
        kept: Any = client.provider
        old, forked = kept.history(first.thread_id), kept.history(again.thread_id)
    assert again.thread_id not in (None, first.thread_id)
    assert _texts(old).count("two") == 2  # the question and its echo: the old thread keeps them
    assert "two" not in _texts(forked) and "two, again" in _texts(forked)
    three = received(server, "three")
    assert [content for _, content in history_of(three) if content.startswith("two")] == [
        "two, again",
        "two, again",
    ]
    assert after.status == "completed"


@pytest.mark.parametrize("provider", ["vercel", "ag-ui", "openai"])
async def test_a_turn_that_never_joined_its_thread_is_retried_on_the_thread_as_it_is(
    server: ServerHandle, provider: str
) -> None:
    """A failed or cancelled run never joins its client-side thread: the thread is already
    the state before it. A thread this process never held cannot be forked at all."""
    async with client_of(server, provider) as client:
        first = await client.run("echo", "held one")
        failed = Run(agent="echo", message="x", run_id="run-that-failed")
        failed.thread_id = first.thread_id
        again = await retry(client, failed, first.thread_id, "held two")
        forgotten = Run(agent="echo", message="x", run_id="r")
        forgotten.thread_id = "thread-this-process-never-had"
        with pytest.raises(ConfigurationError, match="not kept by this process"):
            await retry(client, forgotten, forgotten.thread_id, "again")
    assert again.thread_id == first.thread_id
    assert history_of(received(server, "held two")) == [
        ("user", "held one"),
        ("assistant", "held one"),
    ]


async def test_langgraph_replaces_a_first_turn_on_a_new_thread(server: ServerHandle) -> None:
    async with client_of(server, "langgraph") as client:
        first = await client.run("echo", "lg first only")
        again = await retry(client, first, first.thread_id, "lg first, again")
    assert again.status == "completed"
    assert again.thread_id != first.thread_id
    assert history_of(received(server, "lg first, again")) == []


async def test_langgraph_forks_a_turn_resumed_after_an_approval_from_before_its_question(
    server: ServerHandle,
) -> None:
    async with client_of(server, "langgraph") as client:
        first = await client.run("echo", "lg before the trade")
        trade = await client.run("trader", "Buy 3 NVDA", thread_id=first.thread_id, approve=True)
        assert trade.status == "completed"
        again = await retry(client, trade, first.thread_id, "lg instead of the trade")
    history = history_of(received(server, "lg instead of the trade"))
    assert [content for _, content in history] == ["lg before the trade", "lg before the trade"]
    assert again.thread_id == first.thread_id  # the same thread, branched at the checkpoint


async def test_langgraph_retries_a_run_the_thread_holds_nothing_of_on_the_thread_as_it_is(
    server: ServerHandle,
) -> None:
    async with client_of(server, "langgraph") as client:
        first = await client.run("echo", "lg one")
        failed = Run(agent="echo", message="x", run_id="a-run-that-wrote-nothing")
        failed.thread_id = first.thread_id
        again = await retry(client, failed, first.thread_id, "lg two")
    assert again.thread_id == first.thread_id
    assert [content for _, content in history_of(received(server, "lg two"))] == ["lg one"] * 2


async def test_the_built_in_langgraph_server_refuses_an_unknown_checkpoint(
    server: ServerHandle,
) -> None:
    async with client_of(server, "langgraph") as client:
        first = await client.run("echo", "lg alone")
        with pytest.raises(InvalidRequestError, match="Invalid checkpoint ID"):
            await client.run("echo", "x", thread_id=first.thread_id, extra={"checkpoint_id": "no"})


def test_which_dialects_fork_is_read_from_their_providers() -> None:
    providers = available_providers()
    assert {name for name, cls in providers.items() if cls().capabilities().fork} == set(FORKING)
    for name in NOT_FORKING:
        why = get_provider(name).cannot_fork("thread-1")
        assert why is not None and "cannot start a thread again from before a turn" in why
    responses = get_provider("openai-responses")
    assert responses.cannot_fork("resp_1") is None
    why = responses.cannot_fork("conv_1")
    assert why is not None and "conversation (conv_1)" in why


def _texts(messages: list[dict[str, Any]]) -> list[str]:
    """Each message's text, in any of the three client-side shapes."""
    texts: list[str] = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            texts.append(content)
        for part in message.get("parts") or []:
            if part.get("type") == "text":
                texts.append(part["text"])
    return texts

"""Retries, typed errors, timeouts and resume, against the built-in server's injected faults."""

from __future__ import annotations

import random
import socket
import uuid
from typing import Any

import pytest
from agentnb_testing import STALL_TIMEOUT, growing_limits, stall_timeout
from run_outcomes import QUESTION, client_with_waits, comparable, outcome, stream_all

from agentnb import (
    AgentNBError,
    AuthenticationError,
    ConnectError,
    InvalidRequestError,
    NotFoundError,
    ProtocolError,
    RateLimitError,
    RunFailedError,
    RunInterruptedError,
    ServerError,
    StreamTimeoutError,
)
from agentnb._client.async_client import AsyncAgentClient
from agentnb.providers import HttpRequest, available_providers
from agentnb.server import DIALECT_PROVIDERS, ServerHandle

PROVIDERS = sorted(DIALECT_PROVIDERS)  # the dialects the built-in server speaks


def stream_posts(server: ServerHandle) -> int:
    """How many SSE responses the server is writing right now."""
    counter: int = server.app.state.agentnb.streams.open
    return counter


def secret_free(error: BaseException, key: str) -> None:
    seen: BaseException | None = error
    while seen is not None:
        assert key not in str(seen) and key not in repr(seen)
        seen = seen.__cause__ or seen.__context__


# ---- retries before the stream starts ---------------------------------------------------------
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("status", [429, 502, 503, 504])
async def test_retryable_status_then_success(
    server: ServerHandle, provider: str, status: int
) -> None:
    spec = f"status={status};retry-after=2;times=2"
    async with client_with_waits(server, provider, spec, max_retries=3) as client:
        run = await client.run("echo", "after the storm")
    assert run.status == "completed" and run.text == "after the storm"
    assert run.retries == 2
    assert client.waits.delays == [2.0, 2.0]  # type: ignore[attr-defined]  # Retry-After


@pytest.mark.parametrize("provider", ["runagent", "seekrflow", "runtools", "openai"])
async def test_in_stream_capacity_error_is_retried(server: ServerHandle, provider: str) -> None:
    async with client_with_waits(server, provider, "stream-error=503;retry-after=1.5") as client:
        run = await client.run("finance_agent", QUESTION)
    assert run.status == "completed" and run.retries == 1
    assert client.waits.delays == [1.5]  # type: ignore[attr-defined]  # the frame's retry_after


async def test_in_stream_capacity_error_exhausts_retries(server: ServerHandle) -> None:
    spec = "stream-error=503;retry-after=0;times=9"
    async with client_with_waits(server, "runagent", spec, max_retries=2) as client:
        with pytest.raises(RunFailedError) as caught:
            await client.run("echo", "x")
    assert caught.value.code == "CAPACITY_ERROR" and caught.value.run is not None
    assert caught.value.run.status == "failed" and caught.value.run.retries == 2


async def test_stream_error_without_a_code_is_not_retried(server: ServerHandle) -> None:
    # Operativus' ERROR frame carries only a message: nothing says it is transient
    client = client_with_waits(server, "operativus", "stream-error=503")
    async with client, client.stream("echo", "x") as stream:
        events = [event async for event in stream]
    assert events[-1].type == "run_failed"
    assert stream.run.status == "failed" and stream.run.retries == 0


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
async def test_client_errors_are_never_retried(server: ServerHandle, status: int) -> None:
    expected = {
        400: InvalidRequestError,
        401: AuthenticationError,
        403: AuthenticationError,
        404: NotFoundError,
        413: InvalidRequestError,
        422: InvalidRequestError,
    }[status]
    async with client_with_waits(server, "runtools", f"status={status};times=5") as client:
        with pytest.raises(expected) as caught:
            await client.run("echo", "x")
    assert caught.value.status_code == status
    assert client.waits.delays == []  # type: ignore[attr-defined]
    assert f"POST {server.base_url}/v1/run → {status}" in str(caught.value)


async def test_retries_give_up_with_the_typed_error(server: ServerHandle) -> None:
    async with client_with_waits(
        server, "operativus", "status=502;times=9", max_retries=3
    ) as client:
        stream = client.stream("echo", "x")
        with pytest.raises(ServerError, match="502 Bad Gateway: bad gateway"):
            async for _ in stream:
                pass
    assert stream.run.status == "failed" and stream.run.retries == 3
    assert len(client.waits.delays) == 3  # type: ignore[attr-defined]


async def test_an_absurd_retry_after_is_raised_not_slept(server: ServerHandle) -> None:
    async with client_with_waits(server, "openai", "status=429;retry-after=3000") as client:
        with pytest.raises(RateLimitError) as caught:
            await client.run("echo", "x")
    assert caught.value.retry_after == 3000.0 and "retry after 3000 s" in str(caught.value)
    assert client.waits.delays == []  # type: ignore[attr-defined]


async def test_backoff_is_exponential_with_full_jitter(server: ServerHandle) -> None:
    spec = "status=503;times=3"  # no Retry-After: the client's own backoff
    async with client_with_waits(server, "vercel", spec, backoff=0.5, max_retries=3) as client:
        run = await client.run("echo", "x")
    assert run.retries == 3
    delays = client.waits.delays  # type: ignore[attr-defined]
    assert len(delays) == 3
    assert all(0 <= d <= 0.5 * 2**i for i, d in enumerate(delays))


async def test_connect_error_is_retried_then_typed() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    key = "sk-" + uuid.uuid4().hex
    client = AsyncAgentClient(
        "openai", base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=2, backoff=0.0
    )
    async with client:
        stream = client.stream("echo", "x")
        with pytest.raises(ConnectError, match="could not connect") as caught:
            async for _ in stream:
                pass
    assert stream.run.retries == 2 and stream.run.status == "failed"
    secret_free(caught.value, key)


# ---- answers that are not event streams ----------------------------------------------------------
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_html_page_is_a_protocol_error(server: ServerHandle, provider: str) -> None:
    async with client_with_waits(server, provider, "html") as client:
        with pytest.raises(
            ProtocolError, match=r"text/html.*, not (an event stream|JSON).*HTML page"
        ):
            await client.run("echo", "x")


async def test_wrong_content_type_is_a_protocol_error(server: ServerHandle) -> None:
    async with client_with_waits(server, "runagent", "content-type=application/json") as client:
        with pytest.raises(ProtocolError, match="application/json, not an event stream") as c:
            await client.run("echo", "x")
    assert "injected fault" in str(c.value) and "/v1/agents/echo/stream" in str(c.value)


# ---- the key never shows -----------------------------------------------------------------------------
async def test_api_key_never_appears_in_any_error(server: ServerHandle) -> None:
    cases = [
        ("openai", "status=401"),
        ("runtools", "status=422"),
        ("seekrflow", "status=503;times=9"),
        ("operativus", "html"),
        ("vercel", "content-type=text/plain"),
        ("openai", "drop-after=3;no-ids"),
        ("runagent", "status=429;retry-after=9999"),
    ]
    errors: list[AgentNBError] = []
    for provider, spec in cases:
        async with client_with_waits(server, provider, spec, max_retries=1) as client:
            with pytest.raises(AgentNBError) as caught:
                await client.run("finance_agent", QUESTION)
            errors.append(caught.value)
            assert server.api_key not in repr(client)
    async with client_with_waits(
        server, "operativus", "stall-after=2;no-ids", timeout=STALL_TIMEOUT
    ) as client:
        with pytest.raises(StreamTimeoutError) as stalled:
            await client.run("finance_agent", QUESTION)
        errors.append(stalled.value)
    for error in errors:
        secret_free(error, server.api_key)
    assert len({type(e) for e in errors}) >= 6


# ---- cuts and stalls mid-stream ---------------------------------------------------------------------
async def test_drops_at_random_points_lose_and_repeat_nothing(server: ServerHandle) -> None:
    """100 cuts at seeded random points across the dialects (run-agent also by its cursor)."""
    rng = random.Random(20250110)
    cases = [(p, "") for p in PROVIDERS] + [("runagent", ";no-ids")]
    for provider, extra in cases:
        # ids on the baseline only, to count its frames: SeekrFlow's cuts have none
        async with client_with_waits(server, provider, "ids") as client:
            run, events, last_id = await stream_all(client)
        baseline = outcome(run, events)
        assert last_id is not None
        frames = int(last_id.rpartition(":")[2]) + 1
        for _ in range(100 // len(cases) + (1 if provider == "openai" else 0)):
            cut = rng.randrange(1, frames)
            async with client_with_waits(server, provider, f"drop-after={cut}{extra}") as client:
                run, events, _ = await stream_all(client)
            assert run.status == "completed", (provider, cut, run.error)
            assert run.resumes == 1, (provider, cut)
            found = outcome(run, events)
            assert comparable(found, baseline) == baseline, (provider, cut)
            assert found.usage is not None and found.usage["total_tokens"] > 0
            assert [e.seq for e in events] == list(range(len(events)))


@pytest.mark.parametrize(
    "provider",
    [
        p
        for p, cls in available_providers().items()
        if p in DIALECT_PROVIDERS and cls.resume_mode != "cursor" and not cls.attach_replays_run
    ],
)
async def test_cut_without_event_ids_ends_interrupted(server: ServerHandle, provider: str) -> None:
    async with client_with_waits(server, provider) as client:
        baseline, _, _ = await stream_all(client)
    async with client_with_waits(server, provider, "drop-after=30;no-ids") as client:
        stream = client.stream("finance_agent", QUESTION, followups=True)
        with pytest.raises(RunInterruptedError, match="cannot resume") as caught:
            async for _ in stream:
                pass
    run = stream.run
    assert run.status == "interrupted" and run.resumes == 0
    assert caught.value.run is run and caught.value.partial_text == run.text
    assert baseline.text.startswith(run.text) and run.reasoning
    assert run.error is not None and "second run" in run.error.message


@pytest.mark.parametrize("provider", ["seekrflow", "seekrflow-vercel"])
@pytest.mark.parametrize("cut", [1, 3, 20, 30])
async def test_seekrflow_resumes_a_data_only_cut_through_its_attach_route(
    server: ServerHandle, provider: str, cut: int
) -> None:
    """SeekrFlow streams no event ids; a cut is resumed by attaching to the run (its id is
    known from the stream's start), which streams it from its start: the frames already
    applied are skipped, so nothing is lost or applied twice."""
    async with client_with_waits(server, provider) as client:
        baseline, base_events, _ = await stream_all(client)
    async with client_with_waits(server, provider, f"drop-after={cut}") as client:
        opened = streams_opened(client)
        run, events, last_id = await stream_all(client)
    assert last_id is None  # data-only frames, as the platform sends them
    assert run.status == "completed" and run.resumes == 1, run.error
    expected = outcome(baseline, base_events)
    assert comparable(outcome(run, events), expected) == expected
    assert [e.seq for e in events] == list(range(len(events)))
    assert opened[1:] == [f"GET /v1/threads/{run.thread_id}/runs/{run.run_id}/attach"]


def streams_opened(client: AsyncAgentClient) -> list[str]:
    """The requests the client opens streams with, from now on (a spy on the transport)."""
    opened: list[str] = []
    original = client.transport.open_stream

    async def spy(http: HttpRequest, **options: Any) -> Any:
        opened.append(f"{http.method} {http.path}")
        return await original(http, **options)

    client.transport.open_stream = spy  # type: ignore[method-assign]
    return opened


@pytest.mark.parametrize("provider", ["operativus", "vercel", "runagent"])
async def test_missing_end_frame_resumes_or_interrupts(server: ServerHandle, provider: str) -> None:
    async with client_with_waits(server, provider, "no-end") as client:
        run = await client.run("echo", "the end")
    assert run.status == "completed" and run.resumes == 1 and run.text == "the end"
    if provider == "runagent":
        return  # run-agent resumes by cursor even without ids
    async with client_with_waits(server, provider, "no-end;no-ids") as client:
        with pytest.raises(RunInterruptedError, match="ended before the run finished") as c:
            await client.run("echo", "the end")
    assert c.value.partial_text == "the end"


@pytest.mark.parametrize("provider", ["seekrflow", "openai", "runtools"])
async def test_stall_with_ids_resumes_once(server: ServerHandle, provider: str) -> None:
    # a silence before the fault's stall (a loaded machine) is a stall too: one more resume
    for limit in growing_limits("four frames before the stall", first=STALL_TIMEOUT.read or 2.0):
        async with client_with_waits(
            server, provider, "stall-after=4", timeout=stall_timeout(limit)
        ) as client:
            run = await client.run("finance_agent", QUESTION)
        if run.resumes == 1:
            break
    assert run.status == "completed" and run.resumes == 1


@pytest.mark.parametrize("provider", ["operativus", "vercel"])
async def test_stall_without_ids_times_out(server: ServerHandle, provider: str) -> None:
    # the reasoning comes before the fault's stall, unless a loaded machine was silent first
    for limit in growing_limits("the reasoning before the stall", first=STALL_TIMEOUT.read or 2.0):
        async with client_with_waits(
            server, provider, "stall-after=6;no-ids", timeout=stall_timeout(limit)
        ) as client:
            stream = client.stream("finance_agent", QUESTION)
            with pytest.raises(StreamTimeoutError, match="stalled") as caught:
                async for _ in stream:
                    pass
        if stream.run.reasoning:
            break
    assert stream.run.status == "interrupted" and stream.run.error is not None
    assert stream.run.error.code == "timeout" and stream.run.reasoning
    assert caught.value.url == server.base_url


async def test_malformed_frame_is_kept_and_the_run_goes_on(server: ServerHandle) -> None:
    async with client_with_waits(server, "openai", "malformed-after=3") as client:
        run = await client.run("echo", "still fine")
    assert run.status == "completed" and run.text == "still fine"
    (kept,) = run.unknown_events
    assert kept.data.startswith('{"type": "text_delta"')

"""Every value a dialect places in a URL path is one segment of it, whatever it holds.

For every dialect in the registry (``available_providers()``), every request it builds from
an agent name, a run id, a thread id or a response id (the run's stream, its resume, a
decision, cancel, attach, retrieve, status, listing, the side requests before the stream) is
built twice: once with a plain value, once with a hostile one (``../admin``, ``/``, ``?``,
``#``, ``%``, spaces, controls, any Unicode). Both go through the real transport to a
raw-socket server that records the request target as it arrived. The hostile target must be
the plain one with the value in place of the plain value's segments: same number of
segments, each decoding to what it stood for, the same query, so no value adds a level, goes
up one, starts a query or reaches another route with the key. Values that no escaping can
send as one segment (``.``, ``..``) are refused before anything is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
from hostile_server import Conn, HostileServer, Request, http_head
from hypothesis import given, settings
from hypothesis import strategies as st

from agentnb._client.transport import DEFAULT_TIMEOUT, Transport
from agentnb._core.exceptions import AgentNBError, ConfigurationError
from agentnb._core.request import Fork, RunRequest
from agentnb._core.retry import RetryPolicy
from agentnb.providers import HttpRequest, Provider, RunRef, RunsPage, available_providers

PLAIN = "plainvalue"
OPTIONS: dict[str, dict[str, Any]] = {"a2a": {"path": "/{agent}"}, "ag-ui": {"path": "/{agent}"}}
"""Options that put the agent's name into the path, where a dialect has one."""
HOSTILE = [
    "../admin", "..", ".", "a/b", "a?b=c", "#frag", "%2e%2e", "%2F", "%", "a b", "ü/..",
    "..%2F..", "?", "/", "//x", "\\..\\admin", "x/../../admin", ".../", "a;b", "\x00", "\r\n",
    "名前", "\u202e", "~", "a+b", "@host", "http://evil.example/",
]  # fmt: skip
hostile_values = st.one_of(st.sampled_from(HOSTILE), st.text(min_size=1, max_size=12))
UNSENDABLE = frozenset({".", ".."})


class _Sent(Exception):
    """Stops a dialect's ``prepare`` once its first side request was recorded."""


async def _first_side_request(provider: Provider, request: RunRequest) -> HttpRequest | None:
    seen: list[HttpRequest] = []

    async def send(http: HttpRequest) -> Any:
        seen.append(http)
        raise _Sent

    with contextlib.suppress(_Sent):
        await provider.prepare(request, send)
    return seen[0] if seen else None


def _resume(provider: Provider, request: RunRequest, value: str) -> HttpRequest | None:
    translator = provider.translator(request)
    translator.run_id = value
    for name in ("task_id", "response_id"):
        if hasattr(translator, name):
            setattr(translator, name, value)
    return provider.resume_request(request, "7", translator)


def _operations(name: str, value: str) -> dict[str, Callable[[], Any]]:
    """Every request the dialect builds with ``value`` as agent, run, thread and response."""
    provider = available_providers()[name](**OPTIONS.get(name, {}))
    ref = RunRef(value, value, value)
    request = RunRequest(agent=value, message="hi", thread_id=value)
    forked = RunRequest(
        agent=value, message="hi", thread_id=value, fork=Fork(thread_id=value, run_id=value)
    )
    return {
        "stream": lambda: provider.stream_http_request(request),
        "resume": lambda: _resume(provider, request, value),
        "cancel": lambda: provider.cancel_request(ref),
        "attach": lambda: provider.attach_request(ref, None),
        "attach-after": lambda: provider.attach_request(ref, "7"),
        "retrieve": lambda: provider.retrieve_run_request(ref),
        "status": lambda: provider.run_status_request(value, [value]),
        "status-batch": lambda: provider.run_status_request(value, [value, "other"]),
        "list": lambda: provider.list_runs_request(RunsPage(value, 5, agent=value)),
        "prepare": lambda: asyncio.run(_first_side_request(provider, request)),
        "prepare-fork": lambda: asyncio.run(_first_side_request(provider, forked)),
    }


def _built(operation: Callable[[], Any]) -> HttpRequest | Exception | None:
    try:
        return operation()
    except AgentNBError as exc:
        return exc


async def _targets(server: HostileServer, name: str, requests: list[HttpRequest]) -> list[str]:
    """The request targets as the server read them, in order."""
    provider = available_providers()[name](**OPTIONS.get(name, {}))
    transport = Transport(
        provider,
        base_url=f"{server.url}/base",
        api_key="sk-paths-0123456789",
        timeout=DEFAULT_TIMEOUT,
        retry=RetryPolicy(max_retries=0),
    )
    targets: list[str] = []
    try:
        for http in requests:
            before = len(server.requests)
            response = await transport.send(transport.build(http, accept="*/*"), stream=False)
            await response.aclose()
            assert len(server.requests) == before + 1
            targets.append(server.requests[-1].path)
    finally:
        await transport.aclose()
    return targets


def _stands_for(hostile: str, plain: str, value: str) -> bool:
    """``hostile`` is ``plain`` with ``value`` where ``PLAIN`` was, segment by segment."""
    hostile_parts, plain_parts = urlsplit(hostile), urlsplit(plain)
    hostile_segments = hostile_parts.path.split("/")
    plain_segments = plain_parts.path.split("/")
    if len(hostile_segments) != len(plain_segments) or "#" in hostile:
        return False
    for got, expected in zip(hostile_segments, plain_segments, strict=True):
        if (
            "/" in got
            or got in UNSENDABLE
            or unquote(got) != unquote(expected).replace(PLAIN, value)
        ):
            return False
    hostile_query = parse_qsl(hostile_parts.query, keep_blank_values=True)
    plain_query = parse_qsl(plain_parts.query, keep_blank_values=True)
    return hostile_query == [(k, v.replace(PLAIN, value)) for k, v in plain_query]


async def _answer(conn: Conn, request: Request) -> None:
    await conn.send(http_head("404 Not Found", {"Content-Length": "0"}))


@pytest.fixture(scope="module")
def recorder() -> Any:
    with HostileServer(_answer) as server:
        yield server


@pytest.mark.parametrize("name", sorted(available_providers()))
@settings(max_examples=30)
@given(value=hostile_values)
def test_every_value_in_a_path_is_one_segment(
    recorder: HostileServer, name: str, value: str
) -> None:
    plain_ops, hostile_ops = _operations(name, PLAIN), _operations(name, value)
    plain_requests: list[HttpRequest] = []
    hostile_requests: list[HttpRequest] = []
    for op, build in plain_ops.items():
        plain = _built(build)
        if not isinstance(plain, HttpRequest):
            continue
        hostile = _built(hostile_ops[op])
        if isinstance(hostile, ConfigurationError) and value in UNSENDABLE:
            assert repr(value) in str(hostile), (op, str(hostile))
            continue
        assert isinstance(hostile, HttpRequest), (name, op, value, hostile)
        plain_requests.append(plain)
        hostile_requests.append(hostile)
    if not plain_requests:
        return
    plain_targets = asyncio.run(_targets(recorder, name, plain_requests))
    hostile_targets = asyncio.run(_targets(recorder, name, hostile_requests))
    for plain_target, hostile_target in zip(plain_targets, hostile_targets, strict=True):
        assert plain_target.startswith("/base"), plain_target
        assert _stands_for(hostile_target, plain_target, value), (
            name,
            value,
            plain_target,
            hostile_target,
        )


def test_a_dot_segment_is_refused_before_anything_is_sent() -> None:
    """``..`` as a response id would have reached ``/v1/admin/...`` with the key."""
    responses = available_providers()["openai-responses"](background=True)
    with pytest.raises(ConfigurationError, match=r"'\.\.' cannot be sent as a part of a URL"):
        responses.retrieve_run_request(RunRef("gpt", "..", None))

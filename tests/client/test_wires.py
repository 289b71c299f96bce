"""The transport is chosen in one place by the dialect's wire (``agentnb._client.wires``), for
``AsyncAgentClient``, ``AgentClient`` and ``agentnb.connect`` alike, and each way of reaching
an agent refuses the options of another's, naming the option and the platform."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from agentnb_testing import PATIENCE_S

import agentnb
from agentnb import AgentClient, ConfigurationError
from agentnb._app.front.connections import disconnect
from agentnb._client.acp_transport import AcpTransport
from agentnb._client.async_client import AsyncAgentClient
from agentnb._client.transport import Transport
from agentnb._client.wires import OPENERS
from agentnb._core.loop import submit
from agentnb.providers.acp import Acp
from agentnb.providers.openai import OpenAI
from agentnb.server import ServerHandle

RAW_AGENT = Path(__file__).resolve().parents[1] / "interop" / "acp_agents" / "raw_agent.py"
COMMAND = [sys.executable, str(RAW_AGENT)]


def made_by_connect(provider: str, **options: Any) -> AsyncAgentClient:
    conn = agentnb.connect(provider, name="wired", **options)
    return conn.client()


def made_by_sync(provider: str, **options: Any) -> AsyncAgentClient:
    return AgentClient(provider, **options).aio


FRONTS: list[Callable[..., AsyncAgentClient]] = [AsyncAgentClient, made_by_sync, made_by_connect]


@pytest.fixture(autouse=True)
def no_wired_connection() -> Iterator[None]:
    yield
    disconnect("wired")


@pytest.mark.parametrize("front", FRONTS)
def test_every_front_runs_an_http_dialect_over_http(
    front: Callable[..., AsyncAgentClient], server: ServerHandle
) -> None:
    client = front("operativus", base_url=server.base_url, api_key=server.api_key)
    assert type(client.transport) is Transport
    assert client.base_url == server.base_url
    run = agentnb.ask("echo", "over http", client=client, wait=True, display=False).run
    assert (run.status, run.text) == ("completed", "over http")


@pytest.mark.parametrize("front", FRONTS)
def test_every_front_runs_an_acp_agent_by_its_command(
    front: Callable[..., AsyncAgentClient],
) -> None:
    client = front("acp", command=COMMAND)
    assert isinstance(client.transport, AcpTransport)
    assert client.base_url.startswith("acp:") and str(RAW_AGENT) in client.base_url
    try:
        run = agentnb.ask("raw-agent", "by command", client=client, wait=True, display=False).run
        assert (run.status, run.text) == ("completed", "raw: by command")
    finally:  # the agent's process ends with its client, not when the worker exits
        submit(client.aclose()).result(timeout=PATIENCE_S)


@pytest.mark.parametrize("front", FRONTS)
def test_an_acp_agent_at_a_url_is_reached_over_its_websocket(
    front: Callable[..., AsyncAgentClient],
) -> None:
    client = front("acp", base_url="ws://127.0.0.1:9/acp")
    assert isinstance(client.transport, AcpTransport)
    assert client.base_url == "ws://127.0.0.1:9/acp"


# ---- each way of reaching an agent refuses another's options ------------------------------------
BY_COMMAND = {"command": COMMAND}
AT_A_URL = {"base_url": "ws://127.0.0.1:9/acp"}
OVER_HTTP = {"base_url": "http://127.0.0.1:9"}


@pytest.mark.parametrize(
    ("provider", "options", "refused", "said"),
    [
        ("acp", {**BY_COMMAND, "verify": False}, "verify=", "reached over the network"),
        ("acp", {**BY_COMMAND, "headers": {"X-A": "b"}}, "headers=", "reached over the network"),
        ("acp", {**BY_COMMAND, "trusted_origins": ["https://a.example"]}, "trusted_origins=", ""),
        ("acp", {**AT_A_URL, "env": {"A": "b"}}, "env=", "has its own environment"),
        ("acp", {**AT_A_URL, "trusted_origins": ["https://a.example"]}, "trusted_origins=", ""),
        ("openai", {**OVER_HTTP, "command": ["x"]}, "command=", "runs its agent as a process"),
        ("openai", {**OVER_HTTP, "cwd": "."}, "cwd=", "runs its agent as a process"),
        ("openai", {**OVER_HTTP, "terminal": True}, "terminal=", "an ACP agent"),
        ("openai", {**OVER_HTTP, "config": {"model": "m"}}, "config=", "an ACP agent"),
    ],
)
@pytest.mark.parametrize("front", FRONTS)
def test_an_option_of_another_wire_is_refused_naming_it_and_the_platform(
    front: Callable[..., AsyncAgentClient],
    provider: str,
    options: dict[str, Any],
    refused: str,
    said: str,
) -> None:
    with pytest.raises(ConfigurationError) as error:
        front(provider, **options)
    message = str(error.value)
    assert refused in message and said in message and "takes no" in message
    platform = "ACP agent" if provider == "acp" else "OpenAI"
    assert platform in message
    if front is made_by_connect:
        assert "connection 'wired'" in message


def test_several_options_of_another_wire_are_named_together() -> None:
    with pytest.raises(ConfigurationError) as error:
        AsyncAgentClient("acp", command=COMMAND, verify=False, headers={"X-A": "b"})
    message = str(error.value)
    taken = "ACP agent, run by its command= over the process's stdio, takes no headers=, verify="
    assert taken in message
    assert "headers=, verify= are for an agent reached over the network" in message


async def test_an_http_client_of_ones_own_goes_with_an_http_dialect_only() -> None:
    import httpx

    async with httpx.AsyncClient() as own:
        with pytest.raises(ConfigurationError, match="takes no http_client="):
            AsyncAgentClient("acp", command=COMMAND, http_client=own)
        client = AsyncAgentClient("openai", base_url="http://127.0.0.1:9", http_client=own)
        assert type(client.transport) is Transport


class _Carrier(OpenAI):
    """A plugin's dialect on a wire this agentnb has no transport for."""

    name: ClassVar[str] = "carrier"
    title: ClassVar[str] = "Carrier pigeon"
    wire = "pigeon"  # type: ignore[assignment]


def test_a_dialect_on_a_wire_without_a_transport_says_so() -> None:
    assert "pigeon" not in OPENERS
    with pytest.raises(ConfigurationError, match=r"speaks over 'pigeon'.*no transport"):
        AsyncAgentClient(_Carrier(), base_url="http://127.0.0.1:9")


class _OldNamedAcp(Acp):
    """A plugin's ACP dialect written when the wire was named ``acp-stdio``."""

    name: ClassVar[str] = "old-acp"
    wire = "acp-stdio"


def test_the_acp_wire_is_named_acp_and_its_old_name_still_gets_its_transport() -> None:
    assert Acp.wire == "acp" and "acp-stdio" not in OPENERS, "it is stdio or a WebSocket"
    client = AsyncAgentClient(_OldNamedAcp(), base_url="ws://127.0.0.1:9/acp")
    assert isinstance(client.transport, AcpTransport)
    with pytest.raises(ConfigurationError, match="takes no verify="):
        AsyncAgentClient(_OldNamedAcp(), command=COMMAND, verify=False)

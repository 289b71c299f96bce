"""A client's transport, chosen in one place by its dialect's wire (:attr:`Provider.wire
<agentnb.providers.Provider.wire>`): HTTP to a base URL (:class:`Transport`), or an ACP
agent's JSON-RPC (:class:`AcpTransport`: its process, run by ``command=``, or one served over
the network at ``base_url=ws://...``).

Each way of reaching an agent names the client options it takes (:class:`Reach`); an
option of another's (``verify=`` for an agent run by its command, ``command=`` for a
platform reached over HTTP) is refused naming the option, what it is for and the platform,
before anything starts. A new wire is one more opener in :data:`OPENERS`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import cast

import httpx

from .._core.exceptions import ConfigurationError
from .._core.retry import RetryPolicy
from .._http import checked_verify
from ..providers import Provider
from ..providers.acp import Acp
from .acp_transport import ACP_IDLE_TIMEOUT, AcpTransport
from .agent_process import checked_command, checked_flag
from .client_options import ClientOptions
from .clock import DEFAULT_IDLE_TIMEOUT
from .origins import checked_origins
from .transport import Transport
from .wire import Wire

__all__ = ["OPENERS", "Reach", "Wiring", "default_idle_timeout", "open_transport", "wire_of"]


@dataclass(frozen=True)
class Wiring:
    """What a transport is opened with: the client's settings every wire shares (checked)
    and the client options as given (each opener checks those of its own)."""

    base_url: str | None
    api_key: str | None
    timeout: httpx.Timeout
    retry: RetryPolicy
    connection: str
    options: ClientOptions


@dataclass(frozen=True)
class Reach:
    """One way of reaching an agent: how messages say it, and the options it takes of
    :data:`REACH_OPTIONS`."""

    said: str
    takes: frozenset[str]

    def refuse_others(self, provider: Provider, options: ClientOptions) -> None:
        """A :class:`ConfigurationError` naming each option given that this way of reaching
        ``provider``'s agent has no use for, and what that option is for."""
        given = [name for name in REACH_OPTIONS if name not in self.takes and _given(options, name)]
        if not given:
            return
        by_purpose: dict[str, list[str]] = {}
        for name in given:
            by_purpose.setdefault(REACH_OPTIONS[name], []).append(f"{name}=")
        purposes = "; ".join(
            f"{', '.join(names)} {'is' if len(names) == 1 else 'are'} for {purpose}"
            for purpose, names in by_purpose.items()
        )
        taken = ", ".join(f"{name}=" for name in given)
        raise ConfigurationError(f"{provider.named}, {self.said}, takes no {taken} ({purposes})")


REACH_OPTIONS: Mapping[str, str] = {
    "headers": "an agent reached over the network (over HTTP, or an ACP agent at "
    "base_url=ws://...)",
    "http_client": "a dialect spoken over HTTP",
    "verify": "an agent reached over the network (over HTTP, or an ACP agent at base_url=ws://...)",
    "trusted_origins": "a dialect spoken over HTTP, whose platform names URLs elsewhere",
    "command": "a dialect that runs its agent as a process (acp)",
    "cwd": "a dialect that runs its agent as a process (acp)",
    "env": "an agent agentnb starts by its command= (acp); one served at base_url= has "
    "its own environment",
    "terminal": "an ACP agent",
    "config": "an ACP agent",
}
"""The client options only some ways of reaching an agent take, and what each is for."""

OVER_HTTP = Reach(
    "reached over HTTP at base_url=...",
    frozenset({"headers", "http_client", "verify", "trusted_origins"}),
)
BY_COMMAND = Reach(
    "run by its command= over the process's stdio",
    frozenset({"command", "cwd", "env", "terminal", "config"}),
)
OVER_WEBSOCKET = Reach(
    "served over the network at base_url=ws://...",
    frozenset({"headers", "verify", "cwd", "terminal", "config"}),
)


def _given(options: ClientOptions, name: str) -> bool:
    """Whether the caller set ``name``: to anything but None (``verify``: but its default)."""
    value = cast("Mapping[str, object]", options).get(name)
    return value not in (None, True) if name == "verify" else value is not None


def open_transport(provider: Provider, wiring: Wiring) -> Wire:
    """The transport ``provider``'s wire takes, its options checked (see the module)."""
    opener = OPENERS.get(wire_of(provider))
    if opener is None:  # a plugin's dialect may name a wire this agentnb has no transport for
        raise ConfigurationError(
            f"{provider.named} speaks over {provider.wire!r}, which this agentnb has no "
            f"transport for (it has {', '.join(map(repr, OPENERS))}): upgrade agentnb"
        )
    return opener(provider, wiring)


def default_idle_timeout(provider: Provider) -> float:
    """A run's ``idle_timeout`` when none is given: an ACP agent's process may run a build
    for minutes without a word (its exit, not silence, says it is gone)."""
    return DEFAULT_IDLE_TIMEOUT if provider.wire == "http" else ACP_IDLE_TIMEOUT


def _open_http(provider: Provider, wiring: Wiring) -> Transport:
    options = wiring.options
    OVER_HTTP.refuse_others(provider, options)
    base = wiring.base_url or provider.default_base_url
    if not base:
        raise ConfigurationError(
            f"{provider.named} has no public URL: pass base_url=... "
            f"(e.g. the built-in server's url_for({provider.name!r}))"
        )
    http_client, verify = options.get("http_client"), options.get("verify", True)
    if http_client is not None and verify is not True:
        raise ConfigurationError(
            "verify= applies to agentnb's own HTTP clients: set it on the http_client "
            "you pass instead (httpx.AsyncClient(verify=...))"
        )
    return Transport(
        provider,
        base_url=_checked_base_url(provider.base_url_from(base)),
        api_key=wiring.api_key,
        timeout=wiring.timeout,
        retry=wiring.retry,
        headers=options.get("headers"),
        http_client=http_client,
        verify=checked_verify(verify),
        trusted_origins=checked_origins(options.get("trusted_origins")),
        connection=wiring.connection,
    )


def _open_acp(provider: Provider, wiring: Wiring) -> Wire:
    """An ACP agent: its process, run by ``command=``, or one served at ``base_url=``."""
    options, url = wiring.options, wiring.base_url
    if url and options.get("command") is not None:
        raise ConfigurationError(
            f"{provider.named} runs its agent by its command=[...] or reaches one served over "
            f"the network at base_url=ws://...: give one of the two, not both"
        )
    if not url and options.get("command") is None:
        raise ConfigurationError(
            f"{provider.named} needs command=: the agent's command, as its docs give it "
            f"(['claude-code-acp'], ['codex-acp'], 'gemini --acp'), or base_url= the URL of "
            f"an agent served over the SDK's WebSocket transport"
        )
    (OVER_WEBSOCKET if url else BY_COMMAND).refuse_others(provider, options)
    transport = AcpTransport(
        provider,
        command=None if url else checked_command(options.get("command")),
        url=url,
        headers=options.get("headers"),
        verify=checked_verify(options.get("verify", True)),
        cwd=options.get("cwd"),
        env=options.get("env"),
        timeout=wiring.timeout,
        retry=wiring.retry,
        connection=wiring.connection,
        terminal=checked_flag(options.get("terminal"), "terminal"),
    )
    if isinstance(provider, Acp):
        provider.configure(options.get("config"))
    return transport


OPENERS: Mapping[str, Callable[[Provider, Wiring], Wire]] = {
    "http": _open_http,
    "acp": _open_acp,
}
"""Each wire's opener, by :attr:`Provider.wire <agentnb.providers.Provider.wire>`."""

OLD_WIRE_NAMES: Mapping[str, str] = {"acp-stdio": "acp"}
"""Wires' old names a plugin's dialect may still give, and their names now (``acp-stdio``
also carried ACP over a WebSocket)."""


def wire_of(provider: Provider) -> str:
    """The name of ``provider``'s wire (its old name taken: :data:`OLD_WIRE_NAMES`)."""
    return OLD_WIRE_NAMES.get(provider.wire, provider.wire)


def _checked_base_url(base_url: str) -> str:
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigurationError(f"invalid base_url {base_url!r}: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(
            f"base_url must be an http:// or https:// URL with a host, not {base_url!r}"
        )
    return base_url  # as given: a provider's empty path posts to it exactly (join_url)

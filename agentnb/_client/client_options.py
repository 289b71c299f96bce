"""The client's keyword options, written once: :class:`ClientOptions`, which
``AsyncAgentClient``, ``AgentClient`` and ``agentnb.connect`` all take, so a type checker
and an IDE check each name and value wherever a client is made."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TypedDict

import httpx

from .._core.exceptions import ConfigurationError
from .._core.recorder import RunRecorder
from .._core.request import CONTEXT_ON_A_CLIENT
from .._http import Verify
from ..providers import Provider, available_providers

__all__ = ["ClientOptions", "provider_options_of"]


class ClientOptions(TypedDict, total=False):
    """How a client talks to its platform, beyond which one (``provider``, ``base_url``,
    ``api_key``); every key may be left out."""

    timeout: float | httpx.Timeout | None
    """httpx's timeouts (a number sets them all; default: connect 10 s, read 60 s)."""
    idle_timeout: float | None
    """Seconds with no event before a run ends ``interrupted`` (default 120; None: none)."""
    run_timeout: float | None
    """Seconds a whole run may take, retries and resumes included (default None: no limit)."""
    max_run_mib: float | None
    """What one run may keep of what the server sends, in MiB (default 16; None: no bound)."""
    max_retries: int
    """Retries of a request that failed before its stream started (default 3)."""
    backoff: float
    """Base delay of those retries in seconds, doubled each time, jittered (default 0.5)."""
    max_resumes: int
    """Resumes in a row of a cut stream that bring the run no further (default 3)."""
    record: bool
    """Record the runs (default True; False keeps them out of the history)."""
    recorder: RunRecorder | None
    """Where the runs are recorded (default: the history)."""
    headers: Mapping[str, str] | None
    """Headers sent with every request, to ``base_url``'s origin only."""
    http_client: httpx.AsyncClient | None
    """An httpx client of your own (HTTP/2, a transport of your choice)."""
    verify: Verify
    """TLS verification as httpx takes it (True, False, a CA bundle, an ``ssl.SSLContext``)."""
    trusted_origins: Iterable[str] | None
    """Origins besides ``base_url``'s that may receive the key and ``headers``."""
    command: str | Sequence[str] | None
    """The agent's command, for a dialect that runs its agent as a process (``acp``): a list
    of arguments or a string (``"gemini --acp"``); it is the connection's address."""
    cwd: str | os.PathLike[str] | None
    """The agent process's working directory (default: the current one); an ACP agent
    reads and writes files under it only."""
    env: Mapping[str, str] | None
    """Environment variables for the agent's process, over the current environment."""
    terminal: bool | None
    """Offer an ACP agent terminals of the client's (``terminal/*``: commands run under
    ``cwd``, each asked for through the approval gate first); default False."""
    config: Mapping[str, str | bool] | None
    """An ACP agent's settings for every session (``{"model": ..., "mode": ...}``: a
    setting's id or category, ``effort`` for the thought level, and a value the agent
    offers); a run's ``config=`` goes over them. See ``Connection.acp``."""
    provider_options: Mapping[str, object] | None
    """The dialect's own options (e.g. ``{"path": "/api/chat"}`` for ``vercel``; each
    dialect's in ``agentnb.providers.available_providers()[name].option_names()``)."""


def provider_options_of(
    provider: str | Provider, options: Mapping[str, object]
) -> dict[str, object]:
    """``options["provider_options"]``, checked. A name that is not a client option is an
    error that names the options, and says where a dialect's own option goes (a type checker
    says so before the code runs; this says it to code that is not checked)."""
    unknown = sorted(name for name in options if name not in _OPTION_NAMES)
    if "context" in unknown:
        raise ConfigurationError(CONTEXT_ON_A_CLIENT)
    dialect_own = [name for name in unknown if name in _dialect_option_names(provider)]
    if dialect_own:
        moved = ", ".join(f"{name!r}: ..." for name in dialect_own)
        raise ConfigurationError(
            f"a dialect's options go in provider_options={{{moved}}} (keywords of their own "
            "since 0.5)"
        )
    if unknown:
        raise ConfigurationError(
            f"unknown client option {', '.join(map(repr, unknown))}; the options are "
            f"{', '.join(_OPTION_NAMES)} (a dialect's own options go in provider_options={{...}})"
        )
    given = options.get("provider_options") or {}
    if not isinstance(given, Mapping):
        raise ConfigurationError(
            f"provider_options must be a dict of the dialect's options, not {type(given).__name__}"
        )
    return dict(given)


_OPTION_NAMES = tuple(ClientOptions.__annotations__)


def _dialect_option_names(provider: str | Provider) -> set[str]:
    if isinstance(provider, Provider):
        return set(provider.option_names())
    if not isinstance(provider, str):
        return set()
    found = available_providers().get(provider.lower().strip())
    return set(found.option_names()) if found is not None else set()

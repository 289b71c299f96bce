"""Where the key may go: only to the origin (scheme, host, port) of the URL the person gave,
and to the origins they allowed by name (``trusted_origins=``).

A platform can name other URLs (an A2A agent card's endpoint, and whatever a dialect reads
from an answer later): a request there is sent without the key and without the
connection's ``headers=``, which were given for the person's URL, and an error the other
side answers with says why (:meth:`KeyScope.why_keyless`). A request agentnb makes of its
own accord (a probe for which framework answers) carries them only below the base URL's
path (:meth:`KeyScope.below_base`): on a shared host, another path is another service.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from .._core.exceptions import ConfigurationError

__all__ = ["KeyScope", "Origin", "checked_origins", "origin_of", "origin_text"]

_log = logging.getLogger("agentnb")

Origin = tuple[str, str, int]
"""Scheme, host (lower case) and port (the scheme's default when the URL names none)."""

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: httpx.URL) -> Origin:
    scheme = url.scheme.lower()
    return scheme, url.host.lower(), url.port or _DEFAULT_PORTS.get(scheme, 0)


def origin_text(origin: Origin) -> str:
    scheme, host, port = origin
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}"


def checked_origins(values: Any) -> frozenset[Origin]:
    """The origins of ``trusted_origins=``: each an ``http://`` or ``https://`` URL with a
    host and nothing after it but an optional ``/`` (``https://agents.example.com:8443``).
    Anything else is refused, naming the value."""
    if values is None:
        return frozenset()
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ConfigurationError(
            f"trusted_origins takes a list of origins such as ['https://agents.example.com'], "
            f"not {values!r}"
        )
    return frozenset(_checked_origin(value) for value in values)


def _checked_origin(value: Any) -> Origin:
    problem = f"trusted_origins: {value!r} is not an origin"
    if not isinstance(value, str):
        raise ConfigurationError(f"{problem}: give it as a string such as 'https://host:port'")
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL as exc:
        raise ConfigurationError(f"{problem}: {exc}") from None
    if url.scheme not in _DEFAULT_PORTS or not url.host:
        raise ConfigurationError(f"{problem}: it needs http:// or https:// and a host")
    if url.userinfo or url.path not in ("", "/") or url.query or url.fragment:
        raise ConfigurationError(
            f"{problem}: an origin is scheme, host and port only (no user, path, query or "
            f"fragment), such as {origin_text(origin_of(url))!r}"
        )
    return origin_of(url)


@dataclass
class KeyScope:
    """Which URLs a connection's key (and its ``headers=``) goes to: the base URL's origin
    and the trusted ones."""

    base_url: str
    trusted: frozenset[Origin] = frozenset()
    home: Origin = field(init=False)
    _told: set[Origin] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        self.home = origin_of(httpx.URL(self.base_url))

    def below_base(self, url: httpx.URL) -> bool:
        """Whether ``url`` is the base URL or below its path, on its origin: where a request
        agentnb makes of its own accord (not one the platform named) may carry the key."""
        base = httpx.URL(self.base_url).path.rstrip("/")
        return origin_of(url) == self.home and (url.path == base or url.path.startswith(base + "/"))

    def allows(self, url: httpx.URL) -> bool:
        """Whether a request to ``url`` may carry the key; a notice the first time a
        platform's URL on another origin is reached without it."""
        origin = origin_of(url)
        if origin == self.home or origin in self.trusted:
            return True
        if origin not in self._told:
            self._told.add(origin)
            _log.warning("agentnb: %s", self.why_keyless(url))
        return False

    def why_keyless(self, url: httpx.URL) -> str:
        """What a request to ``url`` (not allowed the key) was sent without, and how to
        allow it."""
        there = origin_text(origin_of(url))
        return (
            f"the key was not sent to {there}: the platform named that URL, and it is not the "
            f"origin of base_url ({origin_text(self.home)}); if you trust it with the key, "
            f"pass trusted_origins=[{there!r}]"
        )

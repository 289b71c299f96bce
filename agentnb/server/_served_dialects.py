"""The dialects the built-in server speaks, found rather than listed.

Every module of :mod:`agentnb.server.routes` named ``_<dialect>_routes`` declares what it
serves as ``DIALECT = ServedDialect(...)``: the provider names whose clients its routes
answer, where their base URL is below the server's root, and the options such a client needs.
The app mounts the routes of every dialect found, and :meth:`ServerHandle.url_for
<agentnb.server.ServerHandle.url_for>` reads their prefixes, so a new dialect is its provider
module, its routes module, tests and docs: nothing here or in the app names it.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.routing import BaseRoute

from .._core.exceptions import ConfigurationError

__all__ = [
    "ROUTES_PACKAGE",
    "ROUTES_SUFFIX",
    "ServedDialect",
    "dialect_for",
    "dialect_providers",
    "served_dialects",
]

ROUTES_SUFFIX = "_routes"
"""A module of ``routes/`` whose name ends so serves a dialect (and declares ``DIALECT``)."""
ROUTES_PACKAGE = "routes"
"""The subpackage that holds them."""


@dataclass(frozen=True)
class ServedDialect:
    """What one routes module serves."""

    providers: tuple[str, ...]
    """The provider (registry) names whose clients these routes answer."""
    routes: Callable[[], Sequence[BaseRoute]]
    """The module's routes, mounted below the server's root."""
    prefix: str = ""
    """The part of a client's base URL below the server's root (``/v1`` for OpenAI)."""
    client_options: Mapping[str, Any] = field(default_factory=dict)
    """Options a client of this server needs (``path="/{agent}"``: one agent per path)."""


@functools.cache
def served_dialects() -> tuple[ServedDialect, ...]:
    """Every ``DIALECT`` declared by a ``_<dialect>_routes`` module, in module-name order."""
    found: list[ServedDialect] = []
    routes = importlib.import_module(f"{__package__}.{ROUTES_PACKAGE}")
    for info in sorted(pkgutil.iter_modules(routes.__path__), key=lambda i: i.name):
        if info.name.endswith(ROUTES_SUFFIX):
            module = importlib.import_module(f"{routes.__name__}.{info.name}")
            declared = getattr(module, "DIALECT", None)
            if not isinstance(declared, ServedDialect):
                raise TypeError(f"{module.__name__} declares no DIALECT = ServedDialect(...)")
            found.append(declared)
    return tuple(found)


def dialect_providers() -> tuple[str, ...]:
    """The provider names the server speaks."""
    return tuple(name for dialect in served_dialects() for name in dialect.providers)


def dialect_for(provider: str) -> ServedDialect:
    """The served dialect a provider's client talks to; a clear error for one not served."""
    for dialect in served_dialects():
        if provider in dialect.providers:
            return dialect
    known = ", ".join(dialect_providers())
    raise ConfigurationError(f"the local server does not speak {provider!r}; it speaks {known}")

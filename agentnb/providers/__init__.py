"""Dialects agentnb speaks, and the registry that finds them (entry-point group
``agentnb.providers``)."""

from __future__ import annotations

import functools
from importlib.metadata import entry_points

from .._core.exceptions import ConfigurationError
from .._core.warning import warn
from ._base import (
    Capabilities,
    HttpRequest,
    Provider,
    RemoteAgent,
    RemoteRun,
    ResumeMode,
    RunRef,
    SendJson,
    Translator,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "Capabilities",
    "HttpRequest",
    "Provider",
    "RemoteAgent",
    "RemoteRun",
    "ResumeMode",
    "RunRef",
    "SendJson",
    "Translator",
    "available_providers",
    "get_provider",
    "register_provider",
]

ENTRY_POINT_GROUP = "agentnb.providers"

_registered: dict[str, type[Provider]] = {}


def register_provider(cls: type[Provider]) -> type[Provider]:
    """Register a provider class under ``cls.name`` (usable as a class decorator)."""
    _registered[cls.name] = cls
    return cls


def available_providers() -> dict[str, type[Provider]]:
    """Every provider: installed through the entry-point group (agentnb's own are
    registered there too, in its ``pyproject.toml``), then those registered at runtime."""
    return {**_installed(), **_registered}


@functools.cache
def _installed() -> dict[str, type[Provider]]:
    found: dict[str, type[Provider]] = {}
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name):
        if ep.name in found:
            continue
        try:
            loaded = ep.load()
        except Exception as exc:  # a broken plugin must not break agentnb
            warn(f"agentnb: provider plugin {ep.name!r} failed to load: {exc}", stacklevel=2)
            continue
        if isinstance(loaded, type) and issubclass(loaded, Provider):
            found[ep.name] = loaded
    return found


def get_provider(name: str | Provider, **options: object) -> Provider:
    """A provider instance by registry name (or the instance itself)."""
    if isinstance(name, Provider):
        if options:
            raise ConfigurationError("options cannot be given with a provider instance")
        return name
    providers = available_providers()
    cls = providers.get(name.lower().strip())
    if cls is None:
        if not providers:
            raise ConfigurationError(
                f"unknown provider {name!r}: no provider is installed. agentnb's own are "
                f"registered as entry points when it is installed (pip install -e .)"
            )
        raise ConfigurationError(
            f"unknown provider {name!r}; available: {', '.join(sorted(providers))}"
        )
    return cls(**options)

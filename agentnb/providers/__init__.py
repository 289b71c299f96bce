"""Dialects agentnb speaks, and the registry that finds them (entry-point group
``agentnb.providers``)."""

from __future__ import annotations

import functools
from importlib.metadata import EntryPoint, entry_points

from .._core.exceptions import ConfigurationError
from .._core.warning import warn
from . import _base
from ._base import *  # noqa: F403  what a dialect is written with is public
from ._base import Provider

__all__ = [
    "ENTRY_POINT_GROUP",
    "available_providers",
    "get_provider",
    "provider_class",
    "register_provider",
]
__all__ += _base.__all__

ENTRY_POINT_GROUP = "agentnb.providers"

_registered: dict[str, type[Provider]] = {}


def register_provider(cls: type[Provider]) -> type[Provider]:
    """Register a provider class under ``cls.name`` (usable as a class decorator)."""
    _registered[cls.name] = cls
    return cls


def available_providers() -> dict[str, type[Provider]]:
    """Every provider: installed through the entry-point group (agentnb's own are
    registered there too, in its ``pyproject.toml``), then those registered at runtime."""
    installed = {name: _load(name) for name in _entry_points()}
    return {**{name: cls for name, cls in installed.items() if cls is not None}, **_registered}


def provider_names() -> list[str]:
    """Every provider's name (a dialect: ``openai``, ``acp``...), sorted, none imported."""
    return sorted({*_entry_points(), *_registered})


def provider_class(name: str) -> type[Provider] | None:
    """The provider registered under ``name`` (None: there is none), loading only its own
    module: a run of one dialect does not import every dialect's."""
    key = name.lower().strip()
    return _registered.get(key) or _load(key)


@functools.cache
def _entry_points() -> dict[str, EntryPoint]:
    found: dict[str, EntryPoint] = {}
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name):
        found.setdefault(ep.name, ep)
    return found


@functools.cache
def _load(name: str) -> type[Provider] | None:
    ep = _entry_points().get(name)
    if ep is None:
        return None
    try:
        loaded = ep.load()
    except Exception as exc:  # a broken plugin must not break agentnb
        warn(f"agentnb: provider plugin {ep.name!r} failed to load: {exc}", stacklevel=2)
        return None
    return loaded if isinstance(loaded, type) and issubclass(loaded, Provider) else None


def get_provider(name: str | Provider, **options: object) -> Provider:
    """A provider instance by registry name (or the instance itself)."""
    if isinstance(name, Provider):
        if options:
            raise ConfigurationError("options cannot be given with a provider instance")
        return name
    cls = provider_class(name)
    if cls is None:
        providers = available_providers()
        if not providers:
            raise ConfigurationError(
                f"unknown provider {name!r}: no provider is installed. agentnb's own are "
                f"registered as entry points when it is installed (pip install -e .)"
            )
        raise ConfigurationError(
            f"unknown provider {name!r}; available: {', '.join(sorted(providers))}"
        )
    return cls(**options)

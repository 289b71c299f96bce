"""Dialects agentnb speaks, and the registry that finds them (entry-point group
``agentnb.providers``)."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from .._core.exceptions import ConfigurationError
from ._base import HttpRequest, Provider, RemoteRun, ResumeMode, SendJson, Translator

__all__ = [
    "ENTRY_POINT_GROUP",
    "HttpRequest",
    "Provider",
    "RemoteRun",
    "ResumeMode",
    "SendJson",
    "Translator",
    "available_providers",
    "get_provider",
    "register_provider",
]

ENTRY_POINT_GROUP = "agentnb.providers"

_registered: dict[str, type[Provider]] = {}


def _builtin() -> dict[str, type[Provider]]:
    from .openai import OpenAI
    from .operativus import Operativus
    from .runagent import RunAgent
    from .runtools import RunTools
    from .seekrflow import SeekrFlow, SeekrFlowVercel
    from .vercel import Vercel

    classes: list[type[Provider]] = [
        SeekrFlow,
        SeekrFlowVercel,
        RunAgent,
        Operativus,
        RunTools,
        Vercel,
        OpenAI,
    ]
    return {cls.name: cls for cls in classes}


def register_provider(cls: type[Provider]) -> type[Provider]:
    """Register a provider class under ``cls.name`` (usable as a class decorator)."""
    _registered[cls.name] = cls
    return cls


def available_providers() -> dict[str, type[Provider]]:
    """Every provider: built in, installed through entry points, and registered at runtime."""
    found = _builtin()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in found:
            continue
        try:
            loaded = ep.load()
        except Exception as exc:  # a broken plugin must not break agentnb
            import warnings

            warnings.warn(
                f"agentnb: provider plugin {ep.name!r} failed to load: {exc}", stacklevel=2
            )
            continue
        if isinstance(loaded, type) and issubclass(loaded, Provider):
            found[ep.name] = loaded
    found.update(_registered)
    return found


def get_provider(name: str | Provider, **options: Any) -> Provider:
    """A provider instance by registry name (or the instance itself)."""
    if isinstance(name, Provider):
        if options:
            raise ConfigurationError("options cannot be given with a provider instance")
        return name
    providers = available_providers()
    cls = providers.get(name.lower().strip())
    if cls is None:
        raise ConfigurationError(
            f"unknown provider {name!r}; available: {', '.join(sorted(providers))}"
        )
    return cls(**options)

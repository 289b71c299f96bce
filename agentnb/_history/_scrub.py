"""Keeping rows safe and bounded: secrets redacted (see :mod:`agentnb._core.secrets`), text
valid UTF-8, tool payloads cut to :data:`OUTPUT_LIMIT`."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable
from typing import Any, Final
from urllib.parse import urlsplit

from .._core.secrets import redact, redact_credentials

__all__ = [
    "OUTPUT_LIMIT",
    "as_text",
    "clean",
    "host_of",
    "redact_error",
    "storable",
    "storable_row",
    "truncate",
]

OUTPUT_LIMIT: Final = 64 * 1024
"""Tool-call arguments and outputs are stored up to this many UTF-8 bytes, then cut."""
_SQLITE_INTEGER: Final = range(-(2**63), 2**63)


def redact_error(text: str | None) -> str | None:
    """An error message without known secrets or anything shaped like a credential."""
    return redact_credentials(text) if text else text


@functools.lru_cache(maxsize=64)  # every run of a connection asks for the same one
def host_of(base_url: str | None) -> str | None:
    """The host (and port) of a base URL: no scheme, credentials, path or query."""
    if not base_url:
        return None
    try:
        parts = urlsplit(base_url if "//" in base_url else f"//{base_url}")
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}" if port is not None else host


def as_text(value: Any) -> str | None:
    """A tool argument or output as text: strings as they are, anything else as JSON."""
    if value is None or isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:  # circular structures, ints too long to write out
        return f"<{type(value).__name__} that cannot be shown as JSON>"


def truncate(text: str | None, limit: int = OUTPUT_LIMIT) -> str | None:
    """``text`` cut to ``limit`` UTF-8 bytes, with a marker saying how much there was."""
    if text is None or len(text) <= limit // 4:
        return text
    data = text.encode("utf-8", "replace")
    if len(data) <= limit:
        return text
    kept = data[:limit].decode("utf-8", "ignore")
    return f"{kept}\n…[truncated by agentnb: {len(data)} bytes, first {limit} kept]"


def clean(text: str | None) -> str | None:
    """Text safe to store: secrets redacted, lone surrogates (invalid UTF-8) replaced."""
    if not text:
        return text
    return clean_text(redact(text))


def storable(value: Any) -> Any:
    """A value SQLite can bind: an integer past its 64 bits or a NaN/infinite float (a
    server's nonsense usage figures) becomes None, text with lone surrogates is repaired,
    so one odd figure never costs the whole row."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if value in _SQLITE_INTEGER else None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return clean_text(value)
    return value


def storable_row(values: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(storable(value) for value in values)


def clean_text(text: str) -> str:
    """``text`` with lone surrogates (invalid UTF-8) replaced."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text

"""Keeping rows safe and bounded: secrets redacted (see :mod:`agentnb._core.secrets`), text
valid UTF-8, tool payloads cut to :data:`OUTPUT_LIMIT`."""

from __future__ import annotations

import json
from typing import Any, Final
from urllib.parse import urlsplit

from .._core.secrets import redact, redact_credentials

__all__ = ["OUTPUT_LIMIT", "as_text", "clean", "host_of", "redact_error", "truncate"]

OUTPUT_LIMIT: Final = 64 * 1024
"""Tool-call arguments and outputs are stored up to this many UTF-8 bytes, then cut."""


def redact_error(text: str | None) -> str | None:
    """An error message without known secrets or anything shaped like a credential."""
    return redact_credentials(text) if text else text


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
    except ValueError:  # circular structures
        return repr(value)


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
    text = redact(text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text

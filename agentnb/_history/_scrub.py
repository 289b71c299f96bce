"""Keeping secrets out of the history, and keeping rows bounded.

API keys live in memory and in the environment only. Before a run's text is stored, any
value of a secret-looking environment variable (``*KEY*``, ``*TOKEN*``, ``*SECRET*``,
``*PASSWORD*``) and any key passed to :func:`register_secret` is replaced with ``***``; error
messages also lose anything shaped like an ``Authorization`` value.
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any, Final
from urllib.parse import urlsplit

__all__ = [
    "OUTPUT_LIMIT",
    "REDACTED",
    "as_text",
    "clean",
    "host_of",
    "redact",
    "redact_error",
    "register_secret",
    "truncate",
]

OUTPUT_LIMIT: Final = 64 * 1024
"""Tool-call arguments and outputs are stored up to this many UTF-8 bytes, then cut."""
REDACTED: Final = "***"
MIN_SECRET_LENGTH: Final = 8

_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW", re.IGNORECASE)
_CREDENTIAL_SHAPES = re.compile(
    r"(?P<label>\b(?:bearer|basic|token)\s+|"
    r"\b(?:authorization|x-api-key|api[-_]?key|access[-_]?token|secret)\b\s*[:=]\s*(?:bearer\s+)?+"
    r"['\"]?)"
    r"(?P<value>[^\s'\",;&]{4,})",
    re.IGNORECASE,
)
_registered: set[str] = set()


ENV_RESCAN_SECONDS: Final = 1.0
"""Scanning the environment costs more than writing a row, so its secrets are cached this long."""
_cache: tuple[float, list[str]] = (-ENV_RESCAN_SECONDS, [])


def register_secret(value: str | None) -> None:
    """Never store ``value`` in the history (e.g. an API key passed in code, not the env)."""
    global _cache
    if value and len(value) >= MIN_SECRET_LENGTH:
        _registered.add(value)
        _cache = (-ENV_RESCAN_SECONDS, [])


def _known_secrets() -> list[str]:
    global _cache
    scanned_at, secrets = _cache
    now = time.monotonic()
    if now - scanned_at < ENV_RESCAN_SECONDS:
        return secrets
    from_env = [
        value
        for name, value in os.environ.items()
        if len(value) >= MIN_SECRET_LENGTH and _SECRET_NAME.search(name)
    ]
    # Longest first, so a key that contains another is replaced whole.
    secrets = sorted({*from_env, *_registered}, key=len, reverse=True)
    _cache = (now, secrets)
    return secrets


def redact(text: str | None) -> str | None:
    """``text`` with every known secret replaced by ``***``."""
    if not text:
        return text
    for secret in _known_secrets():
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact_error(text: str | None) -> str | None:
    """An error message without known secrets or anything shaped like a credential."""
    if not text:
        return text
    return redact(_CREDENTIAL_SHAPES.sub(lambda m: m.group("label") + REDACTED, text))


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
    text = redact(text)
    if not text:
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text

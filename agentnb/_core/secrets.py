"""One home for secrets: which values are secret, how a key may be shown, and how secrets
are removed from any text that leaves memory.

A key given to a client or a connection is checked once (:func:`checked_key`) and registered
(:func:`register_secret`). From then on :func:`redact` removes it from every text agentnb
writes anywhere — exception messages, the static copy, widget state, the history, the
terminal, logs — in each form a server may echo it back in (raw, JSON-escaped with or
without ``\\/`` or ``\\u002f``, URL-encoded, HTML-escaped, as a Python or bytes repr).
Values of secret-looking environment variables (``*KEY*``, ``*TOKEN*``, ``*SECRET*``,
``*PASSW*``) are redacted too; what the notebook gives an agent as context is also cleared
of anything shaped like a known kind of key (:func:`redact_key_shapes`), and a value under
a secret-looking name (:func:`secret_name`) is not read at all.

One rule for length: a registered key of :data:`MIN_SECRET_LENGTH` characters or more is
redacted everywhere. Environment values are only a guess (``TOKENIZERS_PARALLELISM=true``), so
they count from :data:`MIN_ENV_SECRET_LENGTH`.
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Final
from urllib.parse import quote, quote_plus

from .exceptions import ConfigurationError
from .text import ERROR_CHARS, excerpt

__all__ = [
    "MIN_ENV_SECRET_LENGTH",
    "MIN_SECRET_LENGTH",
    "REDACTED",
    "checked_key",
    "env_prefix",
    "key_advice",
    "known_secrets",
    "mask",
    "no_key_note",
    "redact",
    "redact_credentials",
    "redact_key_shapes",
    "redact_pieces",
    "redacted_error",
    "register_secret",
    "secret_name",
    "without_a_cut_secret",
]

REDACTED: Final = "***"
MIN_SECRET_LENGTH: Final = 4
"""Registered keys this long or longer are redacted everywhere; shorter ones cannot be told
apart from ordinary words."""
MIN_ENV_SECRET_LENGTH: Final = 8
ENV_RESCAN_SECONDS: Final = 1.0
"""Scanning the environment costs more than one redaction, so its secrets are cached."""

_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW", re.IGNORECASE)
_CREDENTIAL_SHAPES = re.compile(
    r"(?P<label>\b(?:bearer|basic|token)\s+|"
    r"\b(?:authorization|x-api-key|api[-_]?key|access[-_]?token|secret)\b\s*[:=]\s*(?:bearer\s+)?+"
    r"['\"]?)"
    r"(?P<value>[^\s'\",;&]{4,})",
    re.IGNORECASE,
)
_KEY_SHAPES = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)"
    r"|\bsk-[A-Za-z0-9_-]{16,}"  # OpenAI, Anthropic (sk-ant-...)
    r"|\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}"
    r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"  # AWS access key ids
    r"|\bxox[abprs]-[A-Za-z0-9-]{10,}"  # Slack
    r"|\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",  # JWTs
    re.DOTALL,
)
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")
_KEY_CHARACTERS_REVERSED = re.compile(r"[A-Za-z0-9_+/=.-]*")

_lock = threading.Lock()
_registered: set[str] = set()
_cache: tuple[float, tuple[str, ...]] = (-ENV_RESCAN_SECONDS, ())


def checked_key(key: str | None, *, what: str = "api_key") -> str | None:
    """The key as it will be sent: surrounding whitespace stripped (a key read from a file
    ends in a newline), registered for redaction. A key that cannot go into an HTTP header
    (inner whitespace, control or non-ASCII characters) is refused without echoing it."""
    if key is None:
        return None
    if not isinstance(key, str):
        raise ConfigurationError(f"{what} must be a string, not {type(key).__name__}")
    stripped = key.strip()
    if not stripped:
        return None
    register_secret(stripped)
    register_secret(key)
    if not _HEADER_SAFE.fullmatch(stripped):
        raise ConfigurationError(
            f"{what} contains whitespace, control or non-ASCII characters inside it, which an "
            f"HTTP header cannot carry; check that it was copied whole (it is not shown here)"
        )
    return stripped


def env_prefix(connection: str) -> str:
    """The prefix of a connection's environment variables: ``AGENTNB_`` for the default
    connection, ``AGENTNB_<NAME>_`` for another (``AGENTNB_RESEARCH_API_KEY``)."""
    if connection == "default":
        return "AGENTNB_"
    return "AGENTNB_" + re.sub(r"\W", "_", connection).upper() + "_"


def _ways_to_set_a_key(connection: str) -> str:
    return (
        f"set one with {env_prefix(connection)}API_KEY, `agentnb run --api-key-file PATH`, "
        f"or agentnb.connect(..., api_key=...)"
    )


def no_key_note(connection: str, where: str) -> str:
    """What a person is told before a request goes out without a key."""
    return (
        f"agentnb: connection {connection!r} ({where}) has no API key, so its requests go "
        f"without one; if the platform needs a key, {_ways_to_set_a_key(connection)}."
    )


def key_advice(connection: str, *, sent: bool) -> str:
    """What a person does about a 401 or 403: no key was sent, or the one sent was refused."""
    if not sent:
        return (
            f"No API key was sent (connection {connection!r} has none): "
            f"{_ways_to_set_a_key(connection)}."
        )
    return (
        f"The API key of connection {connection!r} was refused: check that it is this "
        f"platform's key and still valid, or {_ways_to_set_a_key(connection)}."
    )


def register_secret(value: str | None) -> None:
    """Redact ``value`` from everything agentnb writes from now on."""
    global _cache
    if not value or len(value.strip()) < MIN_SECRET_LENGTH:
        return
    with _lock:
        if value in _registered:
            return
        _registered.update(_echo_forms(value))
        _registered.update(_echo_forms(value.strip()))
        _cache = (-ENV_RESCAN_SECONDS, ())


def _echo_forms(secret: str) -> set[str]:
    """The ways a server, a serializer or a log line may write ``secret`` back."""
    json_escaped = json.dumps(secret)[1:-1]
    forms = {
        secret,
        json_escaped,
        json_escaped.replace("/", "\\/"),  # PHP's json_encode
        json_escaped.replace("/", "\\u002f"),
        json_escaped.replace("/", "\\u002F"),
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        html.escape(secret),
        repr(secret)[1:-1],
        repr(secret.encode("utf-8", "backslashreplace"))[2:-1],  # httpcore logs header bytes
    }
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


def known_secrets() -> tuple[str, ...]:
    """Every secret to redact, longest first (a key that contains another goes whole)."""
    global _cache
    scanned_at, secrets = _cache
    now = time.monotonic()
    if now - scanned_at < ENV_RESCAN_SECONDS:
        return secrets
    from_env: set[str] = set()
    for name, value in os.environ.items():
        if len(value) >= MIN_ENV_SECRET_LENGTH and _SECRET_NAME.search(name):
            from_env.update(_echo_forms(value))
    with _lock:
        secrets = tuple(sorted({*from_env, *_registered}, key=len, reverse=True))
        _cache = (now, secrets)
    return secrets


def redact(text: str, extra: Iterable[str | None] = ()) -> str:
    """``text`` with every known secret (and each of ``extra``) replaced by ``***``."""
    if not text:
        return text
    for secret in (*_extra_forms(tuple(extra)), *known_secrets()):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redacted_error(text: str, extra: Iterable[str | None] = (), limit: int = ERROR_CHARS) -> str:
    """A remote party's error text (an error frame's message, a refusal's reason, an error
    body) as agentnb keeps and shows it: every known secret (and each of ``extra``) redacted
    first, so no cut leaves a part of one, then cut to ``limit`` characters, its lines kept
    and a line saying how much was left out (:func:`~agentnb._core.text.excerpt`)."""
    return excerpt(redact(text, extra), limit, lines=True)


def redact_pieces(pieces: Iterable[str]) -> Iterator[str]:
    """:func:`redact` of the text ``pieces`` make together, a piece at a time: a secret cut
    across two pieces is found all the same, and the text is never joined into one string.
    Each piece yielded is a piece given or a part of one (with a secret's tail held over)."""
    secrets = known_secrets()
    if not secrets:
        yield from pieces
        return
    longest = len(secrets[0])
    held = ""
    for piece in pieces:
        text = held + piece if held else piece
        cut = _cut_outside_secrets(text, secrets, len(text) - longest + 1)
        if cut > 0:
            yield redact(text[:cut])
        held = text[cut:]
    if held:
        yield redact(held)


def _cut_outside_secrets(text: str, secrets: Sequence[str], cut: int) -> int:
    """The last place at or before ``cut`` that no secret in ``text`` straddles (anything
    after ``cut`` may be the start of a secret the next piece completes)."""
    cut = max(cut, 0)
    moved = True
    while moved and cut > 0:
        moved = False
        for secret in secrets:
            start = text.find(secret, max(cut - len(secret) + 1, 0), cut + len(secret) - 1)
            if start != -1 and start < cut:
                cut, moved = start, True
    return cut


@functools.lru_cache(maxsize=8)
def _extra_forms(extra: tuple[str | None, ...]) -> tuple[str, ...]:
    """The forms of ``extra``, worked out once for the many texts redacted of the same ones
    (each piece of one summary)."""
    forms: set[str] = set()
    for secret in extra:
        if secret and len(secret) >= MIN_SECRET_LENGTH:
            forms.update(_echo_forms(secret))
    return tuple(sorted(forms, key=len, reverse=True))


def without_a_cut_secret(text: str, extra: Iterable[str | None] = ()) -> str:
    """``text``, the start of a longer text, without its end where a secret the rest goes on
    with may start: a run of the characters keys are written in, or the first part of a
    known secret (or one of ``extra``). A secret cut in two is not found by :func:`redact`;
    what is left is redacted whole."""
    run = _KEY_CHARACTERS_REVERSED.match(text[::-1])  # backwards: the run that ends it, at once
    end = len(text) - (run.end() if run else 0)
    for secret in (*_extra_forms(tuple(extra)), *known_secrets()):
        end = min(end, _where_a_first_part_starts(text, secret))
    return text[:end]


def _where_a_first_part_starts(text: str, secret: str) -> int:
    """Where the first part of ``secret`` that ``text`` ends with starts (``len(text)`` if
    none does)."""
    start = text.find(secret[0], max(len(text) - len(secret) + 1, 0))
    while start != -1:
        if secret.startswith(text[start:]):
            return start
        start = text.find(secret[0], start + 1)
    return len(text)


def redact_credentials(text: str) -> str:
    """:func:`redact`, and anything shaped like a credential (``Bearer …``, ``api_key=…``)."""
    if not text:
        return text
    return redact(_CREDENTIAL_SHAPES.sub(lambda m: m.group("label") + REDACTED, text))


def redact_key_shapes(text: str) -> str:
    """:func:`redact_credentials`, and anything shaped like a known kind of key (``sk-…``,
    ``ghp_…``, ``AKIA…``, ``xox…-…``, a JWT, a PEM private key block), registered or not."""
    if not text:
        return text
    return redact_credentials(_KEY_SHAPES.sub(REDACTED, text))


def secret_name(name: str) -> bool:
    """Whether ``name`` (a variable, a dict key, a column, an environment variable) looks
    like it holds a secret: it says key, token, secret or password."""
    return bool(_SECRET_NAME.search(name))


def mask(secret: str | None) -> str:
    """A key as it may be shown: ``***`` and, for keys of 12 characters or more, the last
    four, so two keys can be told apart without revealing either."""
    if not secret:
        return "(none)"
    return REDACTED + secret[-4:] if len(secret) >= 12 else REDACTED

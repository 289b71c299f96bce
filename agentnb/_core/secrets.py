"""One home for secrets: which values are secret, how a key may be shown, and how secrets
are removed from any text that leaves memory.

A key given to a client or a connection is checked once (:func:`checked_key`) and registered
(:func:`register_secret`). From then on :func:`redact` removes it from every text agentnb
writes anywhere — exception messages, the static copy, widget state, the history, the
terminal, logs — in each form a server may echo it back in (raw, JSON-escaped with or
without ``\\/`` or ``\\u002f``, URL-encoded, HTML-escaped, as a Python or bytes repr).
Values of secret-looking environment variables (``*KEY*``, ``*TOKEN*``, ``*SECRET*``,
``*PASSW*``) are redacted too; what the notebook gives an agent as context is also cleared
of anything shaped like a known kind of key or a secret written beside its name
(:func:`redact_key_shapes`), and a value under a secret-looking name (:func:`secret_name`,
judged by its words) is not read at all: :class:`SecretSearch` is the one walk over the
notebook's values that finds such values at any depth (to redact them wherever else they
show), and :func:`scrubbed` the copy of a value a summary shows, such values written
``***``.

One rule for length: a registered key of :data:`MIN_SECRET_LENGTH` characters or more is
redacted everywhere. Environment values are only a guess (``TOKENIZERS_PARALLELISM=true``), so
they count from :data:`MIN_ENV_SECRET_LENGTH`.
"""

from __future__ import annotations

import functools
import html
import itertools
import json
import os
import re
import sys
import threading
import time
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit

from .exceptions import ConfigurationError
from .text import ERROR_CHARS, excerpt

__all__ = [
    "MIN_SECRET_LENGTH",
    "REDACTED",
    "SECRET_SEARCH_ITEMS",
    "SECRET_VALUES",
    "FoundSecrets",
    "SecretSearch",
    "checked_key",
    "env_prefix",
    "key_advice",
    "mask",
    "named_fields",
    "no_key_note",
    "redact",
    "redact_credentials",
    "redact_key_shapes",
    "redact_pieces",
    "redacted_error",
    "register_header_credentials",
    "register_secret",
    "scrubbed",
    "secret_name",
    "secret_positions",
    "url_credentials",
    "value_of",
    "without_a_cut_secret",
]

REDACTED: Final = "***"
MIN_SECRET_LENGTH: Final = 4
"""Registered keys this long or longer are redacted everywhere; shorter ones cannot be told
apart from ordinary words."""
MIN_ENV_SECRET_LENGTH: Final = 8
ENV_RESCAN_SECONDS: Final = 1.0
"""Scanning the environment costs more than one redaction, so its secrets are cached."""

_SECRET_ENV_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW", re.IGNORECASE)
_CREDENTIAL_SHAPES = re.compile(
    r"(?P<label>\b(?:bearer|basic|token)\s+|"
    r"\b(?:authorization|x-api-key|api[-_]?key|access[-_]?token|secret)\b\s*[:=]\s*"
    r"(?:(?:bearer|basic|digest|token)\s+)?+"
    r"['\"]?)"
    r"(?P<value>[^\s'\",;&]{4,})",
    re.IGNORECASE,
)
_KEY_SHAPES = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)"
    r"|\bsk-[A-Za-z0-9_-]{16,}"  # OpenAI, Anthropic (sk-ant-...)
    r"|\b[rsp]k_(?:live|test)_[A-Za-z0-9]{10,}"  # Stripe
    r"|\bAIza[0-9A-Za-z_-]{30,}"  # Google
    r"|\bhf_[A-Za-z0-9]{20,}"  # Hugging Face
    r"|\bglpat-[A-Za-z0-9_-]{20,}"  # GitLab
    r"|\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}"
    r"|\bnpm_[A-Za-z0-9]{30,}|\bpypi-[A-Za-z0-9_-]{40,}"
    r"|\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}"  # SendGrid
    r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"  # AWS access key ids
    r"|\bxox[abeprs]-[A-Za-z0-9-]{10,}|\bxapp-[A-Za-z0-9-]{10,}"  # Slack
    r"|\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",  # JWTs
    re.DOTALL,
)
_URL_PASSWORD = re.compile(
    r"(?P<before>(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*+://[^\s:/@'\"]*+:)"
    r"(?P<password>[^\s@/'\"]++)(?=@)"
)
"""The password of a URL (a DSN, a git remote): ``postgres://user:password@host``."""
_SECRET_WRITTEN = re.compile(
    r"""(?P<nq>\\?["']?)(?<![\w.$-])(?P<name>[A-Za-z_$][\w.$-]*+)(?P=nq)"""
    r"""(?:\s*:\s*[A-Za-z_][\w.\[\]|, ]*?\s*=(?!=)|\s*(?:=>|:=|=(?!=)|:))\s*"""
)
_WRITTEN_VALUE = re.compile(
    r"""\\(?P<eq>["'])(?:(?!\\(?P=eq)).)*?\\(?P=eq)"""  # \"…\" inside JSON text
    r"""|(?P<q>["'])(?:\\.|(?!(?P=q))[^\\\n])*(?P=q)"""  # '…', "…"
    r"""|\((?:[^()\n])*\)|\[(?:[^\[\]\n])*\]|\{(?:[^{}\n])*\}"""  # (…), […], {…} on one line
    r"""|[^\s'"`,;(){}\[\]<>\\]++(?![(\[])"""  # a bare value, not a call
)
"""A value written beside its name: ``db_password = "…"``, ``'token': '…'``, ``password:
…`` (YAML), ``API_KEY=…`` (``.env``), ``auth=("bob", "…")``, ``\\"secret\\": \\"…\\"``
(inside a notebook's JSON). Redacted when the name looks secret (:func:`secret_name`)."""
_NAME_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_SECRET_WORDS: Final = frozenset(
    {
        *("pass", "pwd", "passwd", "password", "passwords", "passphrase", "passcode"),
        *("secret", "secrets", "token", "auth", "authorization", "cookie", "cookies"),
        *("cred", "creds", "credential", "credentials", "apikey", "apikeys", "privkey"),
    }
)
_SECRET_ENDINGS: Final = ("password", "passwd", "secret", "token", "passphrase", "credentials")
_KEY_QUALIFIERS: Final = frozenset(
    {
        *("api", "access", "secret", "private", "priv", "signing", "encryption", "master"),
        *("client", "app", "ssh", "license", "licence", "auth", "session", "service"),
        *("account", "webhook", "deploy", "gpg", "pgp", "rsa", "hmac", "jwt", "consumer"),
        *("admin", "root", "crypto", "aes", "fernet", "refresh", "bearer", "oauth", "id"),
    }
)
"""Words that make ``key`` (and ``tokens``) name a secret: ``api_key``, ``accessKey``,
``secretkey``, ``refresh_tokens`` (but ``sort_key``, ``max_tokens``)."""
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


CREDENTIAL_HEADERS: Final = frozenset({"authorization", "proxy-authorization", "cookie"})
"""Headers whose value is a credential, whatever a secret-looking name would say."""


def register_header_credentials(headers: Mapping[str, str]) -> None:
    """The credentials among ``headers`` (``Authorization``, a cookie, a header with a
    secret-looking name), registered as secrets: redacted wherever they might show, a
    ``Bearer <token>``'s token alone too (a peer may echo either)."""
    for header, value in headers.items():
        if header.lower() in CREDENTIAL_HEADERS or secret_name(header):
            register_secret(value)
            register_secret(value.partition(" ")[2] or None)


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
        if len(value) >= MIN_ENV_SECRET_LENGTH and _SECRET_ENV_NAME.search(name):
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
    ``sk_live_…``, ``AIza…``, ``hf_…``, ``glpat-…``, ``ghp_…``, ``AKIA…``, ``xox…-…``, a JWT,
    a PEM private key block), registered or not; a URL's password (``postgres://u:***@db``);
    and a value written beside a secret-looking name (``db_password = '***'``,
    ``"token": "***"``, ``auth = ***``)."""
    if not text:
        return text
    text = _KEY_SHAPES.sub(REDACTED, text)
    text = _URL_PASSWORD.sub(lambda m: m.group("before") + REDACTED, text)
    text = _CREDENTIAL_SHAPES.sub(lambda m: m.group("label") + REDACTED, text)  # a scheme's
    return redact(_without_written_secrets(text))  # value first: ``Authorization: Bearer …``


def _without_written_secrets(text: str) -> str:
    """``text`` with each value written beside a secret-looking name redacted. Only the name
    is matched, the value read after it when the name looks secret: a value beside another
    name is searched too (``{'db': {'password': '…'}}``), and no text is read twice."""
    parts: list[str] = []
    done = 0
    for match in _SECRET_WRITTEN.finditer(text):
        if match.start() < done or not secret_name(match.group("name")):
            continue
        value = _WRITTEN_VALUE.match(text, match.end())
        if value is None:
            continue
        quote = (value.group("eq") and "\\" + value.group("eq")) or value.group("q") or ""
        parts += [text[done : match.end()], f"{quote}{REDACTED}{quote}"]
        done = value.end()
    return "".join(parts) + text[done:] if parts else text


def secret_name(name: str) -> bool:
    """Whether ``name`` (a variable, a dict key, a column, an attribute) looks like it holds
    a secret, judged by its words (``db_pass``, ``dbPassword``, ``pwd``, ``auth``,
    ``api_key``, ``credentials``, ``clientSecret``; not ``author``, ``tokenizer``,
    ``sort_key``)."""
    words = [w.lower() for w in _NAME_WORDS.findall(name)]
    for position, word in enumerate(words):
        if word in _SECRET_WORDS or word.endswith(_SECRET_ENDINGS):
            return True
        if word.startswith(("passw", "credential")):
            return True
        before = words[position - 1] if position else ""
        if word in ("key", "keys", "tokens") and before in _KEY_QUALIFIERS:
            return True
        for ending in ("key", "keys", "tokens"):
            if word.endswith(ending) and word[: -len(ending)] in _KEY_QUALIFIERS:
                return True
    return False


def mask(secret: str | None) -> str:
    """A key as it may be shown: ``***`` and, for keys of 12 characters or more, the last
    four, so two keys can be told apart without revealing either."""
    if not secret:
        return "(none)"
    return REDACTED + secret[-4:] if len(secret) >= 12 else REDACTED


# ---- the one walk over the notebook's values --------------------------------------------------

SECRET_SEARCH_ITEMS: Final = 10_000_000
"""Items the search for values under secret-looking names looks at in all (a container's
items, a frame's text cells, an object array's values), at any depth. Past it the search
has not finished: what it has not seen may hold a secret, so what is read from the notebook
is withheld (see :attr:`FoundSecrets.complete`)."""
SECRET_VALUES: Final = 10_000
"""Distinct values under secret-looking names it keeps at most to redact elsewhere; finding
more also leaves the search unfinished."""
FLAT_WEIGHT: Final = 16
"""A run of values looked at by their types only, at C speed (a list of numbers, a frame's
text column), counts one item in this many."""
SHOWN_DEPTH: Final = 8
"""Levels of nesting a summary's copy of a value (:func:`scrubbed`) keeps."""
SHOWN_ITEMS: Final = 50
"""Items of each container a summary's copy keeps (what fits in a cut ``repr``)."""

_HINTS: Final = ("pass", "pwd", "secret", "token", "auth", "cred", "key", "cookie", "priv")
"""What a secret-looking name holds, one of these at least (a fast first look at many
names at once, before each is judged by its words)."""
_HINT: Final = re.compile("|".join(_HINTS), re.IGNORECASE)
_FLAT = (list, tuple, set, frozenset)


@dataclass(frozen=True)
class FoundSecrets:
    """What :class:`SecretSearch` found: ``values`` to redact wherever they show, and
    ``complete`` (False when it stopped at :data:`SECRET_SEARCH_ITEMS` or
    :data:`SECRET_VALUES`: then what it has not seen may hold more)."""

    values: tuple[str, ...] = ()
    complete: bool = True


class _Withheld:
    """What a summary's copy of a value shows for a value under a secret-looking name."""

    def __repr__(self) -> str:
        return REDACTED

    __str__ = __repr__


class _Elided:
    def __repr__(self) -> str:
        return "…"

    __str__ = __repr__


WITHHELD: Final = _Withheld()


class SecretSearch:
    """The one walk over the notebook's values for the values held under secret-looking
    names (:func:`secret_name`): a variable's, a dict key's, a record's attribute (a
    dataclass, a namespace, a pydantic model), a frame's column or row label, at any depth,
    strings and bytes of :data:`MIN_ENV_SECRET_LENGTH` characters or more. It runs none of
    the user's code (a container is read through its built-in type's own methods, so an
    override is not called) and looks at :data:`SECRET_SEARCH_ITEMS` items at most, flat
    runs of them at C speed; shared and cyclic values are looked at once."""

    def __init__(self, limit: int | None = None) -> None:
        self.found: set[str] = set()
        self.left = SECRET_SEARCH_ITEMS if limit is None else limit
        self.complete = True
        self._stack: list[tuple[object, bool]] = []
        self._seen: set[tuple[int, bool]] = set()

    def search(self, named: Iterable[tuple[str, object]]) -> FoundSecrets:
        """The values under secret-looking names in ``named`` (name, value) pairs, and the
        password of a URL a variable holds (``DSN = "postgres://app:…@db"``): it is
        redacted wherever else it shows, as in the source that built the URL in pieces."""
        for name, value in named:
            if isinstance(value, str) and "://" in value:
                self.found.update(url_passwords(str.__str__(value)))
            self._push(value, secret_name(name))
            self._walk()
            if not self.complete:
                break
        return FoundSecrets(tuple(sorted(self.found, key=len, reverse=True)), self.complete)

    def _spend(self, items: int) -> bool:
        self.left -= items
        if self.left < 0 or len(self.found) > SECRET_VALUES:
            self.complete = False
        return self.complete

    def _push(self, value: object, secret: bool) -> None:
        kind = type(value)
        if isinstance(value, str | bytes | bytearray):  # numpy's str_ and bytes_ too
            text = _text(value)
            if secret and len(text) >= MIN_ENV_SECRET_LENGTH:
                self.found.add(text)
            return
        if kind in (int, float, bool, complex) or value is None:
            return
        key = (id(value), secret)
        if key not in self._seen:
            self._seen.add(key)
            self._stack.append((value, secret))

    def _walk(self) -> None:
        while self._stack and self.complete:
            value, secret = self._stack.pop()
            try:
                self._visit(value, secret)
            except Exception:  # a value of an unexpected kind: it may hold anything
                self.complete = False

    def _visit(self, value: object, secret: bool) -> None:
        if isinstance(value, dict):
            self._mapping(value, secret)
        elif isinstance(value, tuple) and (fields := named_fields(value)) is not None:
            self._mapping(fields, secret)
        elif isinstance(value, _FLAT):
            if not secret and (held := pair_value(value)) is not None:
                self._push(held, True)
            self._flat(lambda: _iterate(value), len(value), secret)
        elif value_of("pandas", "DataFrame")(value):
            self._pandas_frame(value, secret)
        elif value_of("pandas", "Series")(value):
            self._pandas_series(value, secret)
        elif value_of("polars", "DataFrame")(value):
            self._polars_frame(value, secret)
        elif value_of("numpy", "ndarray")(value):
            self._numpy_array(value, secret)
        else:
            attributes = record_attributes(value)
            if attributes is not None:
                self._mapping(attributes, secret)

    def _mapping(self, mapping: dict[Any, object], secret: bool) -> None:
        if not self._spend(len(mapping) // FLAT_WEIGHT + 1):
            return
        if not secret:
            for key in _secret_keys(dict.__iter__(mapping)):
                self._push(dict.__getitem__(mapping, key), True)
        self._flat(lambda: iter(dict.values(mapping)), len(mapping), secret)

    def _flat(self, items: Callable[[], Iterator[object]], count: int, secret: bool) -> None:
        """A run of ``count`` values (``items()`` reads them, once or twice): each pushed
        when they are under a secret-looking name; else only the ones that hold names, when
        a first look at C speed (their types) finds any."""
        if not secret:
            if not self._spend(count // FLAT_WEIGHT + 1):
                return
            if all(_plain(kind) for kind in set(map(type, items()))):
                return
        if not self._spend(count):
            return
        for item in items():
            self._push(item, secret)
            if len(self.found) > SECRET_VALUES:
                self._spend(0)
                return

    def _numpy_array(self, array: Any, secret: bool) -> None:
        """An array's values that may hold names or text; a structured array's fields as a
        frame's columns (``dtype=[("id", "i4"), ("password", "U20")]``), each a view."""
        fields = array.dtype.names
        if fields is None:
            if array.dtype.kind in "OUS":
                self._flat(lambda: iter(array.flat), int(array.size), secret)
            return
        for field in fields:
            self._numpy_array(array[field], secret or secret_name(field))

    def _pandas_frame(self, frame: Any, secret: bool) -> None:
        rows = [] if secret else secret_positions(frame.index)
        for position, column in enumerate(list(frame.columns)):
            self._pandas_values(frame.iloc[:, position], secret or secret_name(str(column)), rows)

    def _pandas_series(self, series: Any, secret: bool) -> None:
        secret = secret or (series.name is not None and secret_name(str(series.name)))
        self._pandas_values(series, secret, [] if secret else secret_positions(series.index))

    def _pandas_values(self, series: Any, secret: bool, rows: list[int]) -> None:
        """A pandas column's values: its categories for a categorical one (they are its
        distinct values), the distinct ones under a secret-looking name, the values that
        hold names otherwise (only an ``object`` column can); and those of ``rows``."""
        for row in rows:
            self._push(series.iloc[row], True)
        if getattr(series.dtype, "name", "") == "category":
            series = series.cat.categories.to_series()
        if secret:
            values = series.to_numpy()
            distinct = _distinct(values)
            self._spend(len(values) // FLAT_WEIGHT)
            self._flat(distinct.__iter__, len(distinct), True)
        elif (
            getattr(series.dtype, "kind", "") == "O"
            and getattr(series.dtype, "name", "") == "object"
        ):
            values = series.to_numpy()  # a view: only a numpy object column holds names
            self._flat(lambda: iter(values), len(values), False)

    def _polars_frame(self, frame: Any, secret: bool) -> None:
        for column in frame.columns:
            if secret or secret_name(str(column)):
                values: list[object] = frame.get_column(column).unique().to_list()
                self._flat(values.__iter__, len(values), True)


def _distinct(values: Any) -> list[object]:
    """The distinct values of a numpy array (all of them when some cannot be hashed)."""
    try:
        return list(set(values))
    except TypeError:  # a dict or a list in a cell
        return list(values)


def _text(value: str | bytes | bytearray) -> str:
    """A text's or bytes' own characters, read by the built-in type (a subclass's
    ``__str__`` is user code, not called)."""
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bytes):
        return bytes.decode(value, "utf-8", "backslashreplace")
    return bytearray.decode(value, "utf-8", "backslashreplace")


def _iterate(value: object) -> Iterator[object]:
    """The items of a built-in container, read by its built-in type (a subclass's own
    ``__iter__`` is user code, not called)."""
    if isinstance(value, list):
        return list.__iter__(value)
    if isinstance(value, tuple):
        return tuple.__iter__(value)
    if isinstance(value, set):
        return set.__iter__(value)
    if isinstance(value, frozenset):
        return frozenset.__iter__(value)
    raise TypeError(type(value).__name__)


def url_passwords(text: str) -> set[str]:
    """The passwords of the URLs in ``text`` (``postgres://app:…@db``) that a search keeps."""
    found = {m.group("password") for m in _URL_PASSWORD.finditer(text)}
    return {password for password in found if len(password) >= MIN_ENV_SECRET_LENGTH}


_KEY_PARAMETERS: Final = frozenset({"key", "keys", "sig", "signature", "code"})
"""Query parameters that hold a credential though their names alone do not say so
(``?key=…``, a signed URL's ``?sig=…``, an OAuth ``?code=…``)."""


def url_credentials(url: str) -> set[str]:
    """The credentials ``url`` carries, to register: its password (or its user name when it
    has no password, as a token is given in ``https://TOKEN@host``), and each query value
    under a secret-looking name (``api_key=``, ``token=``, ``key=``, ``sig=``)."""
    try:
        parts = urlsplit(url)
        user, password = parts.username, parts.password
    except ValueError:  # not a URL: nothing to read from it
        return set()
    found = {password, unquote(password)} if password else set()
    if user and not password:
        found |= {user, unquote(user)}
    for name, value in parse_qsl(parts.query):
        if secret_name(name) or name.lower() in _KEY_PARAMETERS:
            found.add(value)  # its URL-encoded forms are among the forms registered
    return {value for value in found if len(value) >= MIN_SECRET_LENGTH}


def named_fields(value: tuple[Any, ...]) -> dict[str, object] | None:
    """A named tuple's fields by name (``Login(user='bob', password=…)``), read from its
    class's ``_fields`` without running its code; None for another tuple."""
    mro = type.__dict__["__mro__"].__get__(type(value))
    for kind in mro:
        fields = type.__dict__["__dict__"].__get__(kind).get("_fields")
        if fields is None:
            continue
        items = tuple(tuple.__iter__(value))
        if type(fields) is not tuple or len(fields) != len(items):
            return None
        if not all(type(field) is str for field in fields):
            return None
        return dict(zip(fields, items, strict=True))
    return None


def pair_value(value: object) -> object | None:
    """The value of a pair ``(name, value)`` whose name looks secret (a header list's
    ``("Authorization", "Bearer …")``, ``parse_qsl``'s ``("password", "…")``), as a dict's
    value under that key; None for any other tuple."""
    if type(value) is not tuple or tuple.__len__(value) != 2:
        return None
    items: list[object] = list(tuple.__iter__(value))
    name, held = items
    if type(name) is not str or not _HINT.search(name) or not secret_name(name):
        return None
    return held


def _plain(kind: type) -> bool:
    """Whether values of ``kind`` hold no names (nothing under them to search)."""
    return kind in (str, bytes, bytearray, int, float, bool, complex, type(None))


def _secret_keys(keys: Iterable[object]) -> list[str]:
    """The secret-looking ones among ``keys`` (strings), looked at all at once first."""
    names = [key for key in keys if isinstance(key, str) and type(key) is str]
    joined = "\x00".join(names).lower()
    if not any(hint in joined for hint in _HINTS):
        return []
    return [name for name in names if secret_name(name)]


def secret_positions(index: Any) -> list[int]:
    """The positions of a pandas index's secret-looking labels (a frame of settings, a
    series of a config's values)."""
    if getattr(index.dtype, "kind", "") not in "OUS":
        return []
    labels = [label for label in index if isinstance(label, str)]
    if not _secret_keys(labels):
        return []
    return [p for p, label in enumerate(index) if isinstance(label, str) and secret_name(label)]


def value_of(module: str, name: str) -> Callable[[object], bool]:
    """A test of whether a value is ``module.name`` (the module is never imported here)."""

    def test(value: object) -> bool:
        loaded = sys.modules.get(module)
        kind = getattr(loaded, name, None) if loaded is not None else None
        return isinstance(kind, type) and isinstance(value, kind)

    return test


_RECORD_MARKS: Final = ("__dataclass_fields__", "__pydantic_fields__", "__attrs_attrs__")


def record_attributes(value: object) -> dict[str, object] | None:
    """The attributes of a record (a dataclass, a ``SimpleNamespace``, a pydantic model, an
    attrs class) as its instance dict, read without running its code; None for another
    object."""
    kind = type(value)
    mro = type.__dict__["__mro__"].__get__(kind)
    own = [type.__dict__["__dict__"].__get__(k) for k in mro]
    if kind is not types.SimpleNamespace and not any(m in d for d in own for m in _RECORD_MARKS):
        return None
    for names in own:
        slot = names.get("__dict__")
        if slot is not None:
            if not isinstance(slot, types.GetSetDescriptorType | types.MemberDescriptorType):
                return None  # a class's own __dict__ property: its code
            attributes = slot.__get__(value)
            return attributes if type(attributes) is dict else None
    return None


def scrubbed(value: object, depth: int = SHOWN_DEPTH) -> object:
    """``value`` as a summary shows it: a built-in container copied with the values under
    secret-looking keys written ``***`` at every depth, within :data:`SHOWN_ITEMS` items a
    level and :data:`SHOWN_DEPTH` levels (what a cut ``repr`` shows); a record's attributes
    likewise; anything else as it is (its text is redacted where it is shown)."""
    if isinstance(value, str | bytes | bytearray | int | float | complex) or value is None:
        return value
    if depth <= 0:
        return _Elided()
    if isinstance(value, dict):
        return _scrubbed_mapping(value, depth)
    if isinstance(value, tuple) and (fields := named_fields(value)) is not None:
        return _Record(type(value).__qualname__, _scrubbed_mapping(fields, depth))
    if isinstance(value, tuple) and pair_value(value) is not None:
        return (tuple.__getitem__(value, 0), WITHHELD)
    if isinstance(value, list | tuple):
        first = itertools.islice(_iterate(value), SHOWN_ITEMS)
        items = [scrubbed(item, depth - 1) for item in first]
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, set | frozenset):
        return set(itertools.islice(_iterate(value), SHOWN_ITEMS))
    attributes = record_attributes(value)
    if attributes is not None:
        return _Record(type(value).__qualname__, _scrubbed_mapping(attributes, depth))
    return value


def _scrubbed_mapping(mapping: dict[Any, object], depth: int) -> dict[Any, object]:
    shown: dict[Any, object] = {}
    for key in itertools.islice(dict.__iter__(mapping), SHOWN_ITEMS):
        item = dict.__getitem__(mapping, key)
        secret = isinstance(key, str) and secret_name(key)
        shown[key] = WITHHELD if secret else scrubbed(item, depth - 1)
    return shown


class _Record:
    """A record as a summary shows it: ``Settings(host='db', password=***)``."""

    def __init__(self, name: str, attributes: dict[Any, object]) -> None:
        self.name, self.attributes = name, attributes

    def __repr__(self) -> str:
        inner = ", ".join(f"{key}={item!r}" for key, item in self.attributes.items())
        return f"{self.name}({inner})"

    __str__ = __repr__

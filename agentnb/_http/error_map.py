"""From an HTTP answer that is not what was asked for to agentnb's typed exceptions.

Messages read like ``POST http://host/v1/agents/nope/stream → 404 Not Found: {excerpt}``.
Every message and URL goes through :func:`~agentnb._core.secrets.redact`, so a key a server
echoes back never reaches an exception.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import httpx
from pydantic_core import from_json, to_json

from .._core.exceptions import (
    AuthenticationError,
    ConnectError,
    HTTPStatusError,
    InvalidRequestError,
    NotFoundError,
    ProtocolError,
    RateLimitError,
    ServerError,
    StreamTimeoutError,
    TransportError,
)
from .._core.retry import Retryable, parse_retry_after
from .._core.secrets import redact
from .._core.text import excerpt

__all__ = [
    "KNOWN_SERVERS",
    "KnownServer",
    "content_type_error",
    "is_event_stream",
    "is_json",
    "status_error",
    "transport_error",
]


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _json_body(body: str, secrets: list[str | None]) -> Any:
    """The body's JSON, with secrets redacted from it once parsed: a key the server escaped
    (``\\u0073k-…``) is plain text only after parsing. Too deep or not JSON: None."""
    try:
        parsed = from_json(body) if body.strip() else None
    except ValueError:
        return None
    if parsed is None:
        return None
    return from_json(redact(to_json(parsed).decode(), secrets))


def _field_errors(parsed: Any) -> list[dict[str, Any]]:
    """FastAPI-style ``{"detail": [{loc, msg, type}, ...]}`` entries."""
    if not isinstance(parsed, dict) or not isinstance(parsed.get("detail"), list):
        return []
    return [item for item in parsed["detail"] if isinstance(item, dict)]


def _describe_field_errors(errors: list[dict[str, Any]]) -> str:
    parts = []
    for item in errors[:5]:
        loc = item.get("loc")
        where = ".".join(str(p) for p in loc) if isinstance(loc, list) else ""
        msg = item.get("msg") if isinstance(item.get("msg"), str) else "invalid"
        parts.append(f"{where}: {msg}" if where else str(msg))
    more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts) + more


@dataclass(frozen=True)
class KnownServer:
    """A framework's own server, which a URL given to another dialect may turn out to be."""

    name: str
    dialect: str
    """The dialect that reads it."""
    fields: frozenset[tuple[str, str]]
    """The fields its 422 says are missing when another dialect's body reaches its run
    endpoint."""
    listing: str
    """The path on its origin that answers a GET with the JSON list of its agents' names."""

    @property
    def hint(self) -> str:
        return f" (this looks like a {self.name} server: use the `{self.dialect}` dialect)"

    def lists_agents(self, body: str) -> bool:
        """Whether ``body``, the answer to a GET of :attr:`listing`, is its list of agents."""
        parsed = _json_body(body, [])
        return isinstance(parsed, list) and all(isinstance(name, str) for name in parsed)


KNOWN_SERVERS = (
    KnownServer(
        "Google ADK",
        "adk",
        frozenset({("body", "userId"), ("body", "sessionId")}),  # ADK's RunAgentRequest
        "/list-apps",
    ),
)
"""The frameworks a 404 or a 422 from another dialect's request is checked against."""


KNOWN_REFUSALS = (
    (
        "Provide metadata.entity_id",  # DevUI's 400 when the body does not name the agent
        " (this looks like Microsoft Agent Framework's DevUI, which reads the agent's name "
        "from metadata.entity_id: the `openai-responses` dialect sends it there)",
    ),
)
"""A framework's own words for a request another dialect's options can fix, and the fix."""


def _known_refusal(summary: str) -> str:
    return next((fix for words, fix in KNOWN_REFUSALS if words in summary), "")


def _known_server(errors: list[dict[str, Any]]) -> str:
    """Which dialect to use, when a validation error reads like a known framework's own."""
    missing = {
        tuple(item["loc"])
        for item in errors
        if item.get("type") == "missing" and isinstance(item.get("loc"), list)
    }
    return next((server.hint for server in KNOWN_SERVERS if server.fields <= missing), "")


def _summary(parsed: Any, body: str) -> str:
    """The server's own message (``detail``, ``error.message``, ``message``), else an excerpt."""
    if isinstance(parsed, dict):
        error = parsed.get("error")
        candidates = [
            parsed.get("detail"),
            error.get("message") if isinstance(error, dict) else error,
            parsed.get("message"),
        ]
        for candidate in candidates:
            if isinstance(candidate, str) and candidate.strip():
                return excerpt(candidate)
    return excerpt(body) or "(empty body)"


def _body_retry_after(parsed: Any) -> float | None:
    if not isinstance(parsed, dict):
        return None
    for obj in (parsed, parsed.get("error")):
        if isinstance(obj, dict):
            for key in ("retry_after", "retryAfter"):
                value = obj.get(key)
                if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
                    return float(value)
    return None


def status_error(
    method: str,
    url: str,
    status: int,
    headers: Mapping[str, str],
    body: str,
    secrets: Iterable[str | None],
    *,
    key_advice: str = "",
) -> HTTPStatusError:
    """The typed error for an error status, its message naming the URL, status and body;
    a 401 or 403 starts with ``key_advice`` (whether a key was sent, how to set one)."""
    secrets = list(secrets)
    safe_url = redact(url, secrets)
    safe_body = redact(body, secrets)
    parsed = _json_body(safe_body, secrets)
    errors = _field_errors(parsed)
    summary = _describe_field_errors(errors) if errors else _summary(parsed, safe_body)
    summary += _known_server(errors) or _known_refusal(summary)
    message = f"{method} {safe_url} → {status} {_reason(status)}: {summary}"
    common: dict[str, Any] = {"url": safe_url, "status_code": status, "body": excerpt(safe_body)}
    if status in (401, 403):
        said = f"{key_advice} ({message})" if key_advice else message
        return AuthenticationError(said, **common)
    if status == 404:
        return NotFoundError(message, **common)
    if status in (400, 413, 422):
        return InvalidRequestError(message, errors=errors, **common)
    if status == 429:
        retry_after = parse_retry_after(headers.get("retry-after"))
        if retry_after is None:
            retry_after = _body_retry_after(parsed)
        if retry_after is not None:
            message += f" (retry after {retry_after:g} s)"
        return RateLimitError(message, retry_after=retry_after, **common)
    if status >= 500:
        retry_after = parse_retry_after(headers.get("retry-after"))
        return ServerError(message, retry_after=retry_after, **common)
    return HTTPStatusError(message, **common)


def is_event_stream(content_type: str | None) -> bool:
    """True for ``text/event-stream`` whatever its parameters and case."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() == "text/event-stream"


def is_json(content_type: str | None) -> bool:
    """True for ``application/json`` (and ``+json`` types) whatever the parameters."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")


def content_type_error(
    response: httpx.Response,
    body: str,
    secrets: Iterable[str | None],
    *,
    expected: str = "an event stream (text/event-stream)",
) -> ProtocolError:
    """The error for a success status whose body is not what was asked for (an HTML page
    instead of an event stream or JSON...)."""
    secrets = list(secrets)
    method, status = response.request.method, response.status_code
    safe_url = redact(str(response.request.url), secrets)
    content_type = response.headers.get("content-type")
    kind = content_type or "no content type"
    hint = (
        " (an HTML page: a proxy, a login wall or the wrong base URL?)"
        if _looks_html(content_type, body)
        else ""
    )
    message = (
        f"{method} {safe_url} → {status} {_reason(status)}, but the answer is {kind}, "
        f"not {expected}{hint}: "
        f"{excerpt(redact(body, secrets)) or '(empty body)'}"
    )
    return ProtocolError(message, url=safe_url)


def _looks_html(content_type: str | None, body: str) -> bool:
    if content_type and "html" in content_type.lower():
        return True
    head = body.lstrip()[:15].lower()
    return head.startswith(("<!doctype html", "<html"))


def _tls_failure(exc: BaseException) -> str | None:
    """What went wrong in a TLS handshake, found in ``exc``'s causes (httpx's path and agentnb's
    own connections both raise ``httpx.ConnectError`` from the ``ssl.SSLError``); None when
    the failure was not TLS's."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLCertVerificationError):
            return (
                f"the server's TLS certificate was not accepted ({seen.verify_message or seen}); "
                "pass verify= a CA bundle path or an ssl.SSLContext that trusts it "
                "(verify=False turns the check off)"
            )
        if isinstance(seen, ssl.SSLError):
            return f"the TLS handshake failed ({seen.reason or seen})"
        seen = seen.__cause__ or seen.__context__
    return None


def transport_error(
    exc: httpx.HTTPError,
    where: str,
    url: str,
    read_timeout: float | None,
    idempotent: bool,
    redact: Callable[[str], str],
) -> Exception:
    """A failure to send a request or read its head (httpx's, or agentnb's own connections',
    which raise httpx's types) as agentnb's typed error; wrapped in :class:`Retryable` when
    the request provably never reached the server, or is ``idempotent``."""
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        timed_out = StreamTimeoutError(
            f"{where}: timed out connecting ({type(exc).__name__})", url=url
        )
        return Retryable(timed_out)
    if isinstance(exc, httpx.TimeoutException):
        return StreamTimeoutError(
            f"{where}: no answer within the {read_timeout:g} s read timeout ({type(exc).__name__})",
            url=url,
        )
    if isinstance(exc, httpx.ConnectError):
        refused = _tls_failure(exc)
        if refused is not None:  # the same answer on every attempt: not retried
            return ConnectError(redact(f"{where}: {refused}"), url=url)
        return Retryable(ConnectError(redact(f"{where}: could not connect: {exc}"), url=url))
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        broken = (
            "the answer is not HTTP/1.1 agentnb can read"
            if "malformed" in str(exc)
            else ("the connection closed before an answer")
        )
        message = redact(f"{where}: {broken}: {exc}")
        if idempotent:
            return Retryable(TransportError(message, url=url))
        return TransportError(
            f"{message}; not re-sent, since the server may already have acted on it "
            f"(a second run could start)",
            url=url,
        )
    return TransportError(redact(f"{where}: {type(exc).__name__}: {exc}"), url=url)

"""agentnb's exceptions. Catch :class:`AgentNBError` for all of them.

Exception tree::

    AgentNBError
    ├── ConfigurationError          bad option, unknown provider or connection, missing key
    ├── TransportError              the request never got a usable answer
    │   ├── ConnectError            could not connect (refused, DNS, TLS)
    │   └── StreamTimeoutError      connect, read or whole-run timeout
    ├── HTTPStatusError             the server answered with an error status (has .status_code)
    │   ├── AuthenticationError     401 / 403: key missing, wrong or not allowed
    │   ├── NotFoundError           404: unknown agent, thread or run
    │   ├── InvalidRequestError     400 / 422: the server rejected the request (has .errors)
    │   ├── RateLimitError          429 (has .retry_after)
    │   └── ServerError             5xx
    ├── ProtocolError               the answer is not an event stream we can read
    │   └── EventTooLargeError      one SSE event went past the decoder's size cap
    ├── RunError                    the run itself did not complete
    │   ├── StreamError             the platform reported an error inside the stream
    │   ├── RunInterruptedError     the stream was cut and the dialect cannot resume it
    │   └── RunCancelledError       the run was cancelled (Stop, .cancel(), interrupt)
    └── SchemaError                 the answer does not match the requested JSON schema

Messages name the URL, the status and a short excerpt of the body; API keys never appear.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .run import Run

__all__ = [
    "AgentNBError",
    "AuthenticationError",
    "ConfigurationError",
    "ConnectError",
    "EventTooLargeError",
    "HTTPStatusError",
    "InvalidRequestError",
    "NotFoundError",
    "ProtocolError",
    "RateLimitError",
    "RunCancelledError",
    "RunError",
    "RunInterruptedError",
    "SchemaError",
    "ServerError",
    "StreamError",
    "StreamTimeoutError",
    "TransportError",
    "redact",
]

EXCERPT_CHARS = 300


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of each non-trivial secret in ``text`` with ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def excerpt(body: str, limit: int = EXCERPT_CHARS) -> str:
    """A one-line excerpt of a response body, for error messages."""
    flat = " ".join(body.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class AgentNBError(Exception):
    """Base class of every error agentnb raises."""


class ConfigurationError(AgentNBError, ValueError):
    """A bad option, an unknown provider or connection, or a missing setting."""


class TransportError(AgentNBError):
    """The request never got a usable answer."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class ConnectError(TransportError):
    """Could not connect to the server."""


class StreamTimeoutError(TransportError, TimeoutError):
    """A connect, read or whole-run timeout passed."""


class HTTPStatusError(AgentNBError):
    """The server answered with an error status."""

    def __init__(
        self,
        message: str,
        *,
        url: str,
        status_code: int,
        body: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.url = url
        self.status_code = status_code
        self.body = body
        self.retry_after = retry_after


class AuthenticationError(HTTPStatusError):
    """401 or 403: the API key is missing, wrong or not allowed to do this."""


class NotFoundError(HTTPStatusError):
    """404: the agent, thread or run does not exist."""


class InvalidRequestError(HTTPStatusError):
    """400 or 422: the server rejected the request. ``errors`` holds its field errors."""

    def __init__(
        self,
        message: str,
        *,
        url: str,
        status_code: int,
        body: str = "",
        errors: Sequence[dict[str, Any]] = (),
    ) -> None:
        super().__init__(message, url=url, status_code=status_code, body=body)
        self.errors = list(errors)


class RateLimitError(HTTPStatusError):
    """429: too many requests. ``retry_after`` is in seconds when the server said."""


class ServerError(HTTPStatusError):
    """5xx: the server failed."""


class ProtocolError(AgentNBError):
    """The answer is not an event stream agentnb can read (HTML page, wrong content type...)."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class EventTooLargeError(ProtocolError):
    """One SSE event grew past the decoder's ``max_event_size``."""


class RunError(AgentNBError):
    """The run did not complete. ``partial_text`` holds what arrived before it ended and
    ``run`` the run itself, when the raiser had it."""

    def __init__(self, message: str, *, partial_text: str = "", run: Run | None = None) -> None:
        super().__init__(message)
        self.partial_text = partial_text
        self.run = run


class StreamError(RunError):
    """The platform reported an error inside the stream."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        retry_after: float | None = None,
        partial_text: str = "",
        run: Run | None = None,
    ) -> None:
        super().__init__(message, partial_text=partial_text, run=run)
        self.code = code
        self.retry_after = retry_after


class RunInterruptedError(RunError):
    """The connection was cut mid-stream and this dialect cannot resume the run."""


class RunCancelledError(RunError):
    """The run was cancelled before it ended."""


class SchemaError(AgentNBError):
    """The answer is not valid JSON for the requested schema."""

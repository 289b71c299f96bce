"""agentnb's exceptions. Catch :class:`AgentNBError` for all of them.

Exception tree::

    AgentNBError
    ├── ConfigurationError          bad option, unknown provider or connection, bad key
    │   └── UnsupportedOptionError  a run option the connection's dialect cannot send
    ├── HistoryError                the run history could not be used (a closed store)
    │   ├── HistoryLocationError    the history's path is unusable, or the file there is not
    │   │                           ours or damaged, or not writable (also a ConfigurationError)
    │   └── HistoryWriteError       a read or write failed for now: the disk is full, another
    │                               process kept the database locked
    ├── TransportError              the request never got a usable answer
    │   ├── ConnectError            could not connect (refused, DNS, TLS)
    │   └── StreamTimeoutError      connect timeout, or no answer within the read timeout
    ├── HTTPStatusError             the server answered with an error status (has .status_code)
    │   ├── AuthenticationError     401 / 403: key missing, wrong or not allowed
    │   ├── NotFoundError           404: unknown agent, thread or run
    │   ├── InvalidRequestError     400 / 413 / 422: the server rejected the request (.errors)
    │   ├── RateLimitError          429 (has .retry_after)
    │   └── ServerError             5xx
    ├── ProtocolError               the answer is not one we can read: not an event stream,
    │   │                           JSON too large or nested too deep, a decompression bomb
    │   └── EventTooLargeError      one SSE event went past the decoder's size cap
    ├── RunError                    the run itself did not complete (has .run, .partial_text)
    │   ├── RunFailedError          the agent's run failed: the platform reported an error
    │   ├── RunInterruptedError     the stream was cut and could not be resumed, or the
    │   │                           server resumed it with a different answer
    │   │   ├── StreamStallError    no event within the idle timeout, or past the run
    │   │   │                       timeout (also a StreamTimeoutError)
    │   │   └── RunTooLargeError    the run went past what one run may keep (max_run_mib)
    │   └── RunCancelledError       the run was cancelled (Stop, .cancel(), interrupt)
    └── AnswerSchemaError           the answer does not match the requested JSON schema

Every error raised for a run carries it as ``.run`` (None only for errors raised before a run
existed, such as a bad option), so the partial answer is never lost: an HTTP or transport
error keeps its own type (``except AuthenticationError`` works) and gains ``.run``.
Messages name the URL, the status and a short excerpt of the body; API keys never appear.
"""

from __future__ import annotations

import re
import sys
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .run_error import TOO_LARGE, RunErrorInfo

if TYPE_CHECKING:  # the run and its events (pydantic) load with the first run, not the errors
    from .run import Run

__all__ = [
    "AgentNBError",
    "AnswerSchemaError",
    "AuthenticationError",
    "ConfigurationError",
    "ConnectError",
    "EventTooLargeError",
    "HTTPStatusError",
    "HistoryError",
    "HistoryLocationError",
    "HistoryWriteError",
    "InvalidRequestError",
    "NotFoundError",
    "ProtocolError",
    "RateLimitError",
    "RunCancelledError",
    "RunError",
    "RunFailedError",
    "RunInterruptedError",
    "RunTooLargeError",
    "ServerError",
    "StreamStallError",
    "StreamTimeoutError",
    "TransportError",
    "UnsupportedOptionError",
]
"""Every error agentnb raises, each public at its root (:func:`error_for_run` and
:func:`error_info` are the package's own)."""


class AgentNBError(Exception):
    """Base class of every error agentnb raises."""

    run: Run | None = None
    """The run this error ended, with its partial text; None when no run had started."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows for the error instead of a traceback: the message a person acts
        on, the platform's own words first, wrapped at words (a notebook's output breaks a
        long line anywhere, even mid-word), as IPython shows a magic's ``UsageError``. After
        ``%xmode Verbose`` the user asked for every frame and its locals: they get them."""
        ipython = sys.modules.get("IPython")  # loaded already wherever IPython asks this
        shell = ipython.get_ipython() if ipython is not None else None
        if shell is not None and getattr(shell.InteractiveTB, "mode", None) == "Verbose":
            tb = shell.InteractiveTB.structured_traceback(type(self), self, self.__traceback__)
            return list(tb)
        said = f"{type(self).__name__}: {platform_first(str(self))}"
        return [
            textwrap.fill(line, TRACEBACK_WIDTH, subsequent_indent="  ", break_long_words=False)
            for line in said.splitlines()
        ]


class ConfigurationError(AgentNBError, ValueError):
    """A bad option, an unknown provider or connection, or a missing setting."""


class HistoryError(AgentNBError):
    """The run history could not be used. Recording never raises into a run: a failed write
    is reported once and the run goes on."""


class HistoryLocationError(HistoryError, ConfigurationError):
    """The history's location is unusable: ``AGENTNB_HISTORY`` names no usable path, or the
    file there is not an agentnb database, is damaged, or cannot be opened or written
    (permissions). Fixed by moving the file or pointing the variable elsewhere."""


class HistoryWriteError(HistoryError):
    """Reading or writing the history failed for a reason that is not its location: the disk
    is full, or another process kept the database locked. Trying again later can work."""


class UnsupportedOptionError(ConfigurationError):
    """A run asked for options its connection's dialect has no field for (raised before any
    I/O; the message names the connection and the agent when agentnb knows them)."""

    def __init__(
        self, message: str, *, options: Sequence[str], supported: Sequence[str], dialect: str
    ) -> None:
        super().__init__(message)
        self.options = tuple(options)
        """The options asked for that cannot be sent (``"top_p"``, ``"media"``, ...)."""
        self.supported = tuple(supported)
        """The options the dialect can send."""
        self.dialect = dialect
        """The registry name of the dialect that refused them."""


class TransportError(AgentNBError):
    """The request never got a usable answer."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class ConnectError(TransportError):
    """Could not connect to the server."""


class StreamTimeoutError(TransportError, TimeoutError):
    """A connect timeout, or no answer within the read timeout."""


class HTTPStatusError(AgentNBError):
    """The server answered with an error status. ``errors``: the field errors it gave (a
    400 or 422's, :class:`InvalidRequestError`)."""

    def __init__(
        self,
        message: str,
        *,
        url: str,
        status_code: int,
        body: str = "",
        retry_after: float | None = None,
        errors: Sequence[dict[str, Any]] = (),
    ) -> None:
        super().__init__(message)
        self.url = url
        self.status_code = status_code
        self.body = body
        self.retry_after = retry_after
        self.errors = list(errors)


class AuthenticationError(HTTPStatusError):
    """401 or 403: the API key is missing, wrong or not allowed to do this."""


class NotFoundError(HTTPStatusError):
    """404: the agent, thread or run does not exist."""


class InvalidRequestError(HTTPStatusError):
    """400 or 422: the server rejected the request. ``errors`` holds its field errors."""


class RateLimitError(HTTPStatusError):
    """429: too many requests. ``retry_after`` is in seconds when the server said."""


class ServerError(HTTPStatusError):
    """5xx: the server failed."""


class ProtocolError(AgentNBError):
    """The answer is not one agentnb can read: not an event stream (HTML page, wrong content
    type...), a JSON answer too large or nested too deep, a body that decompresses to far
    more than was sent."""

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


class RunFailedError(RunError):
    """The agent's run failed: the platform reported an error inside the stream (``code`` and
    ``retry_after`` when it said)."""

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
    """The connection was cut mid-stream and the run could not be resumed (the dialect cannot,
    resuming kept failing, or the server resumed it by sending a different answer)."""


class StreamStallError(RunInterruptedError, StreamTimeoutError):
    """No event arrived within the idle timeout (keep-alive comments do not count), or the
    run went past its whole-run timeout. The run ends ``interrupted`` with its partial text."""

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        partial_text: str = "",
        run: Run | None = None,
    ) -> None:
        RunInterruptedError.__init__(self, message, partial_text=partial_text, run=run)
        self.url = url


class RunTooLargeError(RunInterruptedError):
    """The run went past what one run may keep (the client's ``max_run_mib``): it ends
    ``interrupted``, with what it kept before the bound."""


class RunCancelledError(RunError):
    """The run was cancelled before it ended."""


def error_for_run(run: Run) -> RunError | None:
    """The :class:`RunError` that says why ``run`` did not complete; None if it did.

    The one map from a run's final status to an exception: every path that raises for a run
    (``client.run``, ``handle.wait()``, ``await handle``, ``batch``) goes through it."""
    if run.status == "completed":
        return None
    info = run.error
    message = info.message if info else None
    if run.status == "cancelled":
        return RunCancelledError(message or "the run was cancelled", partial_text=run.text, run=run)
    if run.status == "interrupted":
        text = message or "the stream ended before the run finished"
        if info is not None and info.code == "timeout":
            return StreamStallError(text, partial_text=run.text, run=run)
        if info is not None and info.code == TOO_LARGE:
            return RunTooLargeError(text, partial_text=run.text, run=run)
        return RunInterruptedError(text, partial_text=run.text, run=run)
    if run.status == "failed":
        return RunFailedError(
            message or "the run failed",
            code=info.code if info else None,
            retry_after=info.retry_after if info else None,
            partial_text=run.text,
            run=run,
        )
    return RunInterruptedError(
        f"the run ended in status {run.status!r}", partial_text=run.text, run=run
    )


TRACEBACK_WIDTH = 80
"""Columns a notebook's error output is wrapped to (a cell is wider at any usual size)."""
_STATUS_LINE = re.compile(r"(?P<request>\S+ \S+) → (?P<status>\d{3}[^:]*): (?P<said>.+)", re.DOTALL)


def platform_first(message: str) -> str:
    """An HTTP error's message with what the platform said first, then the status and the
    request (``field: required (422 Unprocessable Entity from POST https://…)``); any other
    message as it is."""
    found = _STATUS_LINE.fullmatch(message)
    if found is None:
        return message
    return f"{found['said']} ({found['status']} from {found['request']})"


def error_info(exc: BaseException) -> RunErrorInfo:
    """What a run keeps of the error that ended it: message, code, retry-after. An error
    that is not agentnb's is a bug, and says so (``internal error: KeyError('parts')``)."""
    code = getattr(exc, "code", None)
    return RunErrorInfo(
        message=platform_first(str(exc))
        if isinstance(exc, AgentNBError)
        else f"internal error: {exc!r}",
        code=code if isinstance(code, str) and code else type(exc).__name__,
        retry_after=getattr(exc, "retry_after", None),
    )


class AnswerSchemaError(AgentNBError):
    """The answer is not valid JSON for the requested schema."""

    def __init__(self, message: str, rule: str | None = None) -> None:
        super().__init__(message)
        self.rule = message if rule is None else rule
        """What the answer fails in the schema's own terms, quoting no part of the answer
        (what a score's comment says: it may leave the process where the answer may not)."""

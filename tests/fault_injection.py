"""Fault injection for the tests, which the package does not ship: a server given a
:class:`FaultBook` (``start_server(faults=FaultBook())``, ``create_app(key, faults=...)``)
reads the ``X-AgentNB-Fault: k=v;k=v`` request header through the server's
:class:`~agentnb.server._service.RunFaults` seam (a run's stream, and the middleware that may
replace any endpoint's answer); any other server ignores the header.

Keys: ``drop-after=N``, ``malformed-after=N``, ``stall-after=N``, ``no-end``, ``no-ids``,
``ids`` (event ids in a dialect whose platform sends data-only frames, SeekrFlow's) (these
shape a fresh run's stream and never a resume); ``status=CODE``,
``stream-error=CODE``, ``html``, ``content-type=VALUE`` (these fire for the first
``times=K`` requests carrying the exact same header value, default 1; status, html and
content-type replace the answer of any endpoint); ``retry-after=S``; ``tag=ANY`` (ignored;
makes a header value unique).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from agentnb.server._http_plumbing import ApiError, error_response, retry_after_value
from agentnb.server._numbers import ascii_decimal, ascii_int
from agentnb.server._sse_responses import NO_SHAPING, StreamShaping
from agentnb.server._steps import Failure

__all__ = ["FAULT_HEADER", "FaultBook", "FaultPlan", "InjectAnswerFaults"]

FAULT_HEADER = "x-agentnb-fault"

_INT_KEYS = ("drop-after", "malformed-after", "stall-after", "times")
_FLAG_KEYS = ("no-end", "no-ids", "ids", "html")
_TEXT_KEYS = ("status", "stream-error", "content-type", "retry-after", "tag")

_CODE_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")

_STATUS_MESSAGES = {
    429: "rate limit exceeded",
    500: "internal server error",
    502: "bad gateway",
    503: "service unavailable",
    504: "gateway timeout",
}
_STREAM_ERRORS = {
    429: ("RATE_LIMIT_ERROR", "Rate limit exceeded"),
    503: ("CAPACITY_ERROR", "Model overloaded"),
    529: ("CAPACITY_ERROR", "Model overloaded"),
}


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """What one request's fault header asks for, once parsed."""

    raw: str
    shaping: StreamShaping = NO_SHAPING
    status: int | None = None
    stream_error: str | None = None
    html: bool = False
    content_type: str | None = None
    retry_after: float | None = None
    times: int = 1

    @property
    def replaces_answer(self) -> bool:
        return self.status is not None or self.html or self.content_type is not None

    def failure(self) -> Failure:
        """The in-stream error ``stream-error=CODE`` asks for."""
        assert self.stream_error is not None
        status = ascii_int(self.stream_error, 3)
        if status is not None:
            code, message = _STREAM_ERRORS.get(status, ("STREAM_ERROR", "Processing failed"))
        else:
            code, message = self.stream_error, "Processing failed"
        return Failure(f"{message} (injected fault)", code, self.retry_after)


def _bad(message: str) -> ApiError:
    return ApiError(400, f"bad X-AgentNB-Fault header: {message}", code="bad_fault_header")


def _shown(value: str | None) -> str:
    """A value for an error message, cut short when it is long."""
    return repr(value if value is None or len(value) <= 40 else value[:40] + "…")


def _parse_int(key: str, value: str | None, minimum: int) -> int:
    number = None if value is None else ascii_int(value)
    if number is None or number < minimum:
        raise _bad(f"{key} needs an integer of at least {minimum}, got {_shown(value)}")
    return number


def parse_fault_header(raw: str) -> FaultPlan:
    ints: dict[str, int] = {}
    flags: set[str] = set()
    texts: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(";"))):
        key, has_value, value = (s.strip() for s in item.partition("="))
        if key in _FLAG_KEYS:
            flags.add(key)
        elif key in _INT_KEYS:
            ints[key] = _parse_int(key, value if has_value else None, 1 if key == "times" else 0)
        elif key in _TEXT_KEYS and value:
            texts[key] = value
        else:
            known = ", ".join((*_INT_KEYS, *_FLAG_KEYS, *_TEXT_KEYS))
            raise _bad(f"unknown or empty key {key!r}; known keys: {known}")
    return FaultPlan(
        raw=raw,
        shaping=StreamShaping(
            drop_after=ints.get("drop-after"),
            malformed_after=ints.get("malformed-after"),
            stall_after=ints.get("stall-after"),
            no_end="no-end" in flags,
            no_ids="no-ids" in flags,
            ids="ids" in flags,
        ),
        status=_status_code(texts.get("status")),
        stream_error=_stream_error_code(texts.get("stream-error")),
        html="html" in flags,
        content_type=texts.get("content-type"),
        retry_after=_seconds(texts.get("retry-after")),
        times=ints.get("times", 1),
    )


def _status_code(value: str | None) -> int | None:
    if value is None:
        return None
    status = ascii_int(value, 3)
    if status is None or not 400 <= status <= 599:
        raise _bad(f"status needs an HTTP error code (400-599), got {_shown(value)}")
    return status


def _stream_error_code(value: str | None) -> str | None:
    """An HTTP-like status (``503``) or an error code word (``RATE_LIMIT_ERROR``)."""
    if value is None or ascii_int(value, 3) is not None or _CODE_WORD.fullmatch(value):
        return value
    raise _bad(f"stream-error needs a status (503) or a code word, got {_shown(value)}")


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    seconds = ascii_decimal(value)
    if seconds is None or seconds > 3600:
        raise _bad(f"retry-after needs seconds between 0 and 3600, got {_shown(value)}")
    return seconds


class FaultBook:
    """Parses fault headers and counts how often each one-shot fault has fired: the
    :class:`~agentnb.server._service.RunFaults` a testing server is given."""

    def __init__(self) -> None:
        self._fired: Counter[str] = Counter()

    def plan(self, request: Request) -> FaultPlan | None:
        raw = request.headers.get(FAULT_HEADER)
        return None if raw is None else parse_fault_header(raw)

    def take(self, plan: FaultPlan) -> bool:
        """True while this header value still has firings left (and counts one)."""
        if self._fired[plan.raw] >= plan.times:
            return False
        self._fired[plan.raw] += 1
        return True

    def replacement(self, request: Request, plan: FaultPlan | None) -> Response | None:
        """The answer that replaces the real one (status/html/content-type), if due."""
        if plan is None or not plan.replaces_answer or not self.take(plan):
            return None
        if plan.status is not None:
            return _status_response(request, plan)
        if plan.html:
            page = "<html><body><h1>502 Bad Gateway</h1><p>injected fault</p></body></html>"
            return HTMLResponse(page)
        body = {"detail": "injected fault: unexpected content type"}
        return JSONResponse(body, media_type=plan.content_type)

    def stream_error_due(self, plan: FaultPlan | None) -> bool:
        return plan is not None and plan.stream_error is not None and self.take(plan)

    # the RunFaults seam (agentnb.server._service)
    def middleware(self, app: ASGIApp) -> ASGIApp:
        return InjectAnswerFaults(app, self)

    def shaping(self, request: Request) -> StreamShaping:
        plan = self.plan(request)
        return plan.shaping if plan is not None else NO_SHAPING

    def stream_failure(self, request: Request) -> Failure | None:
        plan = self.plan(request)
        return plan.failure() if plan is not None and self.stream_error_due(plan) else None


def _status_response(request: Request, plan: FaultPlan) -> Response:
    assert plan.status is not None
    headers = {}
    if plan.retry_after is not None:
        headers["Retry-After"] = retry_after_value(plan.retry_after)
    message = f"{_STATUS_MESSAGES.get(plan.status, 'error')} (injected fault)"
    error = ApiError(plan.status, message, code=f"injected_{plan.status}", headers=headers)
    return error_response(request.url.path, error)


class InjectAnswerFaults:
    """ASGI middleware: ``status``, ``html`` and ``content-type`` faults replace the answer of
    any endpoint; a malformed fault header is a 400."""

    def __init__(self, app: ASGIApp, book: FaultBook) -> None:
        self.app = app
        self.book = book

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            replacement = self.book.replacement(request, self.book.plan(request))
        except ApiError as error:
            replacement = error_response(request.url.path, error)
        if replacement is None:
            await self.app(scope, receive, send)
        else:
            await replacement(scope, receive, send)

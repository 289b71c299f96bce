"""HTTP plumbing shared by every dialect: errors in each dialect's shape, capped and checked
JSON bodies, pydantic validation turned into SeekrFlow's 422 ``{"detail": [{loc, msg, type}]}``.

Status codes: a body that is not JSON (or not valid JSON text: ``NaN``, unpaired surrogates) or
fails validation is a 422; a body nested deeper than :data:`MAX_JSON_DEPTH` is a 400, as is a
malformed header. On the OpenAI paths every 422 becomes OpenAI's 400 ``invalid_request_error``
with ``param`` naming the offending field.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse

from ._numbers import ascii_int

__all__ = [
    "BODY_TIMEOUT_S",
    "MAX_BODY_BYTES",
    "MAX_JSON_DEPTH",
    "ApiError",
    "ModelT",
    "bad_header",
    "error_response",
    "invalid",
    "openai_param",
    "parse_model",
    "read_json",
    "retry_after_value",
    "uses_openai_errors",
    "validation_detail",
]

MAX_BODY_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 100
"""Arrays and objects inside each other, the body itself counting as one. Far more than any
request needs (a JSON schema the ``structured`` agent can follow nests about 70 deep)."""
BODY_TIMEOUT_S = 30.0
"""How long a request body may take to arrive, from the end of its head."""
_DRAIN_FACTOR = 4
_CONTENT_LENGTH_DIGITS = 19

ModelT = TypeVar("ModelT", bound=BaseModel)


class ApiError(Exception):
    """An error answer. ``detail`` defaults to the message (a list for validation errors);
    ``param`` is the OpenAI name of the offending field, when known."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        detail: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.detail = message if detail is None else detail
        self.headers = dict(headers or {})


def invalid(loc: Sequence[str | int], msg: str, kind: str = "value_error") -> ApiError:
    """A 422 naming one offending field."""
    detail = [{"loc": list(loc), "msg": msg, "type": kind}]
    return ApiError(422, f"{'.'.join(map(str, loc))}: {msg}", detail=detail)


def bad_header(name: str, msg: str) -> ApiError:
    """A 400 naming one malformed request header (``loc`` ``["header", name]``)."""
    detail = [{"loc": ["header", name], "msg": msg, "type": "value_error"}]
    return ApiError(400, f"header {name}: {msg}", detail=detail)


# --- error shapes ---------------------------------------------------------------------------


def uses_openai_errors(path: str) -> bool:
    return path.startswith(("/v1/chat/", "/v1/models", "/v1/responses"))


_OPENAI_TYPES = {401: "invalid_request_error", 429: "rate_limit_error"}
_OPENAI_CODES = {"missing": "missing_required_parameter"}
_OPENAI_JSON_MESSAGE = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
    "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
    "sent was not valid JSON: {reason})"
)


def error_response(path: str, error: ApiError) -> JSONResponse:
    """The error in the shape the path's dialect uses."""
    if uses_openai_errors(path):
        return _openai_error_response(error)
    return JSONResponse({"detail": error.detail}, status_code=error.status, headers=error.headers)


def _openai_error_response(error: ApiError) -> JSONResponse:
    """OpenAI's ``{"error": {message, type, param, code}}``; a 422 becomes OpenAI's 400. The
    field list stays alongside as ``detail`` (an agentnb extension)."""
    status = 400 if error.status == 422 else error.status
    problem = _first_problem(error)
    message, param, code = error.message, error.param, error.code
    if problem is not None and problem.get("type") == "json_invalid":
        message = _OPENAI_JSON_MESSAGE.format(reason=problem.get("msg", "invalid JSON"))
    elif problem is not None and error.status == 422:
        param = param or openai_param(problem.get("loc", []))
        code = code or _OPENAI_CODES.get(problem.get("type", ""), "invalid_value")
    kind = _OPENAI_TYPES.get(status)
    kind = kind or ("server_error" if status >= 500 else "invalid_request_error")
    body: dict[str, Any] = {
        "error": {"message": message, "type": kind, "param": param, "code": code}
    }
    if isinstance(error.detail, list):
        body["detail"] = error.detail
    return JSONResponse(body, status_code=status, headers=error.headers)


def _first_problem(error: ApiError) -> dict[str, Any] | None:
    if isinstance(error.detail, list) and error.detail and isinstance(error.detail[0], dict):
        first: dict[str, Any] = error.detail[0]
        return first
    return None


def openai_param(loc: Sequence[str | int]) -> str | None:
    """A body location as OpenAI names the field: ``["body", "messages", 0, "role"]`` is
    ``messages[0].role``. None outside the body."""
    if len(loc) < 2 or loc[0] != "body" or not isinstance(loc[1], str):
        return None
    param = loc[1]
    for part in loc[2:]:
        param += f"[{part}]" if isinstance(part, int) else f".{part}"
    return param


# --- JSON bodies ----------------------------------------------------------------------------


async def read_json(request: Request, limit: int = MAX_BODY_BYTES, *, empty: Any = None) -> Any:
    """The request's JSON body; 413 past ``limit`` bytes, 400 when it nests deeper than
    :data:`MAX_JSON_DEPTH`, 422 when it is not JSON. An empty body is ``empty`` when that is
    given, else a 422."""
    body = await _read_body(request, limit)
    if not body.strip():
        if empty is not None:
            return empty
        raise invalid(["body"], "Field required", "missing")
    value = _decode_json(body)
    _check_json_value(value)
    return value


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, within :data:`BODY_TIMEOUT_S` (408 after, and the connection closes); a
    client that leaves before sending all of it gets a 400 nobody reads, not a traceback."""
    declared = ascii_int(request.headers.get("content-length", ""), _CONTENT_LENGTH_DIGITS)
    if declared is not None and declared > limit * _DRAIN_FACTOR:
        raise _too_large(limit)
    try:
        async with asyncio.timeout(BODY_TIMEOUT_S):
            body = await _capped_body(request, limit * _DRAIN_FACTOR)
    except TimeoutError:
        message = f"the request body did not arrive within {BODY_TIMEOUT_S:g} seconds"
        raise ApiError(
            408, message, code="request_timeout", headers={"Connection": "close"}
        ) from None
    except ClientDisconnect:
        message = "the client closed the connection before sending the whole body"
        raise ApiError(400, message, code="client_disconnected") from None
    if len(body) > limit:
        raise _too_large(limit)
    return body


async def _capped_body(request: Request, cap: int) -> bytes:
    """The body, or its first ``cap`` bytes and a bit."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > cap:
            break
    return bytes(body)


def _too_large(limit: int) -> ApiError:
    return ApiError(413, f"request body is larger than {limit} bytes", code="request_too_large")


def _decode_json(body: bytes) -> Any:
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except RecursionError:
        raise _too_deep() from None
    except ValueError as exc:  # also bad UTF-8, NaN and integers of more than 4300 digits
        position = getattr(exc, "pos", 0)
        reason = getattr(exc, "msg", str(exc))
        raise invalid(["body", position], f"JSON decode error: {reason}", "json_invalid") from None


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON value")


def _too_deep() -> ApiError:
    return ApiError(
        400,
        f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels of arrays and objects",
        code="json_too_deep",
    )


def _check_json_value(value: Any) -> None:
    """400 when ``value`` nests too deep; 422 when a string holds an unpaired surrogate (a
    ``\\ud800`` escape: not Unicode text, so it could never be written back out)."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, str):
            _check_text(node)
        elif isinstance(node, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise _too_deep()
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, inner in items:
                if isinstance(key, str):
                    _check_text(key)
                pending.append((inner, depth + 1))


def _check_text(text: str) -> None:
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        msg = "JSON decode error: a string holds an unpaired surrogate (\\ud800-\\udfff)"
        raise invalid(["body"], msg, "json_invalid") from None


# --- validation -----------------------------------------------------------------------------


def validation_detail(exc: ValidationError, prefix: Sequence[str]) -> list[dict[str, Any]]:
    """Every problem pydantic found, as ``{loc, msg, type}``."""
    return [
        {"loc": [*prefix, *error["loc"]], "msg": error["msg"], "type": error["type"]}
        for error in exc.errors(include_url=False)
    ]


def parse_model(model: type[ModelT], data: Any, prefix: Sequence[str] = ("body",)) -> ModelT:
    """Validate ``data``; a failure becomes a 422 listing every problem."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        detail = validation_detail(exc, prefix)
        first = detail[0]
        message = f"{'.'.join(map(str, first['loc']))}: {first['msg']}"
        raise ApiError(422, message, detail=detail) from None


def retry_after_value(seconds: float) -> str:
    """A ``Retry-After`` header value (whole seconds, rounded up)."""
    whole = int(seconds)
    return str(whole if whole == seconds else whole + 1)

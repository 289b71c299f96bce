"""HTTP plumbing shared by every dialect: errors in each dialect's shape, capped JSON bodies,
pydantic validation turned into SeekrFlow's 422 ``{"detail": [{loc, msg, type}]}``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

__all__ = [
    "MAX_BODY_BYTES",
    "ApiError",
    "error_response",
    "invalid",
    "parse_model",
    "read_json",
    "retry_after_value",
    "uses_openai_errors",
]

MAX_BODY_BYTES = 1024 * 1024
_DRAIN_FACTOR = 4

ModelT = TypeVar("ModelT", bound=BaseModel)


class ApiError(Exception):
    """An error answer. ``detail`` defaults to the message (a list for validation errors)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        detail: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.detail = message if detail is None else detail
        self.headers = dict(headers or {})


def invalid(loc: Sequence[str | int], msg: str, kind: str = "value_error") -> ApiError:
    """A 422 naming one offending field."""
    detail = [{"loc": list(loc), "msg": msg, "type": kind}]
    return ApiError(422, f"{'.'.join(map(str, loc))}: {msg}", detail=detail)


def uses_openai_errors(path: str) -> bool:
    return path.startswith(("/v1/chat/", "/v1/models"))


_OPENAI_TYPES = {401: "invalid_request_error", 429: "rate_limit_error"}


def error_response(path: str, error: ApiError) -> JSONResponse:
    """The error in the shape the path's dialect uses."""
    body: dict[str, Any]
    if uses_openai_errors(path):
        kind = _OPENAI_TYPES.get(error.status)
        kind = kind or ("server_error" if error.status >= 500 else "invalid_request_error")
        body = {
            "error": {"message": error.message, "type": kind, "param": None, "code": error.code}
        }
        if isinstance(error.detail, list):
            body["detail"] = error.detail
    else:
        body = {"detail": error.detail}
    return JSONResponse(body, status_code=error.status, headers=error.headers)


async def read_json(request: Request, limit: int = MAX_BODY_BYTES, *, empty: Any = None) -> Any:
    """The request's JSON body; 413 past ``limit`` bytes, 422 when it is not JSON.
    An empty body is ``empty`` when that is given, else a 422."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit * _DRAIN_FACTOR:
        raise _too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit * _DRAIN_FACTOR:
            break
    if len(body) > limit:
        raise _too_large(limit)
    if not body.strip():
        if empty is not None:
            return empty
        raise invalid(["body"], "Field required", "missing")
    try:
        return json.loads(body)
    except ValueError as exc:
        position = getattr(exc, "pos", 0)
        reason = getattr(exc, "msg", str(exc))
        raise invalid(["body", position], f"JSON decode error: {reason}", "json_invalid") from None


def _too_large(limit: int) -> ApiError:
    return ApiError(413, f"request body is larger than {limit} bytes", code="request_too_large")


def parse_model(model: type[ModelT], data: Any, prefix: Sequence[str] = ("body",)) -> ModelT:
    """Validate ``data``; a failure becomes a 422 listing every problem."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        detail = [
            {"loc": [*prefix, *error["loc"]], "msg": error["msg"], "type": error["type"]}
            for error in exc.errors(include_url=False)
        ]
        first = detail[0]
        message = f"{'.'.join(map(str, first['loc']))}: {first['msg']}"
        raise ApiError(422, message, detail=detail) from None


def retry_after_value(seconds: float) -> str:
    """A ``Retry-After`` header value (whole seconds, rounded up)."""
    whole = int(seconds)
    return str(whole if whole == seconds else whole + 1)

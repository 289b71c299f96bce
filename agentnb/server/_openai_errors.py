"""Request validation on the OpenAI paths, answered as OpenAI does: a 400
``invalid_request_error`` whose ``param`` names the field as the client sent it
(``temperature``, ``messages[0].role``) and whose ``code`` and message say what is wrong::

    {"error": {"message": "Invalid 'temperature': decimal above maximum value. Expected a
     value <= 2, but got 5 instead.", "type": "invalid_request_error", "param": "temperature",
     "code": "decimal_above_max_value"}}

The official SDK raises ``openai.BadRequestError`` with ``.param`` and ``.code`` from it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from ._http_plumbing import ApiError, openai_param, validation_detail

__all__ = ["openai_validation_error"]

Location = Sequence[int | str]

# pydantic error type -> (code suffix, words, comparison, pydantic ctx key)
_BOUNDS = {
    "less_than_equal": ("above_max_value", "above maximum value", "<=", "le"),
    "less_than": ("above_max_value", "above maximum value", "<", "lt"),
    "greater_than_equal": ("below_min_value", "below minimum value", ">=", "ge"),
    "greater_than": ("below_min_value", "below minimum value", ">", "gt"),
}
_TYPE_ERROR_SUFFIXES = ("_type", "_parsing")


def openai_validation_error(
    exc: ValidationError, data: Any, integer_params: Collection[str]
) -> ApiError:
    """The 400 for the first problem pydantic found in ``data`` (the request body as sent).
    ``integer_params`` are the top-level fields OpenAI calls integers (the rest of the bounded
    ones are decimals)."""
    error = exc.errors(include_url=False)[0]
    location = sent_location(error["loc"], data)
    param = openai_param(["body", *location])
    kind = "integer" if location and location[0] in integer_params else "decimal"
    code, message = _describe(error, param, kind)
    detail = validation_detail(exc, ("body",))
    return ApiError(400, message, code=code, param=param, detail=detail)


def sent_location(loc: Location, data: Any) -> list[int | str]:
    """The part of a pydantic error location that exists in the request, so union member tags
    pydantic adds (``str``, ``list[_Part]``) are dropped; a missing field keeps its name."""
    kept: list[int | str] = []
    node = data
    for position, key in enumerate(loc):
        if isinstance(node, dict) and isinstance(key, str):
            if key not in node:
                if position == len(loc) - 1:
                    kept.append(key)
                break
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            node = node[key]
        else:
            break
        kept.append(key)
    return kept


def _describe(error: ErrorDetails, param: str | None, kind: str) -> tuple[str, str]:
    """OpenAI's ``code`` and message for one pydantic error."""
    kind_of_error = error["type"]
    name = f"'{param}'" if param is not None else "the request body"
    if kind_of_error == "missing":
        return "missing_required_parameter", f"Missing required parameter: {name}."
    if kind_of_error in _BOUNDS:
        return _out_of_bounds(error, name, kind)
    if kind_of_error == "too_short" and error.get("input") == []:
        minimum = _context(error).get("min_length", 1)
        return "empty_array", (
            f"Invalid {name}: empty array. Expected an array with minimum length {minimum}, "
            "but got an empty array instead."
        )
    if kind_of_error.endswith(_TYPE_ERROR_SUFFIXES):
        return "invalid_type", f"Invalid type for {name}: {_reason(error)}."
    return "invalid_value", f"Invalid value for {name}: {_reason(error)}."


def _out_of_bounds(error: ErrorDetails, name: str, kind: str) -> tuple[str, str]:
    suffix, words, comparison, key = _BOUNDS[error["type"]]
    limit = _number(_context(error).get(key))
    given = _number(error.get("input"))
    message = (
        f"Invalid {name}: {kind} {words}. "
        f"Expected a value {comparison} {limit}, but got {given} instead."
    )
    return f"{kind}_{suffix}", message


def _context(error: ErrorDetails) -> dict[str, Any]:
    return dict(error.get("ctx") or {})


def _reason(error: ErrorDetails) -> str:
    return error["msg"].removeprefix("Value error, ")


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)

"""Every request needs the server's key: ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``."""

from __future__ import annotations

import secrets

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from ._http_plumbing import ApiError, error_response

__all__ = ["RequireApiKey", "generate_api_key", "key_matches"]

MISSING_KEY = (
    "missing or invalid API key: send the server's key as 'Authorization: Bearer <key>' "
    "or 'X-API-Key: <key>'"
)


def generate_api_key() -> str:
    """A fresh random per-process token."""
    return f"anb-{secrets.token_urlsafe(24)}"


def _candidates(headers: Headers) -> list[str]:
    found = headers.getlist("x-api-key")
    for value in headers.getlist("authorization"):
        scheme, _, rest = value.partition(" ")
        found.append(rest.strip() if scheme.lower() == "bearer" else value.strip())
    return found


def key_matches(headers: Headers, api_key: str) -> bool:
    expected = api_key.encode()
    return any(secrets.compare_digest(c.encode(), expected) for c in _candidates(headers))


class RequireApiKey:
    """ASGI middleware answering 401 (in the path's dialect shape) without the right key."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        if not api_key:
            raise ValueError("the server needs a non-empty API key")
        self.app = app
        self.api_key = api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or key_matches(Headers(scope=scope), self.api_key):
            await self.app(scope, receive, send)
            return
        error = ApiError(
            401, MISSING_KEY, code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"}
        )
        await error_response(scope["path"], error)(scope, receive, send)

"""The Starlette app: every dialect's routes behind the API-key check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._auth import RequireApiKey
from ._http_plumbing import MAX_BODY_BYTES, ApiError, error_response
from ._served_dialects import served_dialects
from ._service import AppState, RunFaults, ServerConfig
from ._sse_responses import install_log_filter
from .agents import AGENTS

__all__ = ["create_app"]


def create_app(
    api_key: str,
    *,
    delay_ms: int = 15,
    faults: RunFaults | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> Starlette:
    """The server's ASGI app. ``faults`` lets requests inject faults (the tests' seam)."""
    if delay_ms < 0:
        raise ValueError(f"delay_ms must be 0 or more, got {delay_ms}")
    state = AppState(ServerConfig(api_key, delay_ms, max_body_bytes), faults=faults)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await state.runs.shutdown()

    routes = [
        Route("/", _index, methods=["GET"]),
        *(route for dialect in served_dialects() for route in dialect.routes()),
    ]
    middleware = [Middleware(RequireApiKey, api_key=api_key)]
    if faults is not None:
        middleware.append(Middleware(faults.middleware))
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={ApiError: _api_error, HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.agentnb = state
    install_log_filter()
    return app


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(request.url.path, exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = str(exc.detail)
    if exc.status_code == 404:
        message = f"no endpoint {request.method} {request.url.path} (GET / lists them)"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    error = ApiError(exc.status_code, message, headers=exc.headers)
    return error_response(request.url.path, error)


async def _index(request: Request) -> Response:
    endpoints = [
        f"{method} {route.path}"
        for route in request.app.routes
        if isinstance(route, Route)
        for method in sorted((route.methods or set()) - {"HEAD"})
    ]
    agents = [
        {
            "name": a.name,
            "description": a.description,
            "tools": list(a.tools),
            "needs_approval": a.needs_approval,
            "asks_questions": a.asks_questions,
        }
        for a in AGENTS.values()
    ]
    return JSONResponse(
        {"server": "agentnb local agent server", "agents": agents, "endpoints": endpoints}
    )

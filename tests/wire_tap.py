"""A proxy on 127.0.0.1 that keeps every request body on its way to a real server: what a
test asserts went (or did not go) over the wire."""

from __future__ import annotations

from typing import Any

import httpx
from agentnb_testing import TLS, asgi_body

__all__ = ["WireTap"]

_HOP = {"host", "content-length", "transfer-encoding", "content-encoding", "connection"}


class WireTap:
    """A raw ASGI app forwarding each request to ``upstream`` (streamed back as it comes);
    ``bodies`` holds every request body, in order."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.bodies: list[str] = []

    def sent(self) -> str:
        """Every body so far, one after the other."""
        return "\n".join(self.bodies)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = await asgi_body(scope, receive, send)
        if body is None:
            return
        self.bodies.append(body.decode("utf-8", errors="replace"))
        query = scope["query_string"].decode()
        url = self.upstream + scope["path"] + (f"?{query}" if query else "")
        headers = [
            (k.decode(), v.decode()) for k, v in scope["headers"] if k.decode().lower() not in _HOP
        ]
        async with (
            httpx.AsyncClient(timeout=None, verify=TLS) as client,
            client.stream(scope["method"], url, headers=headers, content=body) as response,
        ):
            kept = [
                (k.encode(), v.encode())
                for k, v in response.headers.items()
                if k.lower() not in _HOP
            ]
            await send(
                {"type": "http.response.start", "status": response.status_code, "headers": kept}
            )
            async for chunk in response.aiter_bytes():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})

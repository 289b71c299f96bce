"""A reverse proxy on 127.0.0.1 that adds a bearer token to every request, as a client given
the token sends it: for a tool that cannot send one (the MCP conformance suite's server
checks) to reach the notebook's server, which answers 401 without it. The bodies stream
both ways (an SSE stream stays one). Usage: ``python token_proxy.py TARGET_URL TOKEN PORT``."""

from __future__ import annotations

import sys

import aiohttp
from aiohttp import web
from yarl import URL

HOP = {"content-length", "transfer-encoding", "connection"}
"""Headers of one hop, not passed on. The Host and Origin are, the proxy's own address in them
made the server's (so the server judges them as it would the client's own: a foreign one
stays foreign, as the suite's DNS rebinding checks ask)."""


def proxy(target: str, token: str, port: int) -> web.Application:
    session: aiohttp.ClientSession | None = None
    server = URL(target)
    mine, theirs = f"127.0.0.1:{port}", f"{server.host}:{server.port}"

    async def forward(request: web.Request) -> web.StreamResponse:
        nonlocal session
        session = session or aiohttp.ClientSession(auto_decompress=False)
        headers = {
            k: v.replace(mine, theirs) for k, v in request.headers.items() if k.lower() not in HOP
        }
        headers["Authorization"] = f"Bearer {token}"
        async with session.request(
            request.method, target.rstrip("/") + request.rel_url.path_qs.removeprefix("/mcp"),
            headers=headers, data=await request.read(),
        ) as answer:  # fmt: skip
            response = web.StreamResponse(status=answer.status)
            response.headers.update(
                {k: v for k, v in answer.headers.items() if k.lower() not in HOP}
            )
            await response.prepare(request)
            async for chunk in answer.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    async def ready(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/ready", ready)  # the proxy's own: it listens
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


if __name__ == "__main__":
    port = int(sys.argv[3])
    # SIGTERM ends it at once (it keeps nothing): aiohttp's own handling waited 15 s for
    # the streams it still forwarded, the test's, which is over
    app = proxy(sys.argv[1], sys.argv[2], port)
    web.run_app(app, host="127.0.0.1", port=port, handle_signals=False)

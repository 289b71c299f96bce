"""A peer spoken to in JSON-RPC 2.0 over a WebSocket, one message a text frame
(:mod:`agentnb._http.websocket`): an ACP agent served by the official SDK's HTTP/WebSocket
transport (``acp.http.create_asgi_app``), reached by its URL. An ``http(s)://`` URL is
reached at the same path over ``ws(s)://`` (the SDK's server answers both on one endpoint).
The messages mean what :class:`~agentnb._client.stdio_rpc.RpcPeer`'s hooks make of them, as
over a process's stdio."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import httpx

from .._core.exceptions import ConfigurationError
from .stdio_rpc import RpcPeer

if TYPE_CHECKING:
    from .._http.websocket import WebSocket  # aiohttp: imported at the first WebSocket

__all__ = ["RpcWebSocket", "websocket_url"]


def websocket_url(url: str) -> str:
    """``url`` as the WebSocket URL it is reached at (``http`` → ``ws``, ``https`` → ``wss``)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigurationError(f"invalid base_url {url!r}: {exc}") from None
    scheme = {"http": "ws", "https": "wss"}.get(parsed.scheme, parsed.scheme)
    if scheme not in ("ws", "wss") or not parsed.host:
        raise ConfigurationError(
            f"an ACP agent served over the network is reached at a ws://, wss://, http:// or "
            f"https:// URL with a host (the SDK's server serves its WebSocket on its "
            f"endpoint, e.g. ws://127.0.0.1:8000/acp), not {url!r}"
        )
    return str(parsed.copy_with(scheme=scheme))


class RpcWebSocket(RpcPeer):
    """JSON-RPC over the open ``socket``."""

    def __init__(self, socket: WebSocket, *, named: str, where: str) -> None:
        super().__init__(named=named, where=where)
        self.socket = socket
        self.tasks = [asyncio.create_task(self._read(), name=f"agentnb: {named} websocket")]

    @property
    def running(self) -> bool:
        return not self.socket.closed and not self.tasks[0].done()

    @property
    def exit_status(self) -> int | None:
        return self.socket.close_code

    async def _write(self, line: str) -> None:
        await self.socket.send(line.rstrip("\n"))

    async def _read(self) -> None:
        async for text in self.socket.texts():
            self._receive(text)
        await self.socket.close()
        self.on_exit(f"the WebSocket to {self.where} closed (code {self.socket.close_code})")

    async def end(self) -> None:
        """Close the WebSocket (the SDK's server ends the connection's sessions)."""
        await self.socket.close()
        await self._let_readers_end()

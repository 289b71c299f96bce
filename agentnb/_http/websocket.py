"""A WebSocket client on aiohttp's wire (its public API), text frames only: what reaches an
ACP agent served over the network (:mod:`agentnb._client.acp_wire`). TLS is checked as
agentnb's HTTP clients check it (:func:`~agentnb._http.clients.tls_context`); a failure to
connect is a :class:`~agentnb.TransportError` naming the URL. Imported at the first
WebSocket, as aiohttp is at the first HTTP client."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping

import aiohttp

from .._core.exceptions import TransportError
from .clients import Verify, tls_context

__all__ = ["WebSocket", "open_websocket"]


class WebSocket:
    """An open WebSocket: send text, read text frames until it closes, close it."""

    def __init__(self, session: aiohttp.ClientSession, socket: aiohttp.ClientWebSocketResponse):
        self._session = session
        self._socket = socket

    @property
    def closed(self) -> bool:
        return self._socket.closed

    @property
    def close_code(self) -> int | None:
        return self._socket.close_code

    async def send(self, text: str) -> None:
        """Send a text frame; a socket that is going raises :class:`ConnectionError`."""
        await self._socket.send_str(text)

    async def texts(self) -> AsyncIterator[str]:
        """The text frames until the socket closes or fails (binary frames are skipped)."""
        with contextlib.suppress(aiohttp.ClientError, OSError):
            async for frame in self._socket:
                if frame.type == aiohttp.WSMsgType.TEXT:
                    yield str(frame.data)
                elif frame.type == aiohttp.WSMsgType.ERROR:
                    return

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._socket.close()
        await self._session.close()


async def open_websocket(
    url: str, *, headers: Mapping[str, str], verify: Verify, within: float, max_size: int
) -> WebSocket:
    """Connect to ``url`` (``ws://`` or ``wss://``) within ``within`` seconds, frames up to
    ``max_size`` bytes."""
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(connect=within))
    try:
        socket = await session.ws_connect(
            url,
            headers=dict(headers),
            ssl=tls_context(verify) if url.startswith("wss:") else False,
            max_msg_size=max_size,
            timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=within),
        )
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        await session.close()
        raise TransportError(
            f"cannot reach {url} over WebSocket: {str(exc) or type(exc).__name__}"
        ) from None
    return WebSocket(session, socket)

"""Rows for bench_load: the floor (a bare ``asyncio.Protocol``) and memory per idle stream.

- floor: the same runs read by a protocol that writes the request by hand and only counts
  the frames (``\\n\\n``) in what arrives: no HTTP parsing, no SSE fields, no JSON, no events.
  It is the least any Python asyncio client can spend per event on this machine.
- idle memory: the Python heap (tracemalloc) grown while ``n`` runs are open and waiting
  for their server (a long delay between chunks), divided by ``n``; socket buffers and
  the C side of sockets not counted.
"""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

__all__ = ["FloorProtocol", "floor_run", "rss_growth_per_stream"]


class FloorProtocol(asyncio.Protocol):
    """Counts frames until the server closes the connection (the request asks it to)."""

    def __init__(self, request: bytes) -> None:
        self.request = request
        self.frames = 0
        self.done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._last = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.frames += (self._last + data).count(b"\n\n") - self._last.count(b"\n\n")
        self._last = data[-1:]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(self.frames)


def _request(url: str, headers: dict[str, str], body: dict[str, str]) -> bytes:
    parts = urlsplit(url)
    payload = json.dumps(body).encode()
    head = [
        f"POST {parts.path} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


async def floor_run(url: str, headers: dict[str, str], text: str) -> int:
    """The frames of one run read by :class:`FloorProtocol`."""
    loop = asyncio.get_running_loop()
    parts = urlsplit(url)
    request = _request(url, headers, {"message": text})
    _, protocol = await loop.create_connection(
        lambda: FloorProtocol(request), parts.hostname, parts.port
    )
    return await protocol.done


def rss_growth_per_stream(
    start: Callable[[], Awaitable[object]], streams: int, idle_s: float
) -> float:
    """Bytes of Python heap (tracemalloc, every thread) per stream while ``start()`` (which
    opens ``streams`` runs that stay idle a while) has had ``idle_s`` seconds to open them."""

    async def measure() -> float:
        tracemalloc.start()
        try:
            before, _ = tracemalloc.get_traced_memory()
            waiting = asyncio.ensure_future(start())
            await asyncio.sleep(idle_s)
            during, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        await waiting
        return (during - before) / streams

    return asyncio.run(measure())

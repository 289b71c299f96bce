"""Where one response's body is read from, and the reader of its frames.

:func:`frame_reader` picks the body's source for :class:`~agentnb._client.frame_reader.
FrameReader` (which bounds the reads in time, memory and loop use):

- **pushed**, past httpx: httpx hands a body up through six layers per socket read
  (httpcore's pool and connection streams, h11's event machine, httpx's byte iterators, the
  shard's wrapper), which cost an event stream more CPU than decoding its events. A body on
  agentnb's own connection (:mod:`agentnb._http.own_connections`) is read from its buffered
  protocol as it is; one whose head httpx parsed on agentnb's network backend
  (:mod:`agentnb._http.network`) from the same protocol, after the bytes h11 read past
  the head, its framing (chunked, ``Content-Length``, or until the server closes) undone by
  :class:`~agentnb._http.framing.RawBody`. The connection is then never handed back to
  httpx's pool: closing the response closes it (h11 still sees the body unread).
- **pulled** through httpx, for anything else: an HTTP/2 response, a proxy's or a given
  client's connection, an encoding other than gzip or deflate
  (:func:`agentnb._client.decoding.body_pieces`).

Either way failures are httpx's own exception types (``ReadTimeout``, ``ReadError``,
``RemoteProtocolError``, ``DecodingError``), which the reader maps the same way.
"""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator, Awaitable, Callable

import h11
import httpcore
import httpx

from .._http.error_map import is_event_stream
from .._http.framing import RawBody
from .._http.network import OwnStream
from .._http.own_connections import OwnBody
from ..sse import SSEDecoder
from .clock import RunClock
from .decoding import Inflater, WholeBody, body_pieces, close_quietly, encodings
from .frame_reader import FrameReader, OnFrame, Outcome, Pulled, Pushed

__all__ = ["frame_reader", "paths_taken", "raw_body", "reads_raw"]

reads_raw = True
"""Whether a body that can be read past httpx is (see :func:`raw_body`);
benchmarks turn it off to compare."""
paths_taken: collections.Counter[str] = collections.Counter()
"""Responses read per path: "raw" (past httpx) or "httpx", and stream requests sent on
agentnb's own connections, "fast" (benchmarks print them)."""


def frame_reader(
    response: httpx.Response,
    clock: RunClock,
    outcome: Outcome,
    on_frame: OnFrame,
    *,
    where: Callable[[], str],
    read_timeout: float | None,
) -> FrameReader:
    """The reader of ``response``'s frames (an event stream's, or a JSON answer's as one
    frame: a dialect with ``json_answers``). ``where()`` names the request in an error (made
    only then: it is the request's URL with every known secret taken out)."""
    streamed = is_event_stream(response.headers.get("content-type"))
    decoder: SSEDecoder | WholeBody = SSEDecoder() if streamed else WholeBody(where())
    source: Pushed | Pulled | None = (
        raw_body(response, read_timeout=read_timeout) if reads_raw else None
    )
    paths_taken["httpx" if source is None else "raw"] += 1
    if source is None:
        pieces = body_pieces(response, where=where())
        source = Pulled(_next_piece(pieces), lambda: close_quietly(pieces))
    return FrameReader(
        source, decoder, clock, outcome, on_frame, where=where, read_timeout=read_timeout
    )


def _next_piece(pieces: AsyncIterator[bytes]) -> Callable[[], Awaitable[bytes | None]]:
    async def read() -> bytes | None:
        try:
            return await pieces.__anext__()
        except StopAsyncIteration:
            return None

    return read


def raw_body(response: httpx.Response, *, read_timeout: float | None) -> Pushed | None:
    """Where to read ``response``'s body past httpx, or None when it cannot be."""
    codings = encodings(response.headers)
    if len(codings) > 1 or (codings and codings[0] not in ("gzip", "deflate")):
        return None
    inflater = Inflater(codings[0]) if codings else None
    if isinstance(response.stream, OwnBody):  # agentnb's own connection: its body as is
        return Pushed(response.stream.protocol, response.stream.raw, inflater)
    stream = response.extensions.get("network_stream")
    h11_state = _h11_state(response)
    if type(stream) is not OwnStream or h11_state is None or response.http_version != "HTTP/1.1":
        return None
    leftover, _ = h11_state.trailing_data
    framing = _framing(response.headers)
    if framing is None:
        return None
    return Pushed(
        stream.protocol, RawBody(stream.protocol, framing, leftover, read_timeout), inflater
    )


_WRAPPED_BY = ("_stream", "_httpcore_stream", "_connection")
"""Where httpx's, httpcore's and the shard's body wrappers keep what they wrap."""
_MAX_WRAPPERS = 8


def _h11_state(response: httpx.Response) -> h11.Connection | None:
    """The h11 connection that parsed the head, found through httpx's and httpcore's
    (private) stream wrappers; None when they are not the ones this module knows."""
    stream: object = response.stream
    for _ in range(_MAX_WRAPPERS):
        if isinstance(stream, httpcore.AsyncHTTP11Connection):
            break
        inner = (getattr(stream, name, None) for name in _WRAPPED_BY)
        stream = next((found for found in inner if found is not None), None)
    if not isinstance(stream, httpcore.AsyncHTTP11Connection):
        return None
    state = getattr(stream, "_h11_state", None)
    return state if isinstance(state, h11.Connection) else None


def _framing(headers: httpx.Headers) -> int | str | None:
    """ "chunked", a byte count, or "close" (read until the server closes); None: unknown."""
    codings = [v.strip().lower() for v in headers.get_list("transfer-encoding", split_commas=True)]
    if codings:
        return "chunked" if codings == ["chunked"] else None
    length = headers.get("content-length")
    if length is None:
        return "close"
    return int(length) if length.isdigit() else None

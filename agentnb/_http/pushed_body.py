"""A response body agentnb reads itself, pushed by the event loop, past httpx.

httpx hands a body up through six layers per socket read (httpcore's pool and connection
streams, h11's event machine, httpx's byte iterators, the shard's wrapper), which cost an
event stream more CPU than decoding its events. :func:`pushed_body` finds where a body can be
read past all of them: on agentnb's own connection (:mod:`agentnb._http.own_connections`)
its buffered protocol as it is; on a connection of agentnb's network backend
(:mod:`agentnb._http.network`) whose head httpx parsed, the same protocol after the bytes h11
read past the head, its framing (chunked, ``Content-Length``, or until the server closes)
undone by :class:`~agentnb._http.framing.RawBody`. The connection is then never handed back
to httpx's pool: closing the response closes it (h11 still sees the body unread). Anything
else (HTTP/2, a proxy's or a given client's connection, an encoding other than gzip or
deflate) is None: the caller reads it through httpx.
"""

from __future__ import annotations

from typing import NamedTuple

import h11
import httpcore
import httpx

from .content_coding import Decoder
from .framing import RawBody
from .network import Buffered, OwnStream
from .own_connections import OwnBody

__all__ = ["Pushed", "pushed_body"]


class Pushed(NamedTuple):
    """A body on a connection agentnb reads itself: its protocol, its framing, and its
    decoder when it is encoded."""

    protocol: Buffered
    body: RawBody
    decoder: Decoder | None


def pushed_body(
    response: httpx.Response, *, read_timeout: float | None, coding: Decoder | None
) -> Pushed | None:
    """Where to read ``response``'s body past httpx, or None when it cannot be."""
    inflater = coding
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

"""Where one response's body is read from, and the reader of its frames.

:func:`frame_reader` picks the body's source for :class:`~agentnb._client.frame_reader.
FrameReader` (which bounds the reads in time, memory and loop use): **pushed** past httpx
where the HTTP layer can (:func:`agentnb._http.pushed_body.pushed_body`: agentnb's own
connections, and httpx's on agentnb's network backend), else **pulled** through httpx
(:func:`agentnb._http.inflating.body_pieces`: HTTP/2, a proxy's or a given client's
connection, an encoding other than gzip or deflate). Either way failures are httpx's own
exception types (``ReadTimeout``, ``ReadError``, ``RemoteProtocolError``,
``DecodingError``), which the reader maps the same way.
"""

from __future__ import annotations

import collections
from collections.abc import Callable

import httpx

from .._http import Pushed, RawReads, decoder_for, is_event_stream, pushed_body, raw_reads
from ..sse import SSEDecoder
from .clock import RunClock
from .decoding import WholeBody
from .frame_reader import FrameReader, OnFrame, Outcome

__all__ = ["frame_reader", "paths_taken", "reads_raw"]

reads_raw = True
"""Whether a body that can be read past httpx is (:mod:`agentnb._http.pushed_body`);
benchmarks turn it off to compare."""
paths_taken: collections.Counter[str] = collections.Counter()
"""Responses read per path: "raw" (past httpx) or "httpx", and stream requests sent on
agentnb's own connections: "fast" over ``http://``, "fast-tls" over ``https://``
(benchmarks print them)."""


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
    coding = decoder_for(response.headers, where())
    source: Pushed | RawReads | None = (
        pushed_body(response, read_timeout=read_timeout, coding=coding) if reads_raw else None
    )
    paths_taken["httpx" if source is None else "raw"] += 1
    if source is None:
        source = raw_reads(response)
    return FrameReader(
        source, coding, decoder, clock, outcome, on_frame, where=where, read_timeout=read_timeout
    )

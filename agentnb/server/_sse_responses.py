"""Reading a run log as an SSE response: frames, ids ``<run_id>:<n>``, replay, damage."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.responses import StreamingResponse

from ._http_plumbing import ApiError
from ._numbers import ascii_int
from ._run_log import RunLog, RunStore
from ._steps import AnyStep, Step, flattened

__all__ = [
    "NO_SHAPING",
    "RETRY_MS",
    "ConnectionDropped",
    "Frame",
    "Renderer",
    "StreamCounter",
    "StreamShaping",
    "dumps",
    "encode",
    "failure_response",
    "flat",
    "last_pause_end",
    "parse_last_event_id",
    "sse_response",
]

RETRY_MS = 1000
MALFORMED = b'data: {"type": "text_delta", "text": "cut here\n\n'


@dataclass(frozen=True, slots=True)
class StreamShaping:
    """How a fresh run's stream is damaged (all None/False: not at all). Only a server
    given faults damages one (:class:`~agentnb.server._service.RunFaults`, the tests' seam)."""

    drop_after: int | None = None
    malformed_after: int | None = None
    stall_after: int | None = None
    no_end: bool = False
    no_ids: bool = False
    """Send no ``id:`` lines, as a server that cannot resume (clients must not re-send)."""
    ids: bool = False
    """Send ``id:`` lines even where the dialect's platform sends data-only frames."""


NO_SHAPING = StreamShaping()


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Frame:
    data: str
    event: str | None = None
    terminal: bool = False
    """Part of the dialect's end marker (left out by the ``no-end`` fault)."""
    chunk_index: int | None = None
    """run-agent's chunk index, for ``resume_from_index``."""
    ends_response: bool = False
    """The run paused here: the response ends after this frame (a decision continues the
    run in a new response)."""


class Renderer(Protocol):
    """Turns one run's steps into one dialect's frames. Deterministic, so replay re-renders."""

    def opening(self) -> list[Frame]: ...

    def render(self, step: AnyStep, at: float) -> list[Frame]: ...


class FlatRenderer(Protocol):
    """A renderer that knows only the top agent's steps (see :func:`flat`)."""

    def opening(self) -> list[Frame]: ...

    def render(self, step: Step, at: float) -> list[Frame]: ...


class _Flat:
    """A renderer of a dialect that cannot nest, given the run with sub-agents flattened."""

    def __init__(self, inner: FlatRenderer) -> None:
        self.inner = inner

    def opening(self) -> list[Frame]:
        return self.inner.opening()

    def render(self, step: AnyStep, at: float) -> list[Frame]:
        shown = flattened(step)
        return [] if shown is None else self.inner.render(shown, at)


def flat(renderer: Callable[[RunLog], FlatRenderer]) -> Callable[[RunLog], Renderer]:
    """The renderer factory of a dialect with no way to say a call is a sub-agent's: see
    :func:`~agentnb.server._steps.flattened`."""
    return lambda log: _Flat(renderer(log))


def encode(frame: Frame, event_id: str | None, retry: int | None = None) -> bytes:
    lines = []
    if retry is not None:
        lines.append(f"retry: {retry}")
    if frame.event is not None:
        lines.append(f"event: {frame.event}")
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.extend(f"data: {line}" for line in frame.data.split("\n"))
    return ("\n".join(lines) + "\n\n").encode()


class ConnectionDropped(Exception):
    """Raised inside a response body to make the server abort the connection (a fault)."""


class _QuietDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, ConnectionDropped)


def install_log_filter() -> None:
    """uvicorn logs an aborted response as an error; an injected drop is not one."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDrops) for f in logger.filters):
        logger.addFilter(_QuietDrops())


class StreamCounter:
    """How many SSE responses are being written (tests check none leak)."""

    def __init__(self) -> None:
        self.open = 0


def parse_last_event_id(headers: Mapping[str, str]) -> tuple[str, int] | None:
    """``(run_id, n)`` from ``Last-Event-ID: <run_id>:<n>``; None without the header. Anything
    else (``n`` not plain ASCII digits, or longer than 9) is a 400: a client that sends an id
    this server never sent would otherwise get the whole stream again without noticing."""
    raw = headers.get("last-event-id")
    if raw is None or not raw.strip():
        return None
    run_id, _, digits = raw.strip().rpartition(":")
    number = ascii_int(digits)
    if not run_id or number is None:
        shown = raw if len(raw) <= 80 else raw[:80] + "…"
        raise ApiError(400, f"Last-Event-ID {shown!r} is not an id this server sent (<run_id>:<n>)")
    return run_id, number


async def numbered_frames(log: RunLog, renderer: Renderer) -> AsyncIterator[tuple[int, Frame]]:
    number = 0
    for frame in renderer.opening():
        yield number, frame
        number += 1
    seen = 0
    while True:
        while seen < len(log.entries):
            entry = log.entries[seen]
            seen += 1
            for frame in renderer.render(entry.step, entry.at):
                yield number, frame
                number += 1
        if log.finished:
            return
        await log.wait_beyond(seen)


Select = Callable[[int, Frame], bool]


def last_pause_end(log: RunLog, renderer: Renderer) -> int:
    """The number of the frame that ended the run's latest pause (-1 if it never paused): a
    response continuing the run starts after it."""
    number, last = len(renderer.opening()), -1
    for entry in list(log.entries):
        for frame in renderer.render(entry.step, entry.at):
            if frame.ends_response:
                last = number
            number += 1
    return last


def _everything(number: int, frame: Frame) -> bool:
    return True


async def _body(
    log: RunLog,
    renderer: Renderer,
    select: Select,
    shaping: StreamShaping,
    store: RunStore,
    counter: StreamCounter,
    event_ids: bool,
) -> AsyncIterator[bytes]:
    counter.open += 1
    sent = 0
    with_ids = (event_ids or shaping.ids) and not shaping.no_ids
    try:
        async for number, frame in numbered_frames(log, renderer):
            if not select(number, frame) or (shaping.no_end and frame.terminal):
                continue
            if shaping.drop_after is not None and sent >= shaping.drop_after:
                raise ConnectionDropped(f"fault: dropped after {sent} events")
            if shaping.stall_after is not None and sent >= shaping.stall_after:
                await store.closing.wait()
                return
            # data-only frames, as SeekrFlow or a platform without resume sends them (a retry
            # hint would be moot; the seekrai SDK's parser reads nothing but data lines)
            event_id = f"{log.id}:{number}" if with_ids else None
            retry = RETRY_MS if sent == 0 and with_ids else None
            yield encode(frame, event_id, retry)
            sent += 1
            if shaping.malformed_after == sent:
                yield MALFORMED
            if frame.ends_response:
                return
    finally:
        counter.open -= 1


def sse_response(
    log: RunLog,
    renderer: Renderer,
    *,
    store: RunStore,
    counter: StreamCounter,
    select: Select = _everything,
    shaping: StreamShaping = NO_SHAPING,
    headers: Mapping[str, str] | None = None,
    event_ids: bool = True,
) -> StreamingResponse:
    """``event_ids=False``: data-only frames (no ``id:`` / ``retry:`` lines)."""
    body = _body(log, renderer, select, shaping, store, counter, event_ids)
    return StreamingResponse(body, media_type="text/event-stream", headers=_sse_headers(headers))


def failure_response(
    frames: list[Frame], headers: Mapping[str, str] | None = None
) -> StreamingResponse:
    """A 200 stream that holds only an in-stream error (the ``stream-error`` fault).
    Its frames carry no ids: there is no run to resume."""

    async def body() -> AsyncIterator[bytes]:
        for index, frame in enumerate(frames):
            yield encode(frame, None, RETRY_MS if index == 0 else None)
            await asyncio.sleep(0)

    return StreamingResponse(body(), media_type="text/event-stream", headers=_sse_headers(headers))


def _sse_headers(extra: Mapping[str, str] | None) -> dict[str, str]:
    return {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **(extra or {})}

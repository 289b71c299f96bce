"""A response body's way from bytes to frames.

:class:`BodyFrames` is that way for :class:`~agentnb._client.frame_reader.FrameReader`:
inflated a bounded piece a step (:mod:`agentnb._http.content_coding`), fed to the SSE decoder
:data:`FEED_SLICE` bytes at a time, each frame handed on, stopping when a step's work is done
or the loop's turn is over. :class:`WholeBody` reads a JSON answer whole instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from .._core.exceptions import ProtocolError
from .._http import DECODE_RATIO_FLOOR, PIECE_SIZE, Decoder, check_ratio
from ..sse import DEFAULT_MAX_EVENT_SIZE, ServerSentEvent, SSEDecoder

__all__ = ["FEED_SLICE", "BodyFrames", "WholeBody"]

FEED_SLICE = PIECE_SIZE
"""Bytes handed to the SSE decoder between two turns of the event loop."""


class WholeBody:
    """A JSON answer where a stream was asked for (a dialect with ``json_answers``: a
    JSON-RPC error instead of an event stream), read whole and handed on as one frame."""

    retry: int | None = None

    def __init__(self, where: str) -> None:
        self.where = where
        self.body = bytearray()

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        self.body += chunk
        if len(self.body) > DEFAULT_MAX_EVENT_SIZE:
            raise ProtocolError(f"{self.where}: the JSON answer is too large to read")
        return []

    def end(self) -> list[ServerSentEvent]:
        return [ServerSentEvent(data=self.body.decode("utf-8", "replace"))]


IDLE, NEEDED, OVER_BUDGET, SLICE_FED = range(4)
"""What :meth:`BodyFrames.work` stopped at: nothing left to do; ``on_frame`` asked for the
reader's task; the loop's turn used its budget; a :data:`FEED_SLICE` went to the decoder."""


class BodyFrames:
    """A body's bytes in, its frames out to ``on_frame`` (which returns False when the
    reader's task has something to do), a bounded piece of work at a time: the body is
    inflated at most :data:`PIECE_SIZE` bytes a step (a bomb refused), fed to the decoder
    :data:`FEED_SLICE` bytes at a time, and between two frames ``over()`` may end the turn."""

    def __init__(
        self,
        decoder: SSEDecoder | WholeBody,
        inflater: Decoder | None,
        on_frame: Callable[[ServerSentEvent], bool],
        over: Callable[[], bool],
        where: Callable[[], str],
    ) -> None:
        self._decoder = decoder
        self._inflater = inflater
        self._on_frame = on_frame
        self._over = over
        self._where = where
        # lists, not deques: they hold a piece or two, and an idle stream keeps them
        self._pieces: list[bytes] = []  # decoded, not fed yet
        self._inflating: list[Iterator[bytes]] = []
        self._frames: list[ServerSentEvent] = []  # decoded, not handed on yet
        self._next_frame = 0
        self._fed = 0
        self._received = self._decoded = 0  # a compressed body's sizes, for the ratio check
        self._ended = False

    @property
    def retry(self) -> int | None:
        """The reconnection time the stream asked for (ms), or None."""
        return self._decoder.retry

    def add(self, piece: bytes) -> None:
        """The body's next bytes as they came (compressed when the body is)."""
        if self._inflater is None:
            self._pieces.append(piece)
            return
        self._received += len(piece)
        self._inflating.append(self._inflater.feed(piece))

    def work(self) -> int:
        """Hand on the frames decoded, then decode more, until one of the states above."""
        over, on_frame = self._over, self._on_frame
        while True:
            frames = self._frames
            while self._next_frame < len(frames):
                sse = frames[self._next_frame]
                self._next_frame += 1
                if not on_frame(sse):
                    return NEEDED
                if over():
                    return OVER_BUDGET
            piece = self._next_piece()
            if piece is None:
                return IDLE
            self._frames = self._decoder.feed(piece)
            self._next_frame = 0
            self._fed += len(piece)
            if self._fed >= FEED_SLICE:
                self._fed = 0
                return SLICE_FED

    def end(self) -> bool:
        """The body is over: False once every frame was handed on, else True (the decoder
        held more: hand it on with :meth:`work` first)."""
        if self._ended:
            return False
        self._ended = True
        self._frames = self._decoder.end()
        self._next_frame = 0
        return bool(self._frames)

    def _next_piece(self) -> bytes | None:
        """At most :data:`FEED_SLICE` bytes of the body, decoded."""
        pieces = self._pieces
        if pieces:
            piece = pieces[0]
            if len(piece) > FEED_SLICE:
                pieces[0] = piece[FEED_SLICE:]
                return piece[:FEED_SLICE]
            del pieces[0]
            return piece
        inflating = self._inflating
        while inflating:
            inflated = next(inflating[0], None)
            if inflated is not None:
                self._decoded += len(inflated)
                if self._decoded > DECODE_RATIO_FLOOR:  # the request named only if refused
                    check_ratio(self._decoded, self._received, self._where())
                return inflated
            del inflating[0]
        return None

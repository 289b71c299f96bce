"""Server-sent events: an incremental decoder from bytes to :class:`ServerSentEvent`.

:class:`SSEDecoder` follows the WHATWG HTML rules for parsing and interpreting an event stream
(always UTF-8, one leading BOM stripped, CR / LF / CRLF line ends, nothing dispatched for a block
without data, ``id`` and ``retry`` kept across events). It takes chunks split anywhere, runs in
linear time and caps the size of one event.
"""

from __future__ import annotations

from typing import NamedTuple

from agentnb._core.exceptions import EventTooLargeError

__all__ = ["DEFAULT_MAX_EVENT_SIZE", "SSEDecoder", "ServerSentEvent"]

DEFAULT_MAX_EVENT_SIZE = 16 * 1024 * 1024
"""Bytes one event may hold (its pending line plus its data) before the decoder gives up."""

_BOM = b"\xef\xbb\xbf"
_MAX_RETRY_DIGITS = 4300  # int() refuses longer digit strings (CVE-2020-10735 limit)


class ServerSentEvent(NamedTuple):
    """One dispatched event (immutable; a named tuple because it is built 100k times a
    second and a tuple is the cheapest immutable object Python makes)."""

    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None


class SSEDecoder:
    """Turns the bytes of one ``text/event-stream`` response into events, chunk by chunk.

    Feed every chunk to :meth:`feed` in order, then call :meth:`end` once the response is over.
    Each event's ``id`` is the last event ID in force when it was dispatched and its ``retry``
    the reconnection time in force (None until the stream sets one).

    An event whose pending line plus data grows past ``max_event_size`` bytes raises
    :class:`~agentnb.EventTooLargeError`. Events completed before it in the same chunk are
    returned first; the error is then raised by the next call.
    """

    __slots__ = (
        "_closed",
        "_data",
        "_data_size",
        "_error",
        "_event_type",
        "_head",
        "_id_buffer",
        "_last_event_id",
        "_max_event_size",
        "_partial",
        "_partial_size",
        "_retry",
        "_skip_lf",
    )

    def __init__(self, max_event_size: int = DEFAULT_MAX_EVENT_SIZE) -> None:
        if max_event_size < 1:
            raise ValueError(
                f"max_event_size must be a positive number of bytes, not {max_event_size}"
            )
        self._max_event_size = max_event_size
        self._last_event_id = ""
        self._retry: int | None = None
        self._id_buffer = ""
        self._event_type = ""
        self._data: list[bytes] = []
        self._data_size = 0
        self._partial: list[bytes] = []
        self._partial_size = 0
        self._head: bytes | None = b""
        self._skip_lf = False
        self._error: EventTooLargeError | None = None
        self._closed: str | None = None

    @property
    def last_event_id(self) -> str:
        """The last event ID of the stream: send it as ``Last-Event-ID`` to resume."""
        return self._last_event_id

    @property
    def retry(self) -> int | None:
        """The reconnection time in milliseconds the server asked for, or None."""
        return self._retry

    @property
    def max_event_size(self) -> int:
        """The cap in bytes on one event (its pending line plus its data)."""
        return self._max_event_size

    def feed(self, chunk: bytes | bytearray | memoryview) -> list[ServerSentEvent]:
        """Decode the next chunk of the stream; returns the events it completed."""
        if self._error is not None or self._closed is not None:
            self._check_usable()
        if type(chunk) is not bytes:
            chunk = _as_bytes(chunk)
        if self._head is not None:
            chunk = self._strip_bom(chunk)
        if self._skip_lf and chunk:
            self._skip_lf = False
            if chunk[0] == 0x0A:
                chunk = chunk[1:]
        if not chunk:
            return []
        if 0x0D in chunk:
            self._skip_lf = chunk[-1] == 0x0D
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if 0x0A not in chunk:
            self._hold_partial(chunk)
            return []
        # A chunk no bigger than what is left of the cap cannot push any line past it.
        if len(chunk) > self._max_event_size - self._data_size - self._partial_size:
            return self._feed_checked(chunk)
        return self._feed_blocks(chunk)

    def end(self) -> list[ServerSentEvent]:
        """Finish the stream. An event still missing its blank line is discarded, as the spec says.

        Returns no events (an unfinished event is never dispatched) but raises the size error
        :meth:`feed` deferred, if any. The decoder cannot be fed afterwards.
        """
        if self._closed is None:
            self._close("end() was called")
        self._raise_deferred_error()
        return []

    def _check_usable(self) -> None:
        self._raise_deferred_error()
        if self._closed is not None:
            raise RuntimeError(f"this SSEDecoder is finished ({self._closed}); use a new one")

    def _raise_deferred_error(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise error

    def _close(self, reason: str) -> None:
        self._closed = reason
        self._data = []
        self._partial = []
        self._partial_size = 0
        self._event_type = ""

    def _strip_bom(self, chunk: bytes) -> bytes:
        head = self._head + chunk if self._head else chunk
        if len(head) < len(_BOM) and _BOM.startswith(head):
            self._head = head
            return b""
        self._head = None
        return head[len(_BOM) :] if head.startswith(_BOM) else head

    def _hold_partial(self, piece: bytes) -> None:
        self._partial.append(piece)
        self._partial_size += len(piece)
        if self._partial_size + self._data_size > self._max_event_size:
            error = self._too_large(self._partial_size + self._data_size)
            self._close("an event went past max_event_size")
            raise error

    def _take_partial(self, piece: bytes) -> bytes:
        """``piece`` prefixed with the held start of its line."""
        self._partial.append(piece)
        line = b"".join(self._partial)
        self._partial = []
        self._partial_size = 0
        return line

    def _feed_blocks(self, chunk: bytes) -> list[ServerSentEvent]:
        # Every piece between two b"\n\n" is a run of whole lines closed by a blank line. Most
        # are a lone data line: the loop below dispatches those without going line by line.
        blocks = chunk.split(b"\n\n")
        tail = blocks.pop()
        if self._partial:
            if blocks:
                blocks[0] = self._take_partial(blocks[0])
            else:
                tail = self._take_partial(tail)
        events: list[ServerSentEvent] = []
        if blocks:
            if self._data or self._event_type:  # the first block continues an open event
                self._interpret_block(blocks[0], events)
                del blocks[0]
                self._dispatch_blocks(blocks, events)
            elif len(blocks) > 1 and _all_lone_data_lines(chunk, blocks, tail):
                self._dispatch_data_lines(blocks, events)
            else:
                self._dispatch_blocks(blocks, events)
            self._last_event_id = self._id_buffer
        if tail:
            lines = tail.split(b"\n")
            partial = lines.pop()
            self._interpret(lines, events)
            if partial:
                self._partial.append(partial)
                self._partial_size = len(partial)
        return events

    def _dispatch_blocks(self, blocks: list[bytes], events: list[ServerSentEvent]) -> None:
        """Interpret whole blocks, each followed by a blank line, starting with no open event."""
        append = events.append
        new_tuple, event_class = tuple.__new__, ServerSentEvent
        last_event_id = self._id_buffer
        retry = self._retry
        for block in blocks:
            if block[:5] != b"data:" or 0x0A in block:
                self._interpret_block(block, events)
                last_event_id = self._id_buffer
                retry = self._retry
                continue
            data = (block[6:] if block[5:6] == b" " else block[5:]).decode("utf-8", "replace")
            append(new_tuple(event_class, ("message", data, last_event_id, retry)))

    def _dispatch_data_lines(self, blocks: list[bytes], events: list[ServerSentEvent]) -> None:
        """Dispatch blocks that are each one ``data: `` line, decoding them all in one go."""
        append = events.append
        new_tuple, event_class = tuple.__new__, ServerSentEvent
        last_event_id = self._id_buffer
        retry = self._retry
        text = b"\n\n".join(blocks).decode("utf-8", "replace")
        for data in text[len("data: ") :].split("\n\ndata: "):
            append(new_tuple(event_class, ("message", data, last_event_id, retry)))

    def _interpret_block(self, block: bytes, events: list[ServerSentEvent]) -> None:
        lines = block.split(b"\n")
        lines.append(b"")
        self._interpret(lines, events)

    def _feed_checked(self, chunk: bytes) -> list[ServerSentEvent]:
        lines = chunk.split(b"\n")
        if self._partial:
            lines[0] = self._take_partial(lines[0])
        oversized_at, size = self._find_oversized_line(lines)
        events: list[ServerSentEvent] = []
        if oversized_at is None:
            partial = lines.pop()
            self._interpret(lines, events)
            if partial:
                self._partial.append(partial)
                self._partial_size = len(partial)
            return events
        self._interpret(lines[:oversized_at], events)
        error = self._too_large(size)
        self._close("an event went past max_event_size")
        if not events:
            raise error
        self._error = error
        return events

    def _find_oversized_line(self, lines: list[bytes]) -> tuple[int | None, int]:
        """Where an event first outgrows the cap, counting each line plus the data before it."""
        data_size = self._data_size
        cap = self._max_event_size
        for index, line in enumerate(lines):
            if len(line) + data_size > cap:
                return index, len(line) + data_size
            if not line:
                data_size = 0
                continue
            name, _, value = line.partition(b":")
            if name == b"data":
                data_size += len(value) + (0 if value[:1] == b" " else 1)
        return None, 0

    def _interpret(self, lines: list[bytes], events: list[ServerSentEvent]) -> None:
        data = self._data
        data_size = self._data_size
        for line in lines:
            if not line:
                self._last_event_id = self._id_buffer
                if data:
                    text = (data[0] if len(data) == 1 else b"\n".join(data)).decode(
                        "utf-8", "replace"
                    )
                    events.append(
                        ServerSentEvent(
                            self._event_type or "message", text, self._id_buffer, self._retry
                        )
                    )
                    data = self._data = []
                    data_size = 0
                self._event_type = ""
            elif line[:5] == b"data:":
                value = line[6:] if line[5:6] == b" " else line[5:]
                data.append(value)
                data_size += len(value) + 1
            elif line[0] != 0x3A:  # a line starting with ':' is a comment
                name, _, value = line.partition(b":")
                if value[:1] == b" ":
                    value = value[1:]
                if name == b"data":  # "data" without a colon
                    data.append(value)
                    data_size += 1
                else:
                    self._process_field(name, value)
        self._data_size = data_size

    def _process_field(self, name: bytes, value: bytes) -> None:
        if name == b"event":
            self._event_type = value.decode("utf-8", "replace")
        elif name == b"id":
            if b"\0" not in value:
                self._id_buffer = value.decode("utf-8", "replace")
        elif name == b"retry":
            retry = _parse_retry(value)
            if retry is not None:
                self._retry = retry

    def _too_large(self, size: int) -> EventTooLargeError:
        return EventTooLargeError(
            f"a server-sent event grew to {size:,} bytes, past this decoder's cap of "
            f"{self._max_event_size:,} bytes (max_event_size); if the server really sends events "
            f"this large, raise the cap, e.g. SSEDecoder(max_event_size={2 * size})"
        )


def _all_lone_data_lines(chunk: bytes, blocks: list[bytes], tail: bytes) -> bool:
    """Whether each of ``chunk``'s whole blocks is a single line starting with ``data: ``.

    Counted in C: no LF in the chunk besides the block separators (and the tail's), and a
    ``data: `` after every separator but the last one.
    """
    if not blocks[0].startswith(b"data: "):
        return False
    separators = len(blocks)
    if chunk.count(b"\n") != 2 * separators + tail.count(b"\n"):
        return False
    data_starts = chunk.count(b"\n\ndata: ") - tail.startswith(b"data: ")
    return data_starts == separators - 1


def _parse_retry(value: bytes) -> int | None:
    """The field's value as milliseconds if it is all ASCII digits, else None (ignored)."""
    if not value.isdigit():  # bytes.isdigit() accepts ASCII digits only, and not b""
        return None
    digits = value.lstrip(b"0") or b"0"
    if len(digits) > _MAX_RETRY_DIGITS:
        return None
    return int(digits)


def _as_bytes(chunk: object) -> bytes:
    if isinstance(chunk, bytearray | memoryview):
        return bytes(chunk)
    raise TypeError(f"SSEDecoder.feed() takes the response's raw bytes, not {type(chunk).__name__}")

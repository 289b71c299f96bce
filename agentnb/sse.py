"""Server-sent events: an incremental decoder from bytes to :class:`ServerSentEvent`.

:class:`SSEDecoder` follows the WHATWG HTML rules for parsing and interpreting an event stream
(always UTF-8, one leading BOM stripped, CR / LF / CRLF line ends, nothing dispatched for a block
without data, ``id`` and ``retry`` kept across events). It takes chunks split anywhere, runs in
linear time and caps the size of one event. It has httpx-sse's shape: each chunk is cut into
lines, and each line is interpreted as the spec says, in bytes (a ``data:`` line, most of any
stream, is told by its first five bytes; any other is split at its first colon); bytes become
text field by field.
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
    """One dispatched event (immutable)."""

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
        self._pending: list[bytes] = []  # the pieces of the unfinished line
        self._pending_size = 0
        self._head: bytes | None = b""  # the stream's first bytes until the BOM is ruled on
        self._skip_lf = False  # the last chunk ended in CR: an LF starting the next is its CRLF
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
        self._raise_deferred_error()
        if self._closed is not None:
            raise RuntimeError(f"this SSEDecoder is finished ({self._closed}); use a new one")
        rest = self._to_lf(self._strip_bom(_as_bytes(chunk)))
        events: list[ServerSentEvent] = []
        if b"\n" in rest:
            lines = rest.split(b"\n")
            rest = lines.pop()
            if self._pending:  # the unfinished line from earlier chunks is the first one's head
                lines[0] = b"".join([*self._pending, lines[0]])
                self._pending = []
                self._pending_size = 0
            past = self._interpret(lines, events)
            if past:
                return self._fail(past, events)
        if rest:
            self._pending.append(rest)
            self._pending_size += len(rest)
        if self._pending_size + self._data_size > self._max_event_size:
            return self._fail(self._pending_size + self._data_size, events)
        return events

    def end(self) -> list[ServerSentEvent]:
        """Finish the stream. An event still missing its blank line is discarded, as the spec says.

        Returns no events (an unfinished event is never dispatched) but raises the size error
        :meth:`feed` deferred, if any. The decoder cannot be fed afterwards.
        """
        if self._closed is None:
            self._close("end() was called")
        self._raise_deferred_error()
        return []

    def _raise_deferred_error(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise error

    def _close(self, reason: str) -> None:
        self._closed = reason
        self._data = []
        self._pending = []
        self._pending_size = 0
        self._event_type = ""

    def _strip_bom(self, chunk: bytes) -> bytes:
        if self._head is None:
            return chunk
        head = self._head + chunk
        if len(head) < len(_BOM) and _BOM.startswith(head):
            self._head = head
            return b""
        self._head = None
        return head.removeprefix(_BOM)

    def _to_lf(self, chunk: bytes) -> bytes:
        """``chunk`` with its CRLF and CR line ends made LF (a CRLF may span two chunks)."""
        if self._skip_lf and chunk:
            self._skip_lf = False
            chunk = chunk.removeprefix(b"\n")
        if b"\r" in chunk:
            self._skip_lf = chunk.endswith(b"\r")
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        return chunk

    def _interpret(self, lines: list[bytes], events: list[ServerSentEvent]) -> int:
        """Interpret complete ``lines`` as the spec says, appending the events they dispatch.
        Returns 0, or the size an event grew to past the cap (a line plus the data before it)."""
        data, cap, size = self._data, self._max_event_size, self._data_size
        for line in lines:
            if not line:  # a blank line dispatches the event
                self._last_event_id = self._id_buffer
                if data:
                    text = _text(data[0] if len(data) == 1 else b"\n".join(data))
                    event = self._event_type or "message"
                    events.append(
                        _new(ServerSentEvent, (event, text, self._id_buffer, self._retry))
                    )
                    data.clear()
                    size = 0
                self._event_type = ""
            elif len(line) + size > cap:
                self._data_size = size
                return len(line) + size
            elif line.startswith(b"data:"):  # the field most lines are: its name, then a colon
                value = line[6:] if line[5:6] == b" " else line[5:]
                data.append(value)
                size += len(value) + 1
            else:
                name, _, value = line.partition(b":")
                if value[:1] == b" ":
                    value = value[1:]
                if name == b"data":  # a line of "data" alone: an empty data line
                    data.append(value)
                    size += 1
                elif name == b"event":
                    self._event_type = _text(value)
                elif name == b"id" and 0 not in value:  # no NUL byte
                    self._id_buffer = _text(value)
                elif name == b"retry":
                    self._retry = _parse_retry(value, self._retry)
                # anything else, a comment (no name before the colon) included, is ignored
        self._data_size = size
        return 0

    def _fail(self, size: int, events: list[ServerSentEvent]) -> list[ServerSentEvent]:
        """Close on an event past the cap: raise now, or after returning the events before it."""
        error = EventTooLargeError(
            f"a server-sent event grew to {size:,} bytes, past this decoder's cap of "
            f"{self._max_event_size:,} bytes (max_event_size); if the server really sends events "
            f"this large, raise the cap, e.g. SSEDecoder(max_event_size={2 * size})"
        )
        self._close("an event went past max_event_size")
        if not events:
            raise error
        self._error = error
        return events


_new = tuple.__new__
"""``_new(ServerSentEvent, fields)`` builds an event in C (a named tuple's own constructor is a
Python function, the costliest step of a small event)."""


def _text(raw: bytes) -> str:
    """``raw`` as UTF-8, an invalid byte as U+FFFD (naming the error handler costs more than
    the decoding itself, so it is named only for bytes that need it)."""
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace")


def _parse_retry(value: bytes, current: int | None) -> int | None:
    """The field's value as milliseconds if it is all ASCII digits, else ``current``."""
    if not value.isdigit():  # bytes.isdigit() accepts ASCII digits only, and not b""
        return current
    digits = value.lstrip(b"0") or b"0"
    return current if len(digits) > _MAX_RETRY_DIGITS else int(digits)


def _as_bytes(chunk: object) -> bytes:
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk, bytearray | memoryview):
        return bytes(chunk)
    raise TypeError(f"SSEDecoder.feed() takes the response's raw bytes, not {type(chunk).__name__}")

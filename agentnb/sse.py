"""Server-sent events: an incremental decoder from bytes to :class:`ServerSentEvent`.

:class:`SSEDecoder` follows the WHATWG HTML rules for parsing and interpreting an event stream
(always UTF-8, one leading BOM stripped, CR / LF / CRLF line ends, nothing dispatched for a block
without data, ``id`` and ``retry`` kept across events). It takes chunks split anywhere, runs in
linear time and caps the size of one event.

Speed: the whole blocks a chunk completes are decoded at once and cut apart in C, lone ``data:``
lines by one split, blocks with the same id / event / data fields in the same order by one regex
(each field's values one column), others of that form one match each. A chunk of one such block
(a server's usual write, one event a chunk) is one match on its bytes, each field decoded alone.
Only the rest (comments, ``retry``, data on several lines, ...) goes through the general loop,
line by line.
"""

from __future__ import annotations

import re
from functools import partial
from itertools import permutations, repeat
from typing import NamedTuple

from agentnb._core.exceptions import EventTooLargeError

__all__ = ["DEFAULT_MAX_EVENT_SIZE", "SSEDecoder", "ServerSentEvent"]

DEFAULT_MAX_EVENT_SIZE = 16 * 1024 * 1024
"""Bytes one event may hold (its pending line plus its data) before the decoder gives up."""

_BOM = b"\xef\xbb\xbf"
_MAX_RETRY_DIGITS = 4300  # int() refuses longer digit strings (CVE-2020-10735 limit)

# A pattern matches a block with the blank line ending the one before, in text starting "\n\n":
# so matches start only at block starts, the search hops from "\n\n" to "\n\n" in C and tries no
# position twice (linear time), and "(?=\n\n)" ends a match with its block.
_BLOCK = re.compile(
    # Up to three id / event lines, then a data line. A repeated group keeps its last value, as
    # the spec keeps the last id / event. An id with a NUL (ignored) does not match.
    r"\n\n(?:id: ?([^\n\0]*+)\n|event: ?([^\n]*+)\n){0,3}data: ?([^\n]*+)(?=\n\n)"
)
# One whole block of up to three id / event lines and a data line, in bytes (see _BLOCK).
_ONE_BLOCK = re.compile(rb"(?:id: ?([^\n\0]*+)\n|event: ?([^\n]*+)\n){0,3}data: ?([^\n]*+)\n\n")


class ServerSentEvent(NamedTuple):
    """One dispatched event (immutable; a named tuple because it is built 100k times a
    second and a tuple is the cheapest immutable object Python makes)."""

    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None


_new_event = partial(tuple.__new__, ServerSentEvent)  # all C, unlike ServerSentEvent(*fields)


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
        "_in_block",
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
        # The start of a line, or lines of the next block held back unread (see _feed_blocks).
        self._partial: list[bytes] = []
        self._partial_size = 0
        self._in_block = False  # whether lines of an unfinished block were interpreted
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
            chunk = chunk.replace(b"\r\n", b"\n")
            if 0x0D in chunk:  # a lone CR (in a CRLF stream, memchr finds none)
                chunk = chunk.replace(b"\r", b"\n")
        if 0x0A not in chunk:
            self._hold_partial(chunk)
            return []
        # A chunk no bigger than what is left of the cap cannot push any line past it. (Lines
        # held back unread count in full here, more than the spec counts: _feed_checked is exact.)
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
            self._read_lines(self._take_partial(b""), [])  # held-back lines: count them exactly
            if self._partial_size + self._data_size > self._max_event_size:
                error = self._too_large(self._partial_size + self._data_size)
                self._close("an event went past max_event_size")
                raise error

    def _take_partial(self, piece: bytes) -> bytes:
        """``piece`` prefixed with the held bytes."""
        self._partial.append(piece)
        line = b"".join(self._partial)
        self._partial = []
        self._partial_size = 0
        return line

    def _read_lines(self, lines_and_partial: bytes, events: list[ServerSentEvent]) -> None:
        """Interpret the whole lines; hold back the unfinished one after them."""
        lines = lines_and_partial.split(b"\n")
        partial = lines.pop()
        if partial:
            self._partial.append(partial)
            self._partial_size = len(partial)
        self._interpret(lines, events)

    def _feed_blocks(self, chunk: bytes) -> list[ServerSentEvent]:
        events: list[ServerSentEvent] = []
        end = chunk.rfind(b"\n\n") + 2  # up to here, whole blocks: taken in bulk
        if end == 1:  # no blank line in the chunk: line by line
            self._read_lines(self._take_partial(chunk) if self._partial else chunk, events)
            return events
        region, tail = chunk[:end], chunk[end:]
        if self._partial:
            region = self._take_partial(region)
        if self._in_block:  # the first block is the rest of one whose lines were interpreted
            first = region.index(b"\n\n")
            self._interpret([*region[:first].split(b"\n"), b""], events)
            region = region[first + 2 :]
        if region:
            self._dispatch_region(region, events)
        self._last_event_id = self._id_buffer
        if tail and b"retry" in tail:  # a retry applies at once: interpret the whole lines now
            self._read_lines(tail, events)
        elif tail:  # the next block's start, held back unread to go with the next chunk's blocks
            # (nothing in it shows before its blank line but a retry, or a size error: see feed)
            self._partial, self._partial_size = [tail], len(tail)
        return events

    def _dispatch_region(self, region: bytes, events: list[ServerSentEvent]) -> None:
        """Dispatch whole blocks (no event open before them), decoded at once: no UTF-8 sequence
        spans an ASCII line end, so each value decodes as it would alone."""
        if region.startswith(b"data: ") and region.find(b"\n") == len(region) - 2:
            data = region[len(b"data: ") : -2].decode("utf-8", "replace")  # memchr: big is fast
            events.append(_new_event(("message", data, self._id_buffer, self._retry)))
            return
        if self._dispatch_block(region, events):
            return
        text = "\n\n" + region.decode("utf-8", "replace")  # "\n\n": see _BLOCK
        cut = _columns(text) if len(text) > _FEW_BYTES else None
        if cut is not None:
            values, types, ids = cut
            id_buffer, retry = repeat(self._id_buffer), repeat(self._retry)
            fields = zip(types or repeat("message"), values, ids or id_buffer, retry, strict=False)
            events.extend(map(tuple.__new__, repeat(ServerSentEvent), fields))
            self._id_buffer = ids[-1] if ids else self._id_buffer
            return
        # One match per block of the usual form; in the gaps between, blocks of other forms for
        # the general loop (encoded back: bad bytes were replaced, so it decodes the same). A gap
        # starts with the "\n\n" ending the block before, or is the "\n" of one more blank line.
        append = events.append
        last_event_id, retry_ms = self._id_buffer, self._retry
        parts = _BLOCK.split(text)
        pieces = iter(parts)
        for gap, event_id, event_type, data in zip(pieces, pieces, pieces, pieces, strict=False):
            if gap:
                self._id_buffer = last_event_id
                self._read_lines((gap + "\n\n")[2:].encode(), events)
                last_event_id, retry_ms = self._id_buffer, self._retry
            if event_id is not None:
                last_event_id = event_id
            append(_new_event((event_type or "message", data, last_event_id, retry_ms)))
        self._id_buffer = last_event_id
        self._read_lines(parts[-1][2:].encode(), events)

    def _dispatch_block(self, region: bytes, events: list[ServerSentEvent]) -> bool:
        """Dispatch ``region`` if it is one block of the usual form (see _ONE_BLOCK), decoded
        field by field; else change nothing and return False."""
        match = _ONE_BLOCK.fullmatch(region)
        if match is None:
            return False
        event_id, event_type, data = match.groups()
        if event_id is not None:
            self._id_buffer = event_id.decode("utf-8", "replace")
        kind = event_type.decode("utf-8", "replace") if event_type else "message"
        text = data.decode("utf-8", "replace")
        events.append(_new_event((kind, text, self._id_buffer, self._retry)))
        return True

    def _feed_checked(self, chunk: bytes) -> list[ServerSentEvent]:
        if self._partial:
            chunk = self._take_partial(chunk)
        lines = chunk.split(b"\n")
        oversized_at, size = self._find_oversized_line(lines)
        events: list[ServerSentEvent] = []
        if oversized_at is None:
            self._read_lines(chunk, events)
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
                    event_type = self._event_type or "message"
                    events.append(_new_event((event_type, text, self._id_buffer, self._retry)))
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
        if lines:
            self._in_block = lines[-1] != b""

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


# ---- the bulk path: columns ----------------------------------------------------------------
# Many blocks of the same fields in the same order: each field's values cut out of the decoded
# text as one column, in C. The text starts with "\n\n", as ``_BLOCK`` expects.

_NAMES = re.compile(r"\n\n([a-z]+):[^\n]*+\n(?:([a-z]+):[^\n]*+\n)?(?:([a-z]+):[^\n]*+\n)?\n")
_FEW_BYTES = 512  # below this, blocks skip the columns (setting them up costs more)
_LAYOUTS = {  # by _NAMES's groups: a pattern for blocks of those fields (any values: columns)
    (*names, *[None] * (3 - len(names))): re.compile(
        "\n\n" + "\n".join(f"{name}: ?([^\n]*+)" for name in names) + "(?=\n\n)"
    )
    for width in (1, 2, 3)
    for names in permutations(("id", "event", "data"), width)
    if "data" in names
}


def _columns(text: str) -> tuple[list[str], list[str] | None, list[str] | None] | None:
    """The data, event and id values (None: no such field) of the blocks in ``text``, cut out in
    C, if all have the same fields in the same order (sampled first, then checked); else None."""
    if text.count("\n") == 2 * text.count("\n\ndata: ") + 2:  # each LF in "\n\ndata: " or last
        return text[len("\n\ndata: ") : -2].split("\n\ndata: "), None, None
    first = _NAMES.match(text)
    names = None if first is None or "\0" in text else first.groups()
    if first is None or names not in _LAYOUTS:
        return None
    end = len(text) - 2  # where the final blank line starts
    for at in (*(text.find("\n\n", end * n // 4) for n in (1, 2, 3)), text.rfind("\n\n", 0, end)):
        sample = _NAMES.match(text, at) if at < end else first
        if sample is None or sample.groups() != names:
            return None
    # If every gap between matches is empty (the last one the final blank line), all blocks
    # have these fields, and each field's values are one slice of the parts.
    parts = _LAYOUTS[names].split(text)
    step = 4 - names.count(None)
    values, types, ids = (
        parts[1 + names.index(name) :: step] if name in names else None
        for name in ("data", "event", "id")
    )
    if parts[-1] != "\n\n" or any(parts[0:-1:step]) or (types and "" in types) or not values:
        return None  # (an empty event means "message": rare)
    return values, types, ids

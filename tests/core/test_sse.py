"""The SSE decoder against the WHATWG "server-sent events" rules.

Properties, each over streams hypothesis draws: every chunking of a stream gives the events of
the whole; the events are those of a line-by-line transcription of the spec (the oracle
below); CR, LF and CRLF end lines alike; a leading BOM is dropped; comment lines change
nothing; an id holding NUL is ignored; retry is set by ASCII digits only; data lines join with
LF; the size cap trips where the spec's buffers outgrow it; and the events are httpx-sse's
where the two readings agree. Beside them, the conformance vectors: the spec's examples and
web-platform-tests' ``eventsource/format-*`` cases, restated as facts (the stream a server sends
and what a browser dispatches), and what the decoder's API promises.
"""

from __future__ import annotations

import codecs
import dataclasses
import itertools
import re
from collections.abc import Sequence

import pytest
from httpx_sse._decoders import SSEDecoder as HttpxSSEDecoder
from httpx_sse._decoders import SSELineDecoder
from hypothesis import given, settings
from hypothesis import strategies as st

from agentnb._core.exceptions import EventTooLargeError, ProtocolError
from agentnb.sse import DEFAULT_MAX_EVENT_SIZE, ServerSentEvent, SSEDecoder

BOM = "\ufeff".encode()


@dataclasses.dataclass
class Decoded:
    events: list[ServerSentEvent]
    last_event_id: str
    retry: int | None


def decode(
    stream: bytes | str, cuts: Sequence[int] = (), max_event_size: int = DEFAULT_MAX_EVENT_SIZE
) -> Decoded:
    """Feed ``stream`` cut at the given offsets (whole when none), then end it."""
    raw = stream.encode() if isinstance(stream, str) else stream
    decoder = SSEDecoder(max_event_size=max_event_size)
    bounds = [0, *cuts, len(raw)]
    got: list[ServerSentEvent] = []
    for start, stop in itertools.pairwise(bounds):
        got += decoder.feed(raw[start:stop])
    got += decoder.end()
    return Decoded(got, decoder.last_event_id, decoder.retry)


def events(stream: bytes | str, cuts: Sequence[int] = ()) -> list[ServerSentEvent]:
    return decode(stream, cuts).events


def msg(
    data: str, event: str = "message", id: str = "", retry: int | None = None
) -> ServerSentEvent:
    return ServerSentEvent(event=event, data=data, id=id, retry=retry)


# --- a transcription of the spec, line by line, used as the oracle for random streams ---------

_LINE_END_TEXT = re.compile("\r\n|\r|\n")
_LINE_END_BYTES = re.compile(b"\r\n|\r|\n")


@dataclasses.dataclass
class SpecResult:
    events: list[ServerSentEvent]
    last_event_id: str
    retry: int | None
    events_before_cap: int | None  # None when no event outgrows the cap


def spec_decode(stream: bytes, max_event_size: int = DEFAULT_MAX_EVENT_SIZE) -> SpecResult:
    """The stream interpreted as the WHATWG text says, on the whole decoded text at once."""
    text = stream.decode("utf-8", errors="replace")
    text = text.removeprefix("\ufeff")
    *lines, _unfinished = _LINE_END_TEXT.split(text)
    data_buffer = event_type = id_buffer = last_event_id = ""
    retry: int | None = None
    dispatched: list[ServerSentEvent] = []
    for line in lines:
        if line == "":
            last_event_id = id_buffer
            if data_buffer == "":
                event_type = ""
                continue
            data_buffer = data_buffer.removesuffix("\n")
            dispatched.append(msg(data_buffer, event_type or "message", last_event_id, retry))
            data_buffer = event_type = ""
            continue
        if line.startswith(":"):
            continue
        field, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if field == "event":
            event_type = value
        elif field == "data":
            data_buffer += value + "\n"
        elif field == "id":
            if "\0" not in value:
                id_buffer = value
        elif field == "retry" and value and all(c in "0123456789" for c in value):
            digits = value.lstrip("0") or "0"  # past Python's int() limit: no time at all
            retry = int(digits) if len(digits) <= 4300 else retry
    return SpecResult(dispatched, last_event_id, retry, _events_before_cap(stream, max_event_size))


def _events_before_cap(stream: bytes, cap: int) -> int | None:
    """How many events complete before a line plus the data before it outgrows ``cap`` bytes."""
    data_size = 0
    has_data = False
    completed = 0
    for line in _LINE_END_BYTES.split(stream.removeprefix(BOM)):
        if len(line) + data_size > cap:
            return completed
        if line == b"":
            completed += has_data
            data_size, has_data = 0, False
        elif not line.startswith(b":"):
            field, colon, value = line.partition(b":")
            if field == b"data":
                data_size += len(value.removeprefix(b" ") if colon else value) + 1
                has_data = True
    return None


# --- conformance vectors: the spec's examples and web-platform-tests' format-* cases ----------

M = ServerSentEvent


def data_only(*datas: str) -> list[ServerSentEvent]:
    return [msg(data) for data in datas]


LONG = "x" * 2048
VECTORS: dict[str, tuple[bytes | str, list[ServerSentEvent], str, int | None]] = {
    # name: (stream, events, last event id after it, retry after it)
    "spec: stock ticker": ("data: YHOO\ndata: +2\ndata: 10\n\n", data_only("YHOO\n+2\n10"), "", None),
    "spec: ids, comments, an unfinished last event": (
        ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n",
        [msg("first event", id="1"), msg("second event")], "", None,
    ),
    "spec: empty data lines": ("data\n\ndata\ndata\n\ndata:", data_only("", "\n"), "", None),
    "spec: the space after the colon is optional": ("data:test\n\ndata: test\n\n", data_only("test", "test"), "", None),
    "spec: event types": (
        "event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n",
        [msg("73857293", "add"), msg("2153", "remove"), msg("113411", "add")], "", None,
    ),
    "wpt: only the first BOM is stripped": (BOM + b"data:1\n\n" + BOM + b"data:2\n\ndata:3\n\n", data_only("1", "3"), "", None),
    "wpt: a second BOM belongs to the field name": (BOM + BOM + b"data:1\n\ndata:2\n\ndata:3\n\n", data_only("2", "3"), "", None),
    "wpt: comment fest": (
        f"data:1\r:\0\n:\r\ndata:2\n:{LONG}\rdata:3\n:data:fail\r:{LONG}\ndata:4\n\n",
        data_only("1\n2\n3\n4"), "", None,
    ),
    "wpt: data before the final empty line is not dispatched": (
        b"retry:1000\ndata:test1\n\nid:test\ndata:test2", [msg("test1", retry=1000)], "", 1000,
    ),
    "wpt: data field parsing": ("data:\n\ndata\ndata\n\ndata:test\n\n", data_only("", "\n", "test"), "", None),
    "wpt: an empty event field means message": ("event: \ndata:data\n\n", data_only("data"), "", None),
    "wpt: a custom event name, then message again": ("event:test\ndata:x\n\ndata:x\n\n", [msg("x", "test"), msg("x")], "", None),
    "wpt: a non-ASCII last event id": ("id: …\ndata: hello\n\n", [msg("hello", id="…")], "…", None),
    "wpt: an id with NUL is ignored": (
        "id: 1\ndata: a\n\nid: x\0\ndata: b\n\nid: \0\ndata: c\n\n",
        [msg("a", id="1"), msg("b", id="1"), msg("c", id="1")], "1", None,
    ),
    "wpt: the last event id persists": (
        "id: 1\ndata: 1\n\ndata: 2\n\nid: 2\ndata:3\n\ndata:4\n\n",
        [msg("1", id="1"), msg("2", id="1"), msg("3", id="2"), msg("4", id="2")], "2", None,
    ),
    "wpt: the last event id resets": (
        "id: 1\ndata: 1\n\nid\ndata:2\n\nid: 3\ndata:3\n\nid:\ndata:4\n\n",
        [msg("1", id="1"), msg("2"), msg("3", id="3"), msg("4")], "", None,
    ),
    "wpt: field parsing": (
        "data:\0\ndata:  2\rData:1\ndata\0:2\ndata:1\r\0data:4\nda-ta:3\rdata_5\ndata:3\r"
        "data:\r\n data:32\ndata:4\n\n",
        data_only("\0\n 2\n1\n3\n\n4"), "", None,
    ),
    "wpt: a bogus retry is ignored": (b"retry:3000\nretry:1000x\ndata:x\n\n", [msg("x", retry=3000)], "", 3000),
    "wpt: an empty retry is ignored": (b"retry\ndata:test\n\n", data_only("test"), "", None),
    "wpt: retry is decimal, a leading zero too": (b"retry:03000\ndata:x\n\n", [msg("x", retry=3000)], "", 3000),
    "wpt: unknown fields and parsing fun": (
        "data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test\n\n",
        data_only("test\n\ntest"), "", None,
    ),
    "wpt: one leading space is stripped, not a tab": ("data:\ttest\rdata: \ndata:test\n\n", data_only("\ttest\n\ntest"), "", None),
    "wpt: newline fest": ("data:test\r\ndata\ndata:test\r\n\r\n", data_only("test\n\ntest"), "", None),
    "wpt: a NUL in data is kept": ("data:\0\n\n", data_only("\0"), "", None),
    "wpt: always UTF-8": (b"data:ok\xe2\x80\xa6\n\n", data_only("ok…"), "", None),
    "wpt: lines and data parsing": ("data:msg\ndata:msg\n\ndata:\n\ndata:end\n\n", data_only("msg\nmsg", "", "end"), "", None),
    # what well-known clients get wrong (shared/vendor-formats.md)
    "a charset is never honoured: windows-1252's … is U+FFFD": (b"data: ok\x85\n\n", data_only("ok\ufffd"), "", None),
    "Unicode line breaks are not line ends": (
        "data: a\u2028b\x85c\x0bd\n\ndata: a\n\u2029\ndata: b\n\n", data_only("a\u2028b\x85c\x0bd", "a\nb"), "", None,
    ),
    "blocks without data are not dispatched, but set the id": (
        "event: ping\n\nid: 7\n\nretry: 5\n\n: comment\n\n", [], "7", 5,
    ),
    "a long retry is ignored, leading zeros are not its length": (
        b"retry: 5\nretry: " + b"9" * 5000 + b"\ndata: a\n\nretry: " + b"0" * 5000 + b"42\n", [msg("a", retry=5)], "", 42,
    ),
    "an unfinished retry line is not read": (b"retry: 5", [], "", None),
}  # fmt: skip


@pytest.mark.parametrize(
    ("stream", "dispatched", "last_id", "retry"), VECTORS.values(), ids=VECTORS
)
def test_conformance_vectors(
    stream: bytes | str, dispatched: list[ServerSentEvent], last_id: str, retry: int | None
) -> None:
    raw = stream.encode() if isinstance(stream, str) else stream
    for cuts in ([], range(1, len(raw))):  # whole, and a byte a chunk
        decoded = decode(raw, cuts)
        assert (decoded.events, decoded.last_event_id, decoded.retry) == (
            dispatched,
            last_id,
            retry,
        )
    assert spec_decode(raw).events == dispatched  # the oracle reads them so too


# --- streams hypothesis draws ------------------------------------------------------------------


def pieces(options: Sequence[str], max_size: int) -> st.SearchStrategy[str]:
    """Up to ``max_size`` of ``options`` joined, any of them any number of times: drawn as one
    string of letters, each standing for an option (what a list of ``sampled_from`` draws,
    at a fraction of Hypothesis's work: one choice a value, not two an option)."""
    letters = "abcdefghijklmnopqrstuvwxyz"[: len(options)]
    assert len(letters) == len(options)
    return st.text(letters, max_size=max_size).map(
        lambda drawn: "".join(options[letters.index(c)] for c in drawn)
    )


_VALUES = pieces(
    ["a", "b", " ", ":", "é", "€", "😀", "\u2028", "\x85", "\x0b", "\ufeff", "\0", "\t", "data"], 5
)
_LINES = st.one_of(
    _VALUES.map(lambda v: "data:" + v),
    _VALUES.map(lambda v: "data: " + v),
    st.just("data"),
    _VALUES.map(lambda v: "event:" + v),
    st.sampled_from(["event: add", "event:", "event"]),
    _VALUES.map(lambda v: "id: " + v),
    st.sampled_from(["retry: 5", "retry:10", "retry: +5", "retry: ５", "retry", "retry: 0"]),
    _VALUES.map(lambda v: ":" + v),
    _VALUES.map(lambda v: "foo:" + v),
    st.just(""),
    st.just(""),
)
_LINE_ENDS = st.sampled_from(["\n", "\r", "\r\n", "\n", "\n"])
_LINE = st.tuples(_LINES, _LINE_ENDS).map(lambda pair: (pair[0] + pair[1]).encode())
_LONE_DATA_FRAMES = st.lists(_VALUES, min_size=1, max_size=6).map(
    lambda values: b"".join(b"data: " + v.encode() + b"\n\n" for v in values)
)
_JUNK = st.sampled_from([b"\xff", b"\xe2\x82", b"\xc3", b"\x80", b"\xef\xbb", b"\xf0\x9f\x98"])
_STREAMS = st.tuples(
    st.sampled_from([b"", b"", BOM, BOM + BOM]),
    st.lists(st.one_of(_LINE, _LINE, _LINE, _LONE_DATA_FRAMES, _JUNK), max_size=40),
    st.sampled_from([b"", b"data: unfinished", b"\r", b"id: 9\n", b"id: 9\n\n"]),
).map(lambda parts: parts[0] + b"".join(parts[1]) + parts[2])


@st.composite
def _streams_and_cuts(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    stream = draw(_STREAMS)
    if draw(st.booleans()):
        cuts = list(range(1, len(stream)))
    else:
        cuts = sorted(set(draw(st.lists(st.integers(0, len(stream)), max_size=25))))
    return stream, cuts


# --- properties against the spec ---------------------------------------------------------------

_LINE_TEXTS = st.lists(_LINES, max_size=30)
"""Lines of the forms a stream holds (fields, comments, blank lines), without their line ends."""


def joined(lines: Sequence[str], ends: Sequence[str]) -> bytes:
    return "".join(line + end for line, end in zip(lines, ends, strict=True)).encode()


@settings(max_examples=200, deadline=None)
@given(_LINE_TEXTS, st.data())
def test_cr_lf_and_crlf_end_lines_alike(lines: list[str], data: st.DataObject) -> None:
    mixed = data.draw(st.lists(_LINE_ENDS, min_size=len(lines), max_size=len(lines)))
    for i in range(1, len(lines)):  # CR, then a blank line's LF, would be one CRLF
        if mixed[i - 1] == "\r" and lines[i] == "" and mixed[i] == "\n":
            mixed[i] = "\r\n"
    expected = decode(joined(lines, ["\n"] * len(lines)))
    for ends in (["\r"] * len(lines), ["\r\n"] * len(lines), mixed):
        stream = joined(lines, ends)
        got = decode(
            stream, data.draw(st.lists(st.integers(0, len(stream)), max_size=6).map(sorted))
        )
        assert got == expected


@settings(max_examples=200, deadline=None)
@given(_streams_and_cuts())
def test_a_leading_bom_is_dropped_and_only_one(stream_and_cuts: tuple[bytes, list[int]]) -> None:
    stream, cuts = stream_and_cuts
    while stream.startswith(BOM):
        stream = stream.removeprefix(BOM)
    inside_the_bom = sorted({1, 2, *(cut + len(BOM) for cut in cuts if cut < len(stream))})
    assert decode(BOM + stream, inside_the_bom) == decode(stream)
    # a second BOM is the first line's, as any other character that is no colon nor line end
    assert decode(BOM + BOM + stream) == decode(BOM + b"x" + stream)


@settings(max_examples=200, deadline=None)
@given(_LINE_TEXTS, st.lists(st.tuples(st.integers(0, 30), _VALUES.map(lambda v: ":" + v))))
def test_comment_lines_change_nothing(lines: list[str], comments: list[tuple[int, str]]) -> None:
    commented = list(lines)
    for at, comment in comments:
        commented.insert(min(at, len(commented)), comment)
    assert decode(joined(commented, ["\n"] * len(commented))) == decode(
        joined(lines, ["\n"] * len(lines))
    )


@settings(max_examples=200, deadline=None)
@given(_LINE_TEXTS, st.lists(st.tuples(st.integers(0, 30), _VALUES), max_size=5))
def test_an_id_with_nul_is_ignored(lines: list[str], ids: list[tuple[int, str]]) -> None:
    with_nul = list(lines)
    for at, value in ids:
        cut = len(value) // 2
        with_nul.insert(min(at, len(with_nul)), f"id: {value[:cut]}\0{value[cut:]}")
    assert decode(joined(with_nul, ["\n"] * len(with_nul))) == decode(
        joined(lines, ["\n"] * len(lines))
    )


_RETRY_VALUES = st.one_of(
    st.text(st.sampled_from("0123456789"), max_size=12),
    st.text(st.characters(exclude_characters="\r\n", codec="utf-8"), max_size=6),
    st.text(st.sampled_from("0123456789+-._ x٣５²"), max_size=6),
)


@settings(max_examples=300, deadline=None)
@given(st.none() | st.integers(0, 10**6), _RETRY_VALUES)
def test_retry_is_set_by_ascii_digits_only(before: int | None, value: str) -> None:
    head = b"" if before is None else f"retry: {before}\n".encode()
    decoded = decode(head + f"retry: {value}\ndata: x\n\n".encode())
    digits = value != "" and all(c in "0123456789" for c in value)
    expected = int(value) if digits else before
    assert (decoded.retry, decoded.events) == (expected, [msg("x", retry=expected)])


_DATA_VALUES = st.text(st.characters(exclude_characters="\r\n", codec="utf-8"), max_size=8)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_DATA_VALUES, min_size=1, max_size=6), max_size=6), st.booleans())
def test_data_lines_join_with_lf(blocks: list[list[str]], spaced: bool) -> None:
    colon = ": " if spaced else ":"
    stream = "".join("".join(f"data{colon}{v}\n" for v in block) + "\n" for block in blocks)
    raw = stream.encode()
    expected = [
        msg("\n".join(v.removeprefix(" ") if not spaced else v for v in block)) for block in blocks
    ]
    assert decode(raw).events == expected
    assert decode(raw, range(1, len(raw), 3)).events == expected


@settings(max_examples=300, deadline=None)
@given(_streams_and_cuts())
def test_any_chunking_gives_the_events_of_the_whole(
    stream_and_cuts: tuple[bytes, list[int]],
) -> None:
    stream, cuts = stream_and_cuts
    assert decode(stream, cuts) == decode(stream)


@settings(max_examples=300, deadline=None)
@given(_streams_and_cuts())
def test_matches_a_line_by_line_transcription_of_the_spec(
    stream_and_cuts: tuple[bytes, list[int]],
) -> None:
    stream, cuts = stream_and_cuts
    expected = spec_decode(stream)
    decoded = decode(stream, cuts)
    assert (decoded.events, decoded.last_event_id, decoded.retry) == (
        expected.events,
        expected.last_event_id,
        expected.retry,
    )


@settings(max_examples=200, deadline=None)
@given(_streams_and_cuts(), st.integers(min_value=3, max_value=60))
def test_the_cap_trips_where_the_spec_s_buffers_outgrow_it(
    stream_and_cuts: tuple[bytes, list[int]], cap: int
) -> None:
    check_cap(*stream_and_cuts, cap)


def check_cap(stream: bytes, cuts: Sequence[int], cap: int) -> None:
    """The cap trips (or not) where the spec transcription says, after the same events."""
    expected = spec_decode(stream, max_event_size=cap)
    decoder = SSEDecoder(max_event_size=cap)
    got: list[ServerSentEvent] = []
    bounds = [0, *cuts, len(stream)]
    try:
        for start, stop in itertools.pairwise(bounds):
            got += decoder.feed(stream[start:stop])
        decoder.end()
    except EventTooLargeError:
        assert expected.events_before_cap is not None
        assert got == expected.events[: expected.events_before_cap]
    else:
        assert expected.events_before_cap is None
        assert got == expected.events


# --- runs of blocks in the forms servers send, against the spec ------------------------------

FIELD_ORDERS = [
    names
    for width in (1, 2, 3)
    for names in itertools.permutations(("id", "event", "data"), width)
    if "data" in names
]


def block_ends(stream: bytes) -> list[int]:
    """Where each block of ``stream`` ends (after its blank line): one block a chunk."""
    return [m.end() for m in re.finditer(rb"(?:\r\n|\r|\n){2}", stream)]


# --- differential: random runs of blocks in the forms servers send ------------------------------

_RARELY = st.integers(0, 15).map(lambda n: n == 0)
_USUAL_VALUES = pieces(
    ["a", "b", " ", ":", "é", "😀", '"', "{}", "data: ", "id:", "\t", "\x85", "\ufeff"], 5
)
_ODD_LINES = st.sampled_from(
    [": keep-alive", ":", "retry: 5", "retry: x", "data", "data: more", "id", "event", "foo: 1", ""]
)


@st.composite
def _usual_streams(draw: st.DrawFn) -> bytes:
    """Blocks of the usual forms, now and then an odd line: all of one field order, or mixed."""
    one_order = draw(st.sampled_from(FIELD_ORDERS))
    mixed = draw(st.booleans())
    space = draw(st.sampled_from([" ", ""]))
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = []
    for _ in range(draw(st.integers(1, 40))):
        names = draw(st.sampled_from(FIELD_ORDERS)) if mixed else one_order
        lines = []
        for name in names:
            value = draw(_USUAL_VALUES)
            if name == "id" and draw(_RARELY):
                value += "\0"
            if name == "event" and draw(_RARELY):
                value = ""
            sep = (" " if space == "" else "") if draw(_RARELY) else space
            lines.append(f"{name}:{sep}{value}")
        if draw(_RARELY):
            lines.insert(draw(st.integers(0, len(lines))), draw(_ODD_LINES))
        text.append(end.join(lines) + end + end)
    tail = draw(st.sampled_from([b"", b"data: unfinished", b"id: 9\n", b"\r", b"retry: 7\n"]))
    return "".join(text).encode() + tail


@st.composite
def _usual_streams_and_cuts(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    stream = draw(_usual_streams())
    if draw(st.booleans()):  # chunks of a few blocks each, as a busy stream arrives
        size = draw(st.integers(8, 200))
        return stream, list(range(size, len(stream), size))
    return stream, sorted(set(draw(st.lists(st.integers(0, len(stream)), max_size=8))))


@settings(max_examples=300, deadline=None)
@given(_usual_streams_and_cuts(), st.booleans())
def test_runs_of_blocks_agree_with_the_spec(
    stream_and_cuts: tuple[bytes, list[int]], one_block_a_chunk: bool
) -> None:
    stream, cuts = stream_and_cuts
    if one_block_a_chunk:
        cuts = block_ends(stream)
    expected = spec_decode(stream)
    for decoded in (decode(stream, cuts), decode(stream, range(1, len(stream)))):
        assert (decoded.events, decoded.last_event_id, decoded.retry) == (
            expected.events,
            expected.last_event_id,
            expected.retry,
        )


@settings(max_examples=200, deadline=None)
@given(_usual_streams_and_cuts(), st.integers(min_value=3, max_value=80))
def test_runs_of_blocks_trip_the_cap_where_the_spec_says(
    stream_and_cuts: tuple[bytes, list[int]], cap: int
) -> None:
    check_cap(*stream_and_cuts, cap)


def test_lines_held_back_after_a_run_count_for_the_cap_as_the_spec_says() -> None:
    # After a run, the unfinished block's whole lines are held back unread. They are 32 bytes,
    # but the spec counts only the pending line plus the data before it (3 bytes).
    head = b"data: a\n\nid: 12345\nevent: abcde\ndata: xy\n"
    stream = head + b"data: " + b"z" * 42 + b"\n\n"
    for cap in (49, 50, 51):
        check_cap(stream, [len(head), len(head) + 6, len(head) + 47], cap)


def test_runs_stay_linear_on_hostile_input() -> None:
    # Each would take minutes if a match were tried at every position of a long line.
    line = b"id: " * 250_000
    for stream in (
        b"\n\n" + line + b"\nfoo\n\n" + line + b"\n\n",
        b"data: x\n\n" + b"data: " + line + b"\nretry\n\n",
        (b"id: a\nid: b\nid: c\nid: d\n" * 50_000) + b"data: x\n\n",
        b"event: " + b"\n\nevent: " * 200_000 + b"\n\n",
    ):
        assert decode(stream).events == spec_decode(stream).events


# --- what the API promises -------------------------------------------------------------------


def test_events_are_frozen_hashable_named_tuples() -> None:
    assert ServerSentEvent() == ServerSentEvent("message", "", "", None)
    assert list(ServerSentEvent._fields) == ["event", "data", "id", "retry"]
    [event] = events("event: e\nid: i\nretry: 3\ndata: d\n\n")
    assert event == ServerSentEvent(event="e", data="d", id="i", retry=3)
    assert hash(event) == hash(ServerSentEvent(event="e", data="d", id="i", retry=3))
    assert repr(event) == "ServerSentEvent(event='e', data='d', id='i', retry=3)"
    with pytest.raises(AttributeError):
        event.data = "x"  # type: ignore[misc]
    assert {type(e) for e in events(b"data: x\n\n" * 3 + b"data:x\n\n")} == {ServerSentEvent}


def test_state_and_input_types() -> None:
    decoder = SSEDecoder()
    assert (decoder.last_event_id, decoder.retry) == ("", None)
    assert decoder.max_event_size == DEFAULT_MAX_EVENT_SIZE == 16 * 1024 * 1024
    assert list(SSEDecoder.__init__.__code__.co_varnames[:2]) == ["self", "max_event_size"]
    assert decoder.feed(bytearray(b"id: 1\ndata: a\n")) == []
    assert decoder.last_event_id == ""  # set at the blank line, not before
    assert decoder.feed(memoryview(b"\n")) == [msg("a", id="1")]
    assert decoder.last_event_id == "1"
    with pytest.raises(TypeError, match="raw bytes, not str"):
        decoder.feed("data: x\n\n")  # type: ignore[arg-type]
    for size in (0, -1):
        with pytest.raises(ValueError, match="positive"):
            SSEDecoder(max_event_size=size)


def test_end_discards_an_unfinished_event_and_closes_the_decoder() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n\ndata: b\n") == [msg("a")]
    assert decoder.end() == []
    assert decoder.end() == []
    with pytest.raises(RuntimeError, match="use a new one"):
        decoder.feed(b"data: x\n\n")


def test_an_event_past_the_cap_raises_after_the_events_before_it() -> None:
    decoder = SSEDecoder(max_event_size=100)
    with pytest.raises(EventTooLargeError) as caught:
        decoder.feed(b"data: " + b"x" * 200 + b"\n\n")
    assert "206 bytes" in str(caught.value) and "cap of 100 bytes" in str(caught.value)
    assert "SSEDecoder(max_event_size=" in str(caught.value)
    assert isinstance(caught.value, ProtocolError)
    decoder = SSEDecoder(max_event_size=50)
    assert decoder.feed(b"data: a\n\ndata: " + b"x" * 60) == [msg("a")]
    with pytest.raises(EventTooLargeError):
        decoder.feed(b"\n\n")  # the error the last call deferred
    with pytest.raises(RuntimeError, match="max_event_size"):
        decoder.feed(b"data: more\n\n")
    assert decoder.end() == []
    decoder = SSEDecoder(max_event_size=50)
    assert decoder.feed(b"data: a\n\ndata: " + b"x" * 60 + b"\n\ndata: c\n\n") == [msg("a")]
    with pytest.raises(EventTooLargeError):
        decoder.end()


def test_a_big_event_in_small_chunks_completes() -> None:
    payload = b"0123456789abcdef" * (8 * 1024 * 1024 // 16)
    stream = b"id: big\ndata: " + payload + b"\n\ndata: next\n\n"
    got = events(stream, range(1024, len(stream), 1024))
    assert [len(e.data) for e in got] == [len(payload), 4]
    assert got[0].data == payload.decode() and got[0].id == "big"
    lines = b"data: " + b"\ndata: ".join([b"x" * 100] * 20_000) + b"\n\n"
    assert events(lines, range(1000, len(lines), 1000)) == [msg("\n".join(["x" * 100] * 20_000))]


# --- differential against httpx-sse, where the two agree ---------------------------------------
#
# httpx-sse's decoder departs from the spec in a few places: it dispatches a block without data
# once an id was seen, resets retry after each event and reads it with int(), and keeps a BOM.
# On streams without those (every block has data, no retry, no BOM, no empty block), both must
# dispatch the same events.


def httpx_sse_events(chunks: Sequence[bytes]) -> list[tuple[str, str, str]]:
    """What httpx_sse.EventSource.aiter_sse does with these chunks (as in bench_sse.py)."""
    text_decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    line_decoder = SSELineDecoder()
    decoder = HttpxSSEDecoder()
    lines: list[str] = []
    for chunk in chunks:
        text = text_decoder.decode(chunk)
        if text:
            lines += line_decoder.decode(text)
    lines += line_decoder.flush()
    got = [decoder.decode(line.rstrip("\n")) for line in lines]
    return [(e.event, e.data, e.id) for e in got if e is not None]


@st.composite
def _agreed_streams_and_cuts(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    fields = st.sampled_from(["id", "event", "data", ":", "foo"])
    text = []
    for _ in range(draw(st.integers(1, 30))):
        names = draw(st.permutations([*draw(st.lists(fields, max_size=3)), "data"]))
        space = draw(st.sampled_from([" ", ""]))
        text.append(end.join(f"{name}:{space}{draw(_USUAL_VALUES)}" for name in names))
    stream = (end + end).join(text).encode() + b"\n\n"
    size = draw(st.integers(1, 300))
    return stream, list(range(size, len(stream), size))


@settings(max_examples=300, deadline=None)
@given(_agreed_streams_and_cuts())
def test_agrees_with_httpx_sse_where_the_two_specs_agree(
    stream_and_cuts: tuple[bytes, list[int]],
) -> None:
    stream, cuts = stream_and_cuts
    chunks = [stream[a:b] for a, b in itertools.pairwise([0, *cuts, len(stream)])]
    ours = decode(stream, cuts).events
    assert [(e.event, e.data, e.id) for e in ours] == httpx_sse_events(chunks)

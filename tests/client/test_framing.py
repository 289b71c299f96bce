"""RawBody.frame, the framing of a body pushed as it arrives: every split of a chunked or
Content-Length body gives the same bytes and ends at the same place, a malformed size line
is refused whether it comes whole or split, and bytes past the body are held (the
connection is then not clean)."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentnb._http.framing import RawBody
from agentnb._http.network import Buffered


def chunked(pieces: list[bytes], extension: bytes = b"", hex_case: str = "lower") -> bytes:
    out = b""
    for piece in pieces:
        size = f"{len(piece):x}" if hex_case == "lower" else f"{len(piece):X}"
        out += size.encode() + extension + b"\r\n" + piece + b"\r\n"
    return out + b"0\r\n\r\n"


def framed(framing: int | str, arrivals: list[bytes]) -> tuple[bytes, RawBody]:
    body = RawBody(Buffered(), framing, b"", None)
    return b"".join(body.frame(data) for data in arrivals), body


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


pieces = st.lists(st.binary(min_size=0, max_size=40), max_size=6)


@given(pieces, st.lists(st.integers(min_value=0), max_size=8), st.sampled_from(["lower", "upper"]))
def test_a_chunked_body_frames_the_same_however_it_arrives(
    data: list[bytes], cuts: list[int], hex_case: str
) -> None:
    wire = chunked([p for p in data if p], hex_case=hex_case)
    body, raw = framed("chunked", split(wire, cuts))
    assert body == b"".join(data)
    assert raw.done and raw.finish_buffered()


@given(pieces, st.lists(st.integers(min_value=0), max_size=8))
def test_chunk_extensions_are_skipped_however_the_body_arrives(
    data: list[bytes], cuts: list[int]
) -> None:
    wire = chunked([p for p in data if p], extension=b";name=value")
    body, raw = framed("chunked", split(wire, cuts))
    assert body == b"".join(data) and raw.done


def test_one_whole_chunk_per_arrival_is_its_data() -> None:
    body = RawBody(Buffered(), "chunked", b"", None)
    assert body.frame(b"5\r\nhello\r\n") == b"hello"
    assert body.frame(b"1A\r\n" + b"x" * 26 + b"\r\n") == b"x" * 26
    assert body.frame(b"0\r\n\r\n") == b"" and body.done


@pytest.mark.parametrize("line", [b"+5", b"5_0", b"0x5", b"g", b"-5", b"12345678901234567"])
def test_a_malformed_size_line_is_refused_whole_or_split(line: bytes) -> None:
    wire = line + b"\r\nhello\r\n"
    for arrivals in ([wire], [wire[:2], wire[2:]]):
        with pytest.raises(httpx.RemoteProtocolError):
            framed("chunked", arrivals)


def test_a_chunk_without_its_line_end_is_refused() -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        framed("chunked", [b"5\r\nhelloXY0\r\n\r\n"])


def test_bytes_past_the_end_are_held_so_the_connection_is_not_reused() -> None:
    body, raw = framed("chunked", [b"2\r\nhi\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n"])
    assert body == b"hi" and raw.done and not raw.finish_buffered()
    body, raw = framed(5, [b"hel", b"loEXTRA"])
    assert body == b"hello" and raw.done and not raw.finish_buffered()


@given(st.binary(max_size=60), st.lists(st.integers(min_value=0), max_size=6))
def test_a_content_length_body_ends_at_its_length(data: bytes, cuts: list[int]) -> None:
    body, raw = framed(len(data), split(data, cuts))
    assert body == data and raw.done

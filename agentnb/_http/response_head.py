"""HTTP/1.1 on the wire, for agentnb's own connections (:mod:`agentnb._http.own_connections`):
a request's bytes, and a response's head parsed strictly.

The head parser refuses what a strict HTTP/1.1 client must (RFC 9112): no status line or a
malformed one, a header line that is not ``name: value``, obsolete line folding, control
characters, a head larger than :data:`MAX_HEAD` or with more than :data:`MAX_HEADERS`
lines, conflicting ``Content-Length`` values, ``Transfer-Encoding`` beside
``Content-Length`` (a smuggling vector) and any transfer coding but ``chunked``. Each is an
``httpx.RemoteProtocolError`` saying what was wrong, so the transport maps it as it maps
httpx's own. Header values may hold bytes past ASCII (read as Latin-1, as httpx does);
names and the status line may not.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import httpx

__all__ = ["MAX_HEAD", "MAX_HEADERS", "Head", "parse_head", "request_bytes"]

MAX_HEAD = 64 * 1024
"""Bytes a response head (status line and headers) may take."""
MAX_HEADERS = 256
"""Header lines a response head may have."""

_HEAD_END = re.compile(rb"\r?\n\r?\n")
_STATUS_LINE = re.compile(rb"HTTP/1\.([01]) ([1-9][0-9]{2})(?: ([\t\x20-\x7e\x80-\xff]*))?")
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_IN_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_NO_BODY_STATUS = frozenset({204, 304})


class Head(NamedTuple):
    """A parsed response head."""

    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    framing: int | str
    """The body's length in bytes, "chunked", or "close" (until the server closes)."""
    keep_alive: bool
    """Whether the connection may carry another request after this body."""


def _refuse(what: str, line: bytes | bytearray = b"") -> httpx.RemoteProtocolError:
    shown = f": {bytes(line[:80])!r}" if line else ""
    return httpx.RemoteProtocolError(f"malformed response head ({what}){shown}")


def parse_head(buffer: bytearray, method: str) -> tuple[Head, int] | None:
    """The head at the start of ``buffer`` and the bytes it took; None until it is whole.
    An informational (1xx) head is returned as is: the caller drops it and reads on."""
    end = _HEAD_END.search(buffer)
    if end is None:
        if len(buffer) > MAX_HEAD:
            raise _refuse(f"larger than {MAX_HEAD // 1024} KiB")
        return None
    if end.end() > MAX_HEAD:
        raise _refuse(f"larger than {MAX_HEAD // 1024} KiB")
    lines = bytes(buffer[: end.start()]).split(b"\n")
    if len(lines) > MAX_HEADERS + 1:
        raise _refuse(f"more than {MAX_HEADERS} header lines")
    status_line = lines[0].removesuffix(b"\r")
    matched = _STATUS_LINE.fullmatch(status_line)
    if matched is None:
        raise _refuse("no HTTP/1.x status line", status_line or b"(empty)")
    minor, status = matched.group(1), int(matched.group(2))
    headers = [_header(line.removesuffix(b"\r")) for line in lines[1:]]
    if 100 <= status < 200:
        if status == 101:
            raise _refuse("a protocol switch that was not asked for", status_line)
        return Head(status, matched.group(3) or b"", headers, 0, True), end.end()
    framing = _framing(headers, status, method)
    keep_alive = minor == b"1" and framing != "close" and not _says_close(headers)
    return Head(status, matched.group(3) or b"", headers, framing, keep_alive), end.end()


def _header(line: bytes) -> tuple[bytes, bytes]:
    if line[:1] in (b" ", b"\t"):
        raise _refuse("obsolete line folding", line)
    name, colon, value = line.partition(b":")
    if not colon or _TOKEN.fullmatch(name) is None:
        raise _refuse("not a 'name: value' header line", line)
    value = value.strip(b" \t")
    if _BAD_IN_VALUE.search(value):
        raise _refuse("a control character in a header value", line)
    return name, value


def _values(headers: list[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    found: list[bytes] = []
    for key, value in headers:
        if key.lower() == name:
            found.extend(part.strip(b" \t").lower() for part in value.split(b","))
    return [value for value in found if value]


def _says_close(headers: list[tuple[bytes, bytes]]) -> bool:
    return b"close" in _values(headers, b"connection")


def _framing(headers: list[tuple[bytes, bytes]], status: int, method: str) -> int | str:
    """RFC 9112 6.3: how the body ends."""
    if method == "HEAD" or status in _NO_BODY_STATUS:
        return 0
    codings = _values(headers, b"transfer-encoding")
    lengths = set(_values(headers, b"content-length"))
    if codings:
        if lengths:
            raise _refuse("both Transfer-Encoding and Content-Length")
        if codings != [b"chunked"]:
            raise _refuse(f"unsupported Transfer-Encoding {b', '.join(codings).decode('latin-1')}")
        return "chunked"
    if not lengths:
        return "close"
    if len(lengths) > 1:
        raise _refuse("conflicting Content-Length values")
    (length,) = lengths
    if not length.isdigit() or len(length) > 18:
        raise _refuse("a Content-Length that is not a byte count", length)
    return int(length)


def request_bytes(request: httpx.Request) -> bytes:
    """``request`` (with its whole body already read) as HTTP/1.1 bytes. Refuses a header
    that would break the head (a line end or NUL in it) with ``httpx.LocalProtocolError``."""
    out = [b"%s %s HTTP/1.1\r\n" % (request.method.encode("ascii"), request.url.raw_path)]
    for name, value in request.headers.raw:
        if _TOKEN.fullmatch(name) is None or _BAD_IN_VALUE.search(value):
            raise httpx.LocalProtocolError(f"a header cannot be sent: {name[:40]!r}")
        out.append(b"%s: %s\r\n" % (name, value))
    out.append(b"\r\n")
    out.append(request.content)
    return b"".join(out)

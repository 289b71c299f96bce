"""agentnb's HTTP machinery: the layer between the run engine (``agentnb._client``) and the
network. It imports the core (exceptions, secrets) and the HTTP libraries (httpx, aiohttp,
and the optional decoders brotli and zstd); nothing of runs, dialects or events.

**What it takes.** An ``httpx.Request`` (built by the client's one request builder: headers,
cookies, a JSON body in memory), the transport's ``httpx.Timeout`` and the user's
``verify=`` (:data:`Verify`: True, False, a CA bundle path, an ``ssl.SSLContext``).

**What it gives.** An ``httpx.Response`` whose head is read and whose body is not. httpx is
the interface; on the wire is aiohttp (:class:`AiohttpTransport`: its C ``llhttp`` parser,
its connection pool, asyncio's TLS with SNI and the hostname checked), under agentnb's own
clients (:func:`new_http_client`). A user's own ``http_client`` (HTTP/2, their proxies,
their transport) is used as it is, and a proxy the environment names is httpx's to use.
The body's raw bytes come from :func:`raw_reads` (straight from aiohttp's reader, else
through httpx), or on agentnb's own client are pushed as each socket read brings them
(:meth:`AiohttpBody.push`: no task woken per read), and every content coding is undone by
agentnb, a bounded piece at a time (:class:`Decoder`), whichever client read them.

**Which errors.** Sending and reading raise httpx's exception types with the request
(``ConnectError``, ``ConnectTimeout``, ``ReadTimeout``, ``ReadError``,
``RemoteProtocolError``, ``DecodingError``) from either client, and a decompression bomb or
a coding agentnb cannot decode is the core's ``ProtocolError``. The one map
(:func:`transport_error` for failures, :func:`status_error` / :func:`content_type_error` for
answers not asked for) turns them into agentnb's typed errors; a TLS failure (a certificate
not trusted, a name that does not match, a server that does not speak TLS) is a
``ConnectError`` saying why, never retried.

**What it guarantees.**

- No duplicated run: a request is sent a second time only on a new connection when a
  kept-alive one closed before any byte of an answer (the keep-alive race); after any
  byte, never (aiohttp's own re-send is turned off). Whether a failure may be retried above
  is :func:`transport_error`'s answer: only when the request provably never reached the
  server, or is idempotent.
- Limits: a response head of at most 128 header lines, each ≤ 8 KiB (a typed error saying
  the head is malformed); a body's codings decoded ≤ 64 KiB a step, a body refused past
  100× its size on the wire once past 8 MiB (stacked codings included); the read timeout
  between two pieces of a body.
- Keep-alive: a connection whose body ended goes back to aiohttp's pool (5 s idle); a
  response closed before its end closes its connection, and after a Stop it is aborted at
  once (no TLS close_notify exchange), so the server sees the run's reader go.
"""

from .aiohttp_transport import AiohttpBody, AiohttpTransport, aiohttp_body
from .body import RawReads, body_pieces, raw_reads
from .clients import (
    SIDE_CONNECTIONS,
    Verify,
    checked_verify,
    new_http_client,
    tls_context,
)
from .content_coding import (
    DECODE_RATIO_FLOOR,
    PIECE_SIZE,
    Decoder,
    accept_encoding,
    check_ratio,
    decoder_for,
)
from .error_map import content_type_error, is_event_stream, is_json, status_error, transport_error

__all__ = [
    "DECODE_RATIO_FLOOR",
    "PIECE_SIZE",
    "SIDE_CONNECTIONS",
    "AiohttpBody",
    "AiohttpTransport",
    "Decoder",
    "RawReads",
    "Verify",
    "accept_encoding",
    "aiohttp_body",
    "body_pieces",
    "check_ratio",
    "checked_verify",
    "content_type_error",
    "decoder_for",
    "is_event_stream",
    "is_json",
    "new_http_client",
    "raw_reads",
    "status_error",
    "tls_context",
    "transport_error",
]

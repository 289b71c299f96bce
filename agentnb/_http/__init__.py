"""agentnb's HTTP machinery: the layer between the run engine (``agentnb._client``) and the
network. It imports the core (exceptions, secrets, the loop's turns) and httpx, httpcore and
h11; nothing of runs, dialects or events.

**What it takes.** An ``httpx.Request`` (built by the client's one request builder: headers,
cookies, a JSON body in memory), the transport's ``httpx.Timeout`` and the user's
``verify=`` (:data:`Verify`: True, False, a CA bundle path, an ``ssl.SSLContext``).

**What it gives.** An ``httpx.Response`` whose head is read and whose body is not, by one of
two paths, chosen per request (:meth:`HttpClients.own_for`):

- **agentnb's own HTTP/1.1 connections** (:class:`OwnConnections`) for ``http://`` and
  ``https://`` when the transport made its own clients and the environment names no proxy
  for the scheme: the request written by agentnb, the head parsed strictly
  (:mod:`~agentnb._http.response_head`), TLS by asyncio with SNI and the hostname checked;
- **httpx** for the rest: a proxy, a user's own ``http_client`` (HTTP/2 included), a body
  that is not in memory. agentnb's own clients run httpx on sharded pools over an asyncio
  network backend (:mod:`~agentnb._http.httpx_pools`, :mod:`~agentnb._http.network`).

Both paths use one TLS context per transport (:func:`tls_context`: httpx's
``create_ssl_context``, so certificates are checked exactly as httpx checks them). Where the
body's connection is agentnb's (its own, or httpx's on agentnb's backend over HTTP/1.1),
:func:`pushed_body` gives it to be read past httpx, pushed by the event loop: the
connection's buffered protocol and the body's framing (:class:`RawBody`: chunked,
``Content-Length``, until close), with gzip or deflate undone a bounded piece at a time
(:class:`Inflater`); else :func:`body_pieces` pulls it through httpx, inflated the same way.

**Which errors.** Sending and reading raise httpx's exception types with the request
(``ConnectError``, ``ConnectTimeout``, ``ReadTimeout``, ``ReadError``, ``WriteError``,
``RemoteProtocolError``, ``DecodingError``) on both paths, and a decompression bomb is the
core's ``ProtocolError``. The one map (:func:`transport_error` for failures,
:func:`status_error` / :func:`content_type_error` for answers not asked for) turns them into
agentnb's typed errors; a TLS failure (a certificate not trusted, a name that does not
match, a server that does not speak TLS) is a ``ConnectError`` saying why, never retried.

**What it guarantees.**

- No duplicated run: a request is sent a second time only on a new connection when a
  kept-alive one closed before any byte of an answer (the keep-alive race); after any
  byte, never. Whether a failure may be retried above is :func:`transport_error`'s answer:
  only when the request provably never reached the server, or is idempotent.
- Limits: a response head ≤ 64 KiB and 256 lines (a typed error naming what is malformed);
  a chunk-size line ≤ 4 KiB; a compressed body ≤ 100× its size on the wire once past
  8 MiB; one read timer per body (the read timeout between two pieces); at most 8 TLS
  handshakes at once per pool (each costs the loop about a millisecond of CPU).
- Keep-alive: a connection whose body ended (or ends within 1 s and 64 KiB of its close)
  goes back to its origin's deque (scheme, host, port; ≤ 320 idle, 5 s), most recent first;
  a response closed before its end after a Stop closes its connection at once (a TLS one
  is aborted: no close_notify exchange), so the server sees the run's reader go.
"""

from .body import RawReads, body_pieces, close_quietly, raw_reads
from .content_coding import (
    DECODE_RATIO_FLOOR,
    PIECE_SIZE,
    Decoder,
    accept_encoding,
    check_ratio,
    decoder_for,
)
from .error_map import content_type_error, is_event_stream, is_json, status_error, transport_error
from .framing import RawBody
from .httpx_pools import (
    SIDE_CONNECTIONS,
    HttpClients,
    Verify,
    checked_verify,
    new_http_clients,
    tls_context,
)
from .own_connections import OwnBody, OwnConnections
from .pushed_body import Pushed, pushed_body

__all__ = [
    "DECODE_RATIO_FLOOR",
    "PIECE_SIZE",
    "SIDE_CONNECTIONS",
    "Decoder",
    "HttpClients",
    "OwnBody",
    "OwnConnections",
    "Pushed",
    "RawBody",
    "RawReads",
    "Verify",
    "accept_encoding",
    "body_pieces",
    "check_ratio",
    "checked_verify",
    "close_quietly",
    "content_type_error",
    "decoder_for",
    "is_event_stream",
    "is_json",
    "new_http_clients",
    "pushed_body",
    "raw_reads",
    "status_error",
    "tls_context",
    "transport_error",
]

"""agentnb's HTTP layer: httpx's interface with aiohttp on the wire (public API of both), one
bounded decoder for content codings, and the one map from HTTP failures to agentnb's typed
errors. It imports the core and the HTTP libraries; nothing of runs, dialects or events.
What it guarantees is on the docs' HTTP page (docs/http.md)."""

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
    decoded_body,
    decoder_for,
)
from .error_map import (
    KNOWN_SERVERS,
    KnownServer,
    content_type_error,
    is_event_stream,
    is_json,
    status_error,
    transport_error,
)
from .wire_body import abort

__all__ = [
    "DECODE_RATIO_FLOOR",
    "KNOWN_SERVERS",
    "PIECE_SIZE",
    "SIDE_CONNECTIONS",
    "Decoder",
    "KnownServer",
    "Verify",
    "abort",
    "accept_encoding",
    "check_ratio",
    "checked_verify",
    "content_type_error",
    "decoded_body",
    "decoder_for",
    "is_event_stream",
    "is_json",
    "new_http_client",
    "status_error",
    "tls_context",
    "transport_error",
]

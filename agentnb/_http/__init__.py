"""agentnb's HTTP layer: httpx's interface with aiohttp on the wire (public API of both), one
bounded decoder for content codings, and the one map from HTTP failures to agentnb's typed
errors. It imports the core and the HTTP libraries; nothing of runs, dialects or events.
What it guarantees is on the docs' HTTP page (docs/http.md)."""

from .clients import (
    SIDE_CONNECTIONS,
    Verify,
    checked_verify,
    new_http_client,
)
from .content_coding import (
    accept_encoding,
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
    "KNOWN_SERVERS",
    "SIDE_CONNECTIONS",
    "KnownServer",
    "Verify",
    "abort",
    "accept_encoding",
    "checked_verify",
    "content_type_error",
    "decoded_body",
    "decoder_for",
    "is_event_stream",
    "is_json",
    "new_http_client",
    "status_error",
    "transport_error",
]

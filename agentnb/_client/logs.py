"""Keys out of the HTTP libraries' logs.

At DEBUG, httpcore (under a user's own httpx client) logs every response's headers, httpx
every request line, and aiohttp what failed, so a server that echoes a key (``WWW-Authenticate:
Bearer sk-…``) would have it written to whatever log handler the user set up.
:func:`install_log_redaction` puts a filter on those loggers that redacts every known secret
from each record before any handler sees it.
"""

from __future__ import annotations

import logging

from .._core.secrets import redact

__all__ = ["HTTP_LOGGERS", "SecretRedactingFilter", "install_log_redaction"]

HTTP_LOGGERS = (
    "aiohttp.client",
    "aiohttp.internal",
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)
"""A logger's filters see only its own records, not its children's: each one is named."""


class SecretRedactingFilter(logging.Filter):
    """Rewrites a record whose message holds a known secret; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging module's to report
            return True
        safe = redact(message)
        if safe != message:
            record.msg = safe
            record.args = None
        return True


_FILTER = SecretRedactingFilter()


def install_log_redaction() -> None:
    """Put the filter on the HTTP libraries' loggers (once; calling again does nothing)."""
    for name in HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)

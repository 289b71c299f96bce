"""An exporter wrapper that fails quietly: a collector that cannot be reached is logged once
on the ``agentnb.tracing`` logger, not on every export, and never raises.

The OTLP exporter logs each failed batch (and each retry) itself. While *our* exporter
exports, on the SDK's worker thread, a thread-local flag tells a filter on the exporter's
logger to hold those records back; other exporters in the process log as they always do.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

__all__ = ["LogOnceExporter", "logger"]

logger = logging.getLogger("agentnb.tracing")

_EXPORTER_LOGGERS = ("opentelemetry.exporter.otlp.proto.http.trace_exporter",)
_OS_ERROR = re.compile(r"\[Errno -?\d+\][^\"')]*")
_RETRY_TAIL = re.compile(r"\s*encountered while exporting.*$", re.DOTALL)


class _Quiet(threading.local):
    active: bool = False
    first: str | None = None


_quiet = _Quiet()


class _HeldWhileOursExport(logging.Filter):
    """Drops the exporter's records on a thread where our exporter is exporting, keeping
    the first one's message (it names the cause: refused, timed out, 404...)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _quiet.active:
            return True
        if _quiet.first is None:
            _quiet.first = _cause(record.getMessage())
        return False


def _cause(message: str) -> str:
    """The gist of the exporter's message: the OS error (``[Errno 111] Connection
    refused``) when there is one, without the "retrying in 0.9 s" the SDK adds."""
    found = _OS_ERROR.search(message)
    return found.group(0).strip() if found else _RETRY_TAIL.sub("", message)


_FILTER = _HeldWhileOursExport()
for _name in _EXPORTER_LOGGERS:
    logging.getLogger(_name).addFilter(_FILTER)


class LogOnceExporter(SpanExporter):
    """Exports through ``inner``; the first failure after a success (or at all) is logged
    once, naming ``destination`` and the cause. Runs are never affected: spans of a failed
    export are dropped, as the batch processor drops them."""

    def __init__(self, inner: SpanExporter, destination: str) -> None:
        self._inner = inner
        self._destination = destination
        self._reported = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        _quiet.active, _quiet.first = True, None
        try:
            result = self._inner.export(spans)
            cause = _quiet.first
        except Exception as exc:  # an exporter bug must not reach the SDK's worker thread
            result, cause = SpanExportResult.FAILURE, repr(exc)
        finally:
            _quiet.active = False
        if result is SpanExportResult.FAILURE:
            self._report(cause or "the export failed")
        elif self._reported:
            logger.info("agentnb tracing: exporting spans to %s again", self._destination)
            self._reported = False
        return result

    def _report(self, cause: str) -> None:
        if self._reported:
            return
        self._reported = True
        logger.warning(
            "agentnb tracing: cannot export spans to %s (%s); runs go on, and their spans "
            "are dropped until it can be reached (said once)",
            self._destination,
            cause,
        )

    def shutdown(self) -> None:
        _quiet.active = True
        try:
            self._inner.shutdown()
        finally:
            _quiet.active = False

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)

"""The part of tracing that needs the OpenTelemetry SDK (the ``agentnb[otel]`` extra).

``agentnb._tracing`` imports this package only when tracing is turned on, so that
``import agentnb`` and every run with tracing off never load OpenTelemetry.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager

from opentelemetry import trace

from ..._core.run import Run
from ..._core.version import __version__
from .._settings import TracingSettings
from .._status import TracingStatus
from ._batch import batch_span
from ._provider import ChosenProvider, choose_provider
from ._span_recorder import TracingRecorder

__all__ = ["TracingBackend", "TracingRecorder", "start_backend"]

INSTRUMENTATION_NAME = "agentnb"


class TracingBackend:
    """Tracing while it is on: the recorder runs report to, the batch span, and the
    provider (shut down when tracing is turned off, if agentnb made it)."""

    def __init__(self, chosen: ChosenProvider, *, content: bool) -> None:
        self._chosen = chosen
        self._tracer = chosen.provider.get_tracer(INSTRUMENTATION_NAME, __version__)
        self.recorder = TracingRecorder(self._tracer, content=content)
        self.status = TracingStatus(
            enabled=True,
            destination=chosen.destination,
            content=content,
            service_name=chosen.service_name,
        )

    def batch_span(self, agent: str, runs: Sequence[Run]) -> AbstractContextManager[None]:
        """The parent span of one ``batch(...)`` call (see :mod:`._batch`)."""
        return batch_span(self._tracer, agent, runs, content=self.status.content)

    def flush(self, timeout: float = 10.0) -> bool:
        """Export the spans waiting in the batch processor now; False past ``timeout``."""
        flush = getattr(self._chosen.provider, "force_flush", None)
        return bool(flush(int(timeout * 1000))) if flush is not None else True

    def close(self) -> None:
        """Shut agentnb's own provider down in the background (its last export may wait on
        an unreachable collector); a provider agentnb did not make is left alone."""
        shutdown = getattr(self._chosen.provider, "shutdown", None)
        if self._chosen.owned and shutdown is not None:
            threading.Thread(target=shutdown, name="agentnb-tracing-shutdown", daemon=True).start()


def start_backend(
    settings: TracingSettings, tracer_provider: trace.TracerProvider | None = None
) -> TracingBackend:
    """Tracing as ``settings`` say, through ``tracer_provider`` when one is given."""
    return TracingBackend(choose_provider(settings, tracer_provider), content=settings.content)

"""The part of tracing that needs the OpenTelemetry SDK (the ``agentnb[otel]`` extra).

``agentnb._tracing`` imports this package only when tracing is turned on, so that
``import agentnb`` and every run with tracing off never load OpenTelemetry.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

from opentelemetry import trace

from ..._core.exceptions import ConfigurationError
from ..._core.request import RunRequest
from ..._core.run import Run
from ..._core.version import __version__
from .._phoenix_scores import GivenScore, PhoenixScores
from .._settings import TracingSettings
from .._status import TracingStatus
from ._batch import batch_span
from ._provider import ChosenProvider, choose_provider
from ._span_recorder import TracingRecorder

__all__ = ["TracingBackend", "TracingRecorder", "start_backend"]

INSTRUMENTATION_NAME = "agentnb"
_RUNS_PER_FLUSH = 100
"""Exported runs are flushed this many at a time: the batch processor's queue (2,048 spans)
drops what does not fit."""


class TracingBackend:
    """Tracing while it is on: the recorder runs report to, the batch span, and the
    provider (shut down when tracing is turned off, if agentnb made it)."""

    def __init__(self, chosen: ChosenProvider, settings: TracingSettings) -> None:
        self._chosen = chosen
        self._tracer = chosen.provider.get_tracer(INSTRUMENTATION_NAME, __version__)
        self.scores = _scores_sender(chosen, settings)
        self.recorder = TracingRecorder(self._tracer, content=settings.content, scores=self.scores)
        self.status = TracingStatus(
            enabled=True,
            destination=chosen.destination,
            content=settings.content,
            service_name=chosen.service_name,
            scores=settings.scores,
        )

    def batch_span(
        self, agent: str, size: int, runs: Callable[[], Sequence[Run]]
    ) -> AbstractContextManager[None]:
        """The span of one ``batch(...)`` call, which its runs link to (see :mod:`._batch`)."""
        return batch_span(self._tracer, agent, size, runs, content=self.status.content)

    def export(
        self, runs: Sequence[tuple[Run, RunRequest, str]], scores: Sequence[GivenScore]
    ) -> None:
        """Send runs that have ended (with the request and base URL of each) as traces, then
        their ``scores`` (once the spans they name are sent)."""
        for start in range(0, len(runs), _RUNS_PER_FLUSH):
            for run, request, base_url in runs[start : start + _RUNS_PER_FLUSH]:
                self.recorder.export(run, request, base_url=base_url)
            self.flush(30.0)
        if self.scores is not None:
            self.scores.send(scores)

    def flush(self, timeout: float = 10.0) -> bool:
        """Export the spans waiting in the batch processor now, then the scores; False past
        ``timeout``."""
        flush = getattr(self._chosen.provider, "force_flush", None)
        done = bool(flush(int(timeout * 1000))) if flush is not None else True
        return (self.scores is None or self.scores.flush(timeout)) and done

    def close(self) -> None:
        """Shut agentnb's own provider down in the background (its last export may wait on
        an unreachable collector); a provider agentnb did not make is left alone."""
        if self.scores is not None:
            self.scores.close()
        shutdown = getattr(self._chosen.provider, "shutdown", None)
        if self._chosen.owned and shutdown is not None:
            threading.Thread(target=shutdown, name="agentnb-tracing-shutdown", daemon=True).start()


def start_backend(
    settings: TracingSettings, tracer_provider: trace.TracerProvider | None = None
) -> TracingBackend:
    """Tracing as ``settings`` say, through ``tracer_provider`` when one is given."""
    return TracingBackend(choose_provider(settings, tracer_provider), settings)


def _scores_sender(chosen: ChosenProvider, settings: TracingSettings) -> PhoenixScores | None:
    """Phoenix's annotations at the collector's URL (Phoenix serves both on one port)."""
    backend = settings.scores
    if backend is None:
        return None
    if chosen.url is None or not chosen.url.endswith("/v1/traces"):
        raise ConfigurationError(
            f"scores go to {backend} at the collector's URL, and spans go to "
            f"{chosen.destination}: give tracing {backend}'s URL as its endpoint"
        )
    return PhoenixScores(chosen.url.removesuffix("/v1/traces"), content=settings.content)

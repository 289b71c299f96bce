"""The process-wide switch: whether runs are traced, set by ``AGENTNB_TRACING`` (read at the
first run) or by :func:`configure_tracing` (any time).

While tracing is off nothing of OpenTelemetry is imported and a run pays one check.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

from .._core.exceptions import ConfigurationError
from ._phoenix_scores import GivenScore
from ._settings import SCORES_BACKENDS, TracingSettings, otlp_traces_url, settings_from_env
from ._status import OFF, TracingStatus

if TYPE_CHECKING:  # the run's model (pydantic) loads with the first run, not with tracing's switch
    from opentelemetry import trace

    from .._core.recorder import RunRecorder
    from .._core.request import RunRequest
    from .._core.run import Run
    from .otel import TracingBackend

__all__ = [
    "annotate_runs",
    "batch_span",
    "configure_tracing",
    "export_runs",
    "flush_tracing",
    "tracing_recorder",
    "tracing_status",
]

logger = logging.getLogger("agentnb.tracing")

EXTRA_HINT = 'pip install "agentnb[otel]"'

_lock = threading.Lock()
_backend: TracingBackend | None = None
_decided = False
"""Whether the switch is set: by the environment at the first run, or by configure_tracing."""


def configure_tracing(
    enabled: bool = True,
    *,
    endpoint: str | None = None,
    content: bool | None = None,
    service_name: str | None = None,
    tracer_provider: trace.TracerProvider | None = None,
    scores: str | None = None,
) -> TracingStatus:
    """Turn tracing of every run on (or off, with ``enabled=False``) and say where spans go.

    ``endpoint`` is an OTLP/HTTP collector's URL (``http://localhost:6006`` for Phoenix;
    ``/v1/traces`` is added); without it the standard ``OTEL_EXPORTER_OTLP_*`` variables
    decide, or your application's own OpenTelemetry setup if it has one. ``content=True``
    also records the message, the answer and tool call arguments and results (default:
    ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``, else off): they are user data.
    ``service_name`` overrides ``OTEL_SERVICE_NAME`` (default ``agentnb``).
    ``tracer_provider`` sends spans through a provider of yours instead (it makes its own
    span ids: a run exported later is then sent again under new ones).
    ``scores="phoenix"`` also sends the scores given to traced runs (``agentnb.score``,
    evaluators, verdicts) to the run's span as Phoenix's annotations, at the ``endpoint``
    (default: ``AGENTNB_TRACING_SCORES``, else off).

    Needs the OpenTelemetry packages (``pip install "agentnb[otel]"``): without them,
    turning tracing on raises :class:`ConfigurationError`. Returns what is now in effect.
    """
    if not enabled:
        _install(None)
        return OFF
    if endpoint is not None and tracer_provider is not None:
        raise ConfigurationError("pass an endpoint or a tracer_provider, not both")
    if scores is not None and scores not in SCORES_BACKENDS:
        raise ConfigurationError(f"scores go to {' or '.join(SCORES_BACKENDS)}, not {scores!r}")
    env = settings_from_env(os.environ)
    settings = TracingSettings(
        enabled=True,
        endpoint=_checked_endpoint(endpoint) if endpoint is not None else env.endpoint,
        content=env.content if content is None else bool(content),
        service_name=service_name,
        scores=env.scores if scores is None else scores,
    )
    backend = _start(settings, tracer_provider)
    _install(backend)
    return backend.status


def tracing_status() -> TracingStatus:
    """What tracing does now (the environment is read first if nothing decided yet)."""
    backend = _active()
    return OFF if backend is None else backend.status


def content_captured() -> bool:
    """Whether what agentnb sends to an observability tool carries content (the message,
    the answer, tool calls' arguments and results, a score's comment): tracing's
    ``content`` while tracing is on, else ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``
    (off unless set). ``export_traces`` and ``agentnb.evals.to_phoenix`` follow it."""
    active = _active()
    return active.status.content if active is not None else settings_from_env(os.environ).content


def tracing_recorder() -> RunRecorder | None:
    """The recorder that traces runs, or None while tracing is off (what the package root
    combines with the history as the default recorder)."""
    backend = _active()
    return None if backend is None else backend.recorder


def batch_span(
    agent: str, size: int, runs: Callable[[], Sequence[Run]]
) -> AbstractContextManager[None]:
    """The parent span of a ``batch(...)`` of ``size`` requests while tracing is on (``runs``:
    their runs as they ended); else nothing."""
    backend = _active()
    return nullcontext() if backend is None else backend.batch_span(agent, size, runs)


def export_runs(
    runs: Sequence[tuple[Run, RunRequest, str]],
    scores: Sequence[GivenScore] = (),
    *,
    endpoint: str | None = None,
    project: str | None = None,
) -> None:
    """Send runs that have ended (each with its request and base URL) as the traces they
    would have made, with ids derived from each run: where tracing sends spans (and
    ``scores`` where it sends scores), or to the collector at ``endpoint``; ``project``:
    into that Phoenix project at ``endpoint``."""
    active = _active()
    if project is not None and endpoint is None:
        raise ConfigurationError("export_traces(project=...) sends to a collector: give endpoint=")
    if endpoint is None:
        if active is None:
            raise ConfigurationError(
                "tracing is off: give an endpoint= (a collector's URL), or turn tracing on "
                "(agentnb.configure_tracing, AGENTNB_TRACING)"
            )
        active.export(runs, scores)
        return
    status = active.status if active is not None else None
    env = settings_from_env(os.environ)
    settings = TracingSettings(
        enabled=True,
        endpoint=_checked_endpoint(endpoint),
        content=content_captured(),
        scores=status.scores if status is not None else env.scores,
        project=project,
    )
    once = _start(settings, None)
    try:
        once.export(runs, scores)
        once.flush(30.0)
    finally:
        once.close()


def annotate_runs(annotations: Sequence[GivenScore]) -> bool:
    """Send ``annotations`` (:class:`~agentnb.types.RunAnnotation`, each on its run's span)
    where tracing sends the scores given to runs (``configure_tracing(scores="phoenix")``:
    Phoenix's span annotations), in the background as scores go; they are kept nowhere.
    False, sending nothing, when scores go nowhere (tracing off, or no ``scores=``)."""
    backend = _active()
    if backend is None or backend.scores is None:
        return False
    backend.scores.send(annotations)
    return True


def flush_tracing(timeout: float = 10.0) -> bool:
    """Export the spans waiting to go out now; False if that took longer than ``timeout``
    seconds. (A collector that cannot be reached is logged, not reported here.)"""
    backend = _active()
    return True if backend is None else backend.flush(timeout)


def _active() -> TracingBackend | None:
    if not _decided:
        _follow_environment()
    return _backend


def _follow_environment() -> None:
    """Set the switch from ``AGENTNB_TRACING`` once. A run must never fail for tracing: a
    value that cannot be followed is logged (once) and tracing stays off."""
    global _decided
    with _lock:
        if _decided:
            return
        settings = settings_from_env(os.environ)
        backend = None
        if settings.problem is not None:
            logger.warning("agentnb tracing: %s", settings.problem)
        elif settings.enabled:
            try:
                backend = _start(settings, None)
            except ConfigurationError as exc:
                logger.warning("agentnb tracing: %s; tracing stays off", exc)
        _set(backend)


def _start(
    settings: TracingSettings, tracer_provider: trace.TracerProvider | None
) -> TracingBackend:
    try:
        from .otel import start_backend  # the OpenTelemetry SDK: optional, only once tracing is on
    except ImportError as exc:
        if not (exc.name or "").startswith("opentelemetry"):
            raise
        raise ConfigurationError(
            f"tracing needs the OpenTelemetry packages ({exc.name} is missing): {EXTRA_HINT}"
        ) from None
    return start_backend(settings, tracer_provider)


def _install(backend: TracingBackend | None) -> None:
    with _lock:
        _set(backend)


def _set(backend: TracingBackend | None) -> None:
    global _backend, _decided
    previous, _backend, _decided = _backend, backend, True
    if previous is not None and previous is not backend:
        previous.close()


def _checked_endpoint(endpoint: str) -> str:
    if not isinstance(endpoint, str) or not endpoint.strip().startswith(("http://", "https://")):
        raise ConfigurationError(
            f"endpoint must be an http:// or https:// collector URL, not {endpoint!r}"
        )
    return otlp_traces_url(endpoint)

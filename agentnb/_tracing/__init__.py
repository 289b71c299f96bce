"""OpenTelemetry traces of every run, opt-in: a trace per run (a child span per tool call),
a span per ``batch(...)`` that its runs link to, following OpenTelemetry's GenAI semantic
conventions; the runs' scores as a backend's annotations, where one is configured.

Off by default and free when off: ``AGENTNB_TRACING`` (see :mod:`._settings`) or
:func:`configure_tracing` turns it on, and only then is the OpenTelemetry SDK (the
``agentnb[otel]`` extra, in :mod:`.otel`) imported. Runs reach it through the recorder seam
(``agentnb._core.recorder``): the package root combines :func:`tracing_recorder` with the
history as the default recorder, so every way of starting a run is traced.
"""

from __future__ import annotations

from ._phoenix_scores import RunAnnotation
from ._settings import CONTENT_VAR, SWITCH_VAR, TracingSettings, settings_from_env
from ._status import TracingStatus
from ._switch import (
    annotate_runs,
    batch_span,
    configure_tracing,
    content_captured,
    export_runs,
    flush_tracing,
    tracing_recorder,
    tracing_status,
)

__all__ = [
    "CONTENT_VAR",
    "SWITCH_VAR",
    "RunAnnotation",
    "TracingSettings",
    "TracingStatus",
    "annotate_runs",
    "batch_span",
    "configure_tracing",
    "content_captured",
    "export_runs",
    "flush_tracing",
    "settings_from_env",
    "tracing_recorder",
    "tracing_status",
]

"""What tracing should do, read from the environment: ``AGENTNB_TRACING`` is the one switch
(off, on, or a collector's URL), ``AGENTNB_TRACING_SCORES`` where scores go, and the standard
``OTEL_*`` variables where spans go and whether content is recorded (the Tracing page lists
the values)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Final

__all__ = [
    "CONTENT_VAR",
    "SCORES_BACKENDS",
    "SCORES_VAR",
    "SWITCH_VAR",
    "TracingSettings",
    "content_from_env",
    "otlp_traces_url",
    "settings_from_env",
]

SWITCH_VAR: Final = "AGENTNB_TRACING"
CONTENT_VAR: Final = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
SCORES_VAR: Final = "AGENTNB_TRACING_SCORES"
SCORES_BACKENDS: Final = ("phoenix",)
"""The backends scores can be sent to (OTLP carries none: each takes them its own way)."""
SDK_DISABLED_VAR: Final = "OTEL_SDK_DISABLED"
_OFF_WORDS: Final = frozenset({"", "off", "0", "false", "no", "none", "disabled"})
_ON_WORDS: Final = frozenset({"on", "1", "true", "yes", "enabled", "otlp"})
_CONTENT_ON: Final = frozenset({"true", "1", "yes", "on", "span_only", "span_and_event"})
_TRACES_PATH: Final = "/v1/traces"


@dataclass(frozen=True)
class TracingSettings:
    """Whether runs are traced, where spans go and what they hold."""

    enabled: bool = False
    endpoint: str | None = None
    """The OTLP/HTTP traces URL agentnb was given; None: the ``OTEL_*`` variables decide."""
    content: bool = False
    """Record message, answer, tool arguments and results (user data: opt-in)."""
    service_name: str | None = None
    """``service.name`` of agentnb's own spans; None: ``OTEL_SERVICE_NAME``, else agentnb."""
    scores: str | None = None
    """The backend scores given to traced runs go to (``phoenix``), or None."""
    project: str | None = None
    """The Phoenix project the spans go to (``openinference.project.name``); None: the
    ``OTEL_RESOURCE_ATTRIBUTES``' one, else Phoenix's default."""
    problem: str | None = None
    """Why the environment could not be followed (tracing then stays off), if it could not."""


def settings_from_env(environ: Mapping[str, str]) -> TracingSettings:
    """The settings ``environ`` asks for (see the module docstring)."""
    content = content_from_env(environ)
    if environ.get(SDK_DISABLED_VAR, "").strip().lower() == "true":
        return TracingSettings(content=content)
    raw = environ.get(SWITCH_VAR, "").strip()
    word = raw.lower()
    scores = environ.get(SCORES_VAR, "").strip().lower()
    if word in _OFF_WORDS:
        return TracingSettings(content=content)
    if scores not in (*SCORES_BACKENDS, *_OFF_WORDS):
        problem = f"{SCORES_VAR}={scores!r} names no backend scores go to (phoenix, or off)"
        return TracingSettings(content=content, problem=f"{problem}; tracing stays off")
    backend = scores if scores in SCORES_BACKENDS else None
    on = TracingSettings(enabled=True, content=content, scores=backend)
    if word in _ON_WORDS:
        return on
    if word.startswith(("http://", "https://")):
        return replace(on, endpoint=otlp_traces_url(raw))
    return TracingSettings(
        content=content,
        problem=(
            f"{SWITCH_VAR}={raw!r} is neither on/off nor an http(s):// collector URL; "
            "tracing stays off"
        ),
    )


def content_from_env(environ: Mapping[str, str]) -> bool:
    """Whether ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` asks for content on
    spans (``true``, or the newer ``span_only`` / ``span_and_event``)."""
    return environ.get(CONTENT_VAR, "").strip().lower() in _CONTENT_ON


def otlp_traces_url(base: str) -> str:
    """The OTLP/HTTP traces URL for a collector's base URL (``/v1/traces`` appended unless
    it is already there), as ``OTEL_EXPORTER_OTLP_ENDPOINT`` is read."""
    url = base.strip().rstrip("/")
    return url if url.endswith(_TRACES_PATH) else url + _TRACES_PATH

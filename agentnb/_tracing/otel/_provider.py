"""Which tracer provider agentnb's spans go through, and where it exports them.

In order: the provider given to ``configure_tracing``; else, when no collector URL was given
to agentnb, the application's own global provider if it configured one (its exporters and
sampling then apply); else a provider of agentnb's own that exports over OTLP/HTTP in the
background (the SDK's batch processor), to the URL given or where ``OTEL_*`` says.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from .._settings import TracingSettings, otlp_traces_url
from ._quiet import LogOnceExporter
from ._run_ids import RunIds

__all__ = ["ChosenProvider", "choose_provider", "traces_url"]

DEFAULT_SERVICE: Final = "agentnb"
_DEFAULT_COLLECTOR: Final = "http://localhost:4318"


@dataclass(frozen=True)
class ChosenProvider:
    """The provider spans go through; ``owned`` when agentnb made it (and so shuts it down)."""

    provider: trace.TracerProvider
    destination: str
    service_name: str | None
    owned: bool
    url: str | None = None
    """The OTLP/HTTP traces URL agentnb's own provider exports to."""


def choose_provider(
    settings: TracingSettings, given: trace.TracerProvider | None = None
) -> ChosenProvider:
    """The provider for ``settings`` (see the module docstring)."""
    if given is not None:
        return ChosenProvider(given, "the tracer provider given to configure_tracing", None, False)
    current = trace.get_tracer_provider()
    configured = not isinstance(current, trace.ProxyTracerProvider | trace.NoOpTracerProvider)
    if settings.endpoint is None and configured:
        return ChosenProvider(current, "the application's tracer provider", None, False)
    url = settings.endpoint or traces_url(os.environ)
    resource = _resource(settings.service_name, settings.project)
    provider = TracerProvider(resource=resource, id_generator=RunIds())
    exporter = LogOnceExporter(OTLPSpanExporter(endpoint=url), url)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    service = resource.attributes.get(SERVICE_NAME)
    return ChosenProvider(provider, f"OTLP/HTTP {url}", str(service), True, url)


def traces_url(environ: Mapping[str, str]) -> str:
    """The traces URL the standard variables name: ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` as
    it is, else ``OTEL_EXPORTER_OTLP_ENDPOINT`` + ``/v1/traces``, else the local default."""
    signal = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if signal:
        return signal
    return otlp_traces_url(environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "") or _DEFAULT_COLLECTOR)


def _resource(service_name: str | None, project: str | None = None) -> Resource:
    """``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES`` as the SDK reads them; the
    service is ``agentnb`` unless they (or ``service_name``) name one; ``project``: the
    Phoenix project, over theirs."""
    if project:
        base = _resource(service_name)
        return base.merge(Resource({"openinference.project.name": project}))
    if service_name:
        return Resource.create({SERVICE_NAME: service_name})
    resource = Resource.create()
    named = str(resource.attributes.get(SERVICE_NAME, ""))
    if named and not named.startswith("unknown_service"):
        return resource
    return resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE}))

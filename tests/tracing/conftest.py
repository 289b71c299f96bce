"""Fixtures of the tracing tests: tracing on, into the SDK's in-memory exporter, for the
runs of one test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tracing_testing import Traced, with_tracing

from agentnb._core import recorder as seam
from agentnb._tracing import configure_tracing


@pytest.fixture
def tracing_seam() -> Iterator[None]:
    """Every run's default recorder also goes to tracing (whatever configure_tracing turns
    on); tracing off and the seam restored afterwards."""
    previous = seam._default_factory
    seam.set_default_recorder(with_tracing(previous))
    try:
        yield
    finally:
        seam.set_default_recorder(previous)
        configure_tracing(False)


@pytest.fixture
def traced_with(tracing_seam: None) -> Callable[..., Traced]:
    """``traced_with(content=...)``: tracing on, into an in-memory exporter (spans are
    exported as each one ends)."""

    def start(*, content: bool = False) -> Traced:
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        configure_tracing(tracer_provider=provider, content=content)
        return Traced(exporter, provider)

    return start


@pytest.fixture
def traced(traced_with: Callable[..., Traced]) -> Traced:
    """Tracing on, without content."""
    return traced_with()

"""The id generator of agentnb's own tracer provider: the ids a run's span must carry
(:mod:`agentnb._core.trace_ids`) are chosen just before the span starts; any other span (the
batch's, a span of the application's through this provider) gets random ones."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator

__all__ = ["RunIds", "chosen_ids"]


class _Chosen(threading.local):
    trace_id: int | None = None
    span_id: int | None = None


_chosen = _Chosen()


@contextmanager
def chosen_ids(trace_id: int, span_id: int) -> Iterator[None]:
    """The ids of the span started on this thread inside the block (a span with a parent
    takes the parent's trace id instead)."""
    _chosen.trace_id, _chosen.span_id = trace_id, span_id
    try:
        yield
    finally:
        _chosen.trace_id = _chosen.span_id = None


class RunIds(IdGenerator):
    """The chosen ids where there are some, random ones elsewhere."""

    def __init__(self) -> None:
        self._random = RandomIdGenerator()

    def generate_span_id(self) -> int:
        return _chosen.span_id or self._random.generate_span_id()

    def generate_trace_id(self) -> int:
        return _chosen.trace_id or self._random.generate_trace_id()

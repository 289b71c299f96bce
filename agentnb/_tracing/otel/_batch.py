"""The span of a ``batch(...)`` call. Each run of the batch is a trace of its own, linked to
it: collectors file a trace under one session (Phoenix, Langfuse), and a batch's runs are
as many threads, each a session with its own totals.

The span is noted in a context variable for the batch's coroutine; the tasks it starts for
its runs copy that context, and each run's ``record_start`` finds the batch there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from ..._core.run import Run
from ..._core.secrets import redact
from .._attributes import batch_attributes, batch_outcome_attributes

__all__ = ["batch_span", "current_batch"]

_batch: ContextVar[trace.SpanContext | None] = ContextVar("agentnb_batch", default=None)


def current_batch() -> trace.SpanContext | None:
    """The span of the batch the current run belongs to, if any."""
    return _batch.get()


@contextmanager
def batch_span(
    tracer: trace.Tracer,
    agent: str,
    size: int,
    runs: Callable[[], Sequence[Run]],
    *,
    content: bool = False,
) -> Iterator[None]:
    """An ``invoke_workflow`` span around a batch of ``size`` requests of ``agent``: counts by
    status and the tokens used of its runs (``runs()``, as they ended) are added at its end.
    Failed runs do not fail the batch (it goes on); a cancelled batch (a kernel interrupt)
    ends in error, described by the exception's type only unless ``content`` is on (its
    message may quote a question or an answer)."""
    span = tracer.start_span(
        f"invoke_workflow batch {agent}",
        kind=SpanKind.INTERNAL,
        attributes=batch_attributes(agent, size),
    )
    token = _batch.set(span.get_span_context())
    try:
        yield
    except BaseException as exc:  # also asyncio.CancelledError (an interrupt): re-raised
        cancelled = not isinstance(exc, Exception)
        if cancelled:
            reason = "the batch was cancelled"
        else:
            reason = redact(str(exc)) if content else type(exc).__name__
        span.set_attribute("error.type", type(exc).__name__)
        span.set_status(Status(StatusCode.ERROR, reason))
        raise
    finally:
        _batch.reset(token)
        span.set_attributes(batch_outcome_attributes(runs()))
        span.end()

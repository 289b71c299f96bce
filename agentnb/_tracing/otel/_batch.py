"""The parent span of a ``batch(...)`` call: every run of the batch is its child, so an
evaluation over many questions reads as one trace.

The span is made current for the batch's coroutine; the tasks it starts for its runs copy
that context, and each run's ``record_start`` finds the span there.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from ..._core.run import Run
from ..._core.secrets import redact
from .._attributes import batch_attributes, batch_outcome_attributes

__all__ = ["batch_span"]


@contextmanager
def batch_span(
    tracer: trace.Tracer, agent: str, runs: Sequence[Run], *, content: bool = False
) -> Iterator[None]:
    """An ``invoke_workflow`` span around a batch of ``runs`` of ``agent``: counts by status
    and the tokens used are added at its end. Failed runs do not fail the batch (it goes
    on); a cancelled batch (a kernel interrupt) ends in error, described by the exception's
    type only unless ``content`` is on (its message may quote a question or an answer)."""
    with tracer.start_as_current_span(
        f"invoke_workflow batch {agent}",
        kind=SpanKind.INTERNAL,
        attributes=batch_attributes(agent, len(runs)),
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
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
            span.set_attributes(batch_outcome_attributes(runs))

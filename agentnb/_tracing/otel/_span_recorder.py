"""`TracingRecorder`: a :class:`~agentnb.history.RunRecorder` that turns every run into spans.

Nothing is traced while the run streams. ``record_start`` only notes the caller's trace
context (a run started inside a span of the caller's is its child; one started by a
``batch(...)`` is linked to the batch's span: asyncio carries both to agentnb's loop thread)
and the request's attributes; ``record_end`` emits the whole tree with the run's own
timestamps and ids derived from the run (:mod:`agentnb._core.trace_ids`): one ``invoke_agent``
span, a ``chat`` child with the model, usage and cost (where the platform reported usage) and
an ``execute_tool`` child per tool call. The batch processor exports it in the background,
so a run pays a few microseconds per span and never waits on the network.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from ..._core.request import EVALUATES, RunRequest
from ..._core.run import Run, ToolCall
from ..._core.secrets import redact
from ..._core.trace_ids import run_span_id, run_trace_id, span_id
from .._attributes import (
    Attributes,
    error_type,
    model_call_attributes,
    model_call_span_name,
    request_attributes,
    run_attributes,
    run_span_name,
    tool_attributes,
    tool_span_name,
)
from .._phoenix_scores import GivenScore, PhoenixScores
from ._batch import current_batch
from ._run_ids import chosen_ids

__all__ = ["TracingRecorder"]


@dataclass(frozen=True)
class _Started:
    parent: otel_context.Context
    attributes: Attributes
    batch: trace.SpanContext | None = None
    graded: str | None = None
    """The run an evaluator's run grades (its ``evaluates`` metadata)."""


def _run_context(local_id: str) -> trace.SpanContext:
    """The span context of a run's own span, derived from its id (traced or exported)."""
    return trace.SpanContext(
        run_trace_id(local_id),
        run_span_id(local_id),
        is_remote=True,
        trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
    )


class TracingRecorder:
    """Records each run as a span tree on ``tracer``; ``content`` adds the message, the
    answer and tool arguments and results (user data: opt-in)."""

    def __init__(
        self, tracer: trace.Tracer, *, content: bool = False, scores: PhoenixScores | None = None
    ) -> None:
        self._tracer = tracer
        self.content = content
        self._scores = scores
        self._started: dict[str, _Started] = {}

    def record_score(self, score: GivenScore) -> None:
        """A score given to a run: to the backend that takes scores, if one is configured."""
        if self._scores is not None:
            self._scores.send([score])

    def record_start(self, run: Run, request: RunRequest, *, base_url: str) -> None:
        attributes = request_attributes(run, request, base_url, content=self.content)
        parent = otel_context.get_current()
        graded = request.metadata.get(EVALUATES)
        self._started[run.local_id] = _Started(parent, attributes, current_batch(), graded)

    def record_progress(self, run: Run) -> None:
        """Nothing: spans are made once, when the run ends."""

    def record_end(self, run: Run) -> None:
        started = self._started.pop(run.local_id, None)
        if started is not None:
            self._emit(run, started)

    def export(self, run: Run, request: RunRequest, *, base_url: str) -> None:
        """Emit a run that has ended (one recorded before tracing was on) as its own trace."""
        attributes = request_attributes(run, request, base_url, content=self.content)
        graded = request.metadata.get(EVALUATES)
        self._emit(run, _Started(otel_context.Context(), attributes, graded=graded))

    def _emit(self, run: Run, started: _Started) -> None:
        start = _nanoseconds(run.started_at or run.created_at)
        end = max(start, _nanoseconds(run.finished_at) if run.finished_at else time.time_ns())
        links = [Link(started.batch)] if started.batch is not None else []
        graded = started.graded
        if graded is not None:  # an evaluator's run: linked to the run it grades
            links.append(Link(_run_context(graded)))
        with chosen_ids(run_trace_id(run.local_id), run_span_id(run.local_id)):
            span = self._tracer.start_span(
                run_span_name(run.agent),
                context=started.parent,
                kind=SpanKind.CLIENT,
                attributes=started.attributes,
                links=links or None,
                start_time=start,
            )
        span.set_attributes(run_attributes(run, content=self.content))
        if started.batch is not None:  # collectors that show no links (Phoenix) filter by it
            span.set_attribute("agentnb.batch.trace_id", format(started.batch.trace_id, "032x"))
        if graded is not None:
            span.set_attribute("agentnb.evaluates.trace_id", f"{run_trace_id(graded):032x}")
        if run.status != "completed":
            span.set_status(Status(StatusCode.ERROR, self._run_message(run)))
        inside = trace.set_span_in_context(span, started.parent)
        self._emit_model_calls(run, inside, start, end)
        for position, call in enumerate(run.tool_calls):
            with chosen_ids(0, span_id(run.local_id, f"tool/{position}")):
                self._emit_tool(call, inside, start, end)
        span.end(end_time=end)

    def _emit_model_calls(
        self, run: Run, parent: otel_context.Context, run_start: int, run_end: int
    ) -> None:
        """The run's model calls as one span over the run (the platform reports their usage
        per run, not when each was made)."""
        attributes = model_call_attributes(run)
        if attributes is None:
            return
        with chosen_ids(0, span_id(run.local_id, "chat")):
            span = self._tracer.start_span(
                model_call_span_name(run.model),
                context=parent,
                kind=SpanKind.INTERNAL,
                attributes=attributes,
                start_time=run_start,
            )
        span.end(end_time=run_end)

    def _emit_tool(
        self, call: ToolCall, parent: otel_context.Context, run_start: int, run_end: int
    ) -> None:
        start = max(run_start, _nanoseconds(call.started_at) if call.started_at else run_start)
        end = _nanoseconds(call.finished_at) if call.finished_at is not None else run_end
        span = self._tracer.start_span(
            tool_span_name(call.name),
            context=parent,
            kind=SpanKind.INTERNAL,
            attributes=tool_attributes(call, content=self.content),
            start_time=start,
        )
        if call.status == "failed":
            span.set_status(Status(StatusCode.ERROR, self._tool_message(call)))
        span.end(end_time=max(start, end))

    def _run_message(self, run: Run) -> str:
        """The error's message with content on; else its type or code only: a platform's
        message may quote the question or a tool's output."""
        if self.content and run.error is not None and run.error.message:
            return redact(run.error.message)
        return error_type(run) or f"the run ended {run.status}"

    def _tool_message(self, call: ToolCall) -> str | None:
        """A tool's error text is its output (user data): with content off, its type only."""
        if not self.content:
            return "tool_error"
        return redact(call.error) if call.error else None


def _nanoseconds(seconds: float) -> int:
    return int(seconds * 1_000_000_000)

"""A `Run` as history values: what is known when it starts, what when it ends.

Every text goes through :func:`clean` (secrets redacted) and tool payloads through
:func:`truncate`, so whatever is built here is safe to store or show.
"""

from __future__ import annotations

import json
from typing import Any

from .._core.request import RunRequest
from .._core.run import TERMINAL_STATUSES, Run, ToolCall
from ._records import RUN_COLUMNS
from ._scrub import as_text, clean, host_of, redact_error, truncate

__all__ = ["end_values", "run_row", "start_values", "tool_rows"]


def start_values(run: Run, request: RunRequest | None, base_url: str | None) -> dict[str, Any]:
    """The columns known when the request is sent."""
    settings = request.model_settings.as_dict() if request is not None else {}
    metadata = dict(request.metadata) if request is not None else {}
    return {
        "local_id": run.local_id,
        "run_id": run.run_id,
        "connection": run.connection or None,
        "provider": run.provider or None,
        "host": host_of(base_url),
        "agent": run.agent or (request.agent if request is not None else None),
        "thread_id": run.thread_id or (request.thread_id if request is not None else None),
        "message": clean(run.message or (request.message if request is not None else "")),
        "status": "running",
        "started_at": run.started_at or run.created_at,
        "model_settings": to_json(settings) if settings else None,
        "metadata": clean(to_json(metadata)) if metadata else None,
        "event_count": 0,
        "retries": 0,
        "resumes": 0,
    }


def progress_values(run: Run) -> dict[str, Any]:
    """The columns a checkpoint of a running run refreshes."""
    return {
        "run_id": run.run_id,
        "thread_id": run.thread_id,
        "answer": clean(run.text) or None,
        "reasoning": clean(run.reasoning) or None,
        "first_token_at": run.first_token_at,
        "event_count": run.event_count,
        "retries": run.retries,
        "resumes": run.resumes,
        "tool_call_count": len(run.tool_calls),
    }


def end_values(run: Run) -> dict[str, Any]:
    """The columns known when the run has ended (a run still going counts as interrupted)."""
    usage, error = run.usage, run.error
    return {
        "run_id": run.run_id,
        "thread_id": run.thread_id,
        "answer": clean(run.text) or None,
        "reasoning": clean(run.reasoning) or None,
        "status": run.status if run.status in TERMINAL_STATUSES else "interrupted",
        "error_code": redact_error(error.code) if error else None,
        "error_message": redact_error(error.message) if error else None,
        "prompt_tokens": usage.prompt_tokens if usage else None,
        "completion_tokens": usage.completion_tokens if usage else None,
        "total_tokens": usage.total_tokens if usage else None,
        "started_at": run.started_at,
        "first_token_at": run.first_token_at,
        "finished_at": run.finished_at,
        "duration": run.duration if _ended(run) else None,
        "elapsed": run.elapsed if _ended(run) else None,
        "paused_seconds": run.paused_time,
        "ttft": run.ttft,
        "tokens_per_second": run.tokens_per_second,
        "execution_time": run.execution_time,
        "event_count": run.event_count,
        "retries": run.retries,
        "resumes": run.resumes,
        "tool_call_count": len(run.tool_calls),
        "cancel_error": redact_error(run.cancel_error),
    }


def run_row(
    run: Run, request: RunRequest | None = None, base_url: str | None = None
) -> tuple[Any, ...]:
    """The run's values in ``RUN_COLUMNS`` order, for a history built without a store."""
    values = start_values(run, request, base_url)
    if run.done:
        values.update({k: v for k, v in end_values(run).items() if v is not None})
    return tuple(values.get(name) for name, _ in RUN_COLUMNS)


def tool_rows(run: Run) -> list[tuple[Any, ...]]:
    """The run's tool calls in ``TOOL_CALL_COLUMNS`` order."""
    return [_tool_row(run, position, call) for position, call in enumerate(run.tool_calls)]


def _tool_row(run: Run, position: int, call: ToolCall) -> tuple[Any, ...]:
    arguments = call.arguments if call.arguments is not None else (call.arguments_text or None)
    return (
        run.local_id,
        call.call_id,
        position,
        truncate(clean(call.agent)) if call.agent else run.agent or None,
        call.name or None,
        call.status,
        truncate(clean(as_text(arguments))),
        truncate(clean(as_text(call.output))),
        truncate(redact_error(call.error)),
        call.started_at or None,
        call.finished_at,
        call.duration,
        *_question_and_answer(call),
        call.parent_call_id,
        call.depth,
    )


def _question_and_answer(call: ToolCall) -> tuple[str | None, str | None]:
    """The call's question and the human's answer, cleaned and cut like other text."""
    approval = call.approval
    if approval is None or approval.question is None:
        return None, None
    answer = None if approval.answer is None else truncate(clean(as_text(approval.answer)))
    return truncate(clean(approval.question)), answer


def _ended(run: Run) -> bool:
    return run.started_at is not None and run.finished_at is not None


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)

"""A run as one JSON-ready dict, for widgets and the history."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .run import Run

__all__ = ["run_snapshot"]


def run_snapshot(run: Run) -> dict[str, Any]:
    """A JSON-ready copy of the whole state of ``run``."""
    return {
        "local_id": run.local_id,
        "agent": run.agent,
        "message": run.message,
        "provider": run.provider,
        "connection": run.connection,
        "run_id": run.run_id,
        "thread_id": run.thread_id,
        "status": run.status,
        "parts": [{"kind": p.kind, "text": p.text, "call_id": p.call_id} for p in run.parts],
        "tool_calls": [c.to_dict() for c in run.tool_calls],
        "usage": run.usage.model_dump() if run.usage else None,
        "execution_time": run.execution_time,
        "followups": list(run.followups),
        "finish_reason": run.finish_reason,
        "error": run.error.to_dict() if run.error else None,
        "started_at": run.started_at,
        "first_token_at": run.first_token_at,
        "finished_at": run.finished_at,
        "ttft": run.ttft,
        "duration": run.duration if run.done else None,
        "tokens_per_second": run.tokens_per_second,
        "event_count": run.event_count,
        "unknown_dropped": run.unknown_dropped,
        "step_resets": run.step_resets,
        "state": run.state,
        "custom_events": len(run.custom_events),
    }

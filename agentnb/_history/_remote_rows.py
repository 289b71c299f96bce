"""A platform's listed run (SeekrFlow list runs, Operativus status) as a history row."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ._records import RUN_COLUMNS
from ._rows import to_json
from ._scrub import clean

if TYPE_CHECKING:
    from ..providers import RemoteRun

__all__ = ["normalize_status", "parse_time", "remote_row"]

_STATUS_WORDS = {
    "canceled": "cancelled",
    "cancelled": "cancelled",
    "succeeded": "completed",
    "success": "completed",
    "complete": "completed",
    "completed": "completed",
    "done": "completed",
    "error": "failed",
    "errored": "failed",
    "failed": "failed",
    "in_progress": "running",
    "running": "running",
}


def normalize_status(status: str | None) -> str:
    """A platform's status in agentnb's words where one fits (``queued``, ``paused`` stay)."""
    word = (status or "unknown").strip().lower()
    return _STATUS_WORDS.get(word, word)


def parse_time(value: Any) -> float | None:
    """Unix seconds from an ISO 8601 string (naive means UTC) or a unix time (s or ms)."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) / 1000.0 if value > 1e11 else float(value)
    try:
        parsed = datetime.fromisoformat(str(value).strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def remote_row(
    run: RemoteRun,
    *,
    provider: str | None = None,
    connection: str | None = None,
    host: str | None = None,
) -> tuple[Any, ...]:
    """One listed run in ``RUN_COLUMNS`` order."""
    started = parse_time(run.started_at) or parse_time(run.created_at)
    finished = parse_time(run.finished_at)
    raw: Mapping[str, Any] = run.raw or {}
    metadata = raw.get("metadata")
    error = raw.get("error")
    values: dict[str, Any] = {
        "local_id": run.run_id,
        "run_id": run.run_id,
        "connection": connection,
        "provider": provider,
        "host": host,
        "agent": run.agent,
        "thread_id": run.thread_id,
        "status": normalize_status(run.status),
        "error_message": clean(_error_text(error)),
        "prompt_tokens": run.prompt_tokens,
        "completion_tokens": run.completion_tokens,
        "total_tokens": _total(run),
        "started_at": started,
        "finished_at": finished,
        "duration": max(0.0, finished - started) if started and finished else None,
        "metadata": clean(to_json(metadata)) if isinstance(metadata, Mapping) else None,
        "answer": clean(output) if isinstance(output := raw.get("output"), str) else None,
        "execution_time": _number(raw.get("executionTime", raw.get("execution_time"))),
    }
    return tuple(values.get(name) for name, _ in RUN_COLUMNS)


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _total(run: RemoteRun) -> int | None:
    if run.total_tokens is not None:
        return run.total_tokens
    if run.prompt_tokens is not None and run.completion_tokens is not None:
        return run.prompt_tokens + run.completion_tokens
    return None


def _error_text(error: Any) -> str | None:
    if error is None or error == "":
        return None
    if isinstance(error, Mapping):
        return str(error.get("message") or to_json(error))
    return str(error)

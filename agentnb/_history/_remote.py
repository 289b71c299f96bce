"""Platform run listings (SeekrFlow's list runs, Operativus' batch status) as `RunHistory`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from .._exceptions import ConfigurationError
from ._records import RUN_COLUMNS
from ._rows import to_json
from ._scrub import clean

if TYPE_CHECKING:
    from .._client import AsyncAgentClient
    from .._sync import AgentClient
    from ..providers._base import RemoteRun
    from ._table import RunHistory

__all__ = ["fetch_remote_runs", "normalize_status", "remote_row", "remote_runs"]

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


async def fetch_remote_runs(
    client: AsyncAgentClient,
    *,
    thread_id: str | None = None,
    agent: str | None = None,
    run_ids: Sequence[str] | None = None,
    limit: int | None = None,
    order: Literal["asc", "desc"] = "desc",
) -> RunHistory:
    """The platform's runs of a thread (``thread_id``) or by id (``agent`` + ``run_ids``)."""
    from ._scrub import host_of
    from ._table import RunHistory

    if order not in ("asc", "desc"):
        raise ConfigurationError(f"order must be 'asc' or 'desc', not {order!r}")
    if thread_id is not None and run_ids is not None:
        raise ConfigurationError("give either thread_id (list a thread) or run_ids, not both")
    if thread_id is not None:
        listed = await client.list_runs(thread_id, limit=limit, order=order)
    elif run_ids is not None:
        if not agent:
            raise ConfigurationError("run_ids needs the agent they belong to: agent=...")
        listed = await client.run_status(agent, list(run_ids))
        listed = listed[:limit] if limit is not None else listed
    else:
        raise ConfigurationError(
            "say which runs: thread_id=... (a thread's runs) or agent=... with run_ids=[...]"
        )
    return RunHistory.from_remote(
        listed,
        provider=client.provider.name,
        connection=getattr(client, "connection", None) or None,
        host=host_of(str(client.base_url)) if getattr(client, "base_url", None) else None,
    )


def remote_runs(
    client: AsyncAgentClient | AgentClient | str | None = None,
    *,
    thread_id: str | None = None,
    agent: str | None = None,
    run_ids: Sequence[str] | None = None,
    limit: int | None = None,
    order: Literal["asc", "desc"] = "desc",
) -> RunHistory:
    """A platform's own listing of runs, as a :class:`RunHistory` like the local one.

    ``client`` is an ``AgentClient`` or ``AsyncAgentClient``, a connection name, or None for
    the default connection. SeekrFlow lists a thread's runs (``thread_id``, every page,
    ``order`` asc or desc); Operativus reports runs by id (``agent`` and ``run_ids``, asked
    100 at a time).
    """
    from .._loop import run_sync
    from .._sync import AgentClient

    if isinstance(client, AgentClient):
        client = client.aio
    if client is None or isinstance(client, str):
        from .._connections import get_connection

        client = get_connection(client).client()
    return run_sync(
        fetch_remote_runs(
            client, thread_id=thread_id, agent=agent, run_ids=run_ids, limit=limit, order=order
        )
    )

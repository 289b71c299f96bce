"""The history's records: one :class:`RunRecord` per run, one :class:`ToolCallRecord` per call.

Column order and kinds are declared once here; the store selects in this order and the
tables convert by kind (times are unix seconds in the database and tz-aware UTC datetimes
in records and DataFrames).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = [
    "RUN_COLUMNS",
    "TOOL_CALL_COLUMNS",
    "ColumnKind",
    "RunRecord",
    "ToolCallRecord",
]

ColumnKind = Literal["id", "text", "category", "int", "float", "time", "json"]

RUN_COLUMNS: tuple[tuple[str, ColumnKind], ...] = (
    ("local_id", "id"),
    ("run_id", "id"),
    ("connection", "category"),
    ("provider", "category"),
    ("host", "category"),
    ("agent", "category"),
    ("thread_id", "id"),
    ("message", "text"),
    ("answer", "text"),
    ("reasoning", "text"),
    ("status", "category"),
    ("error_code", "category"),
    ("error_message", "text"),
    ("prompt_tokens", "int"),
    ("completion_tokens", "int"),
    ("total_tokens", "int"),
    ("started_at", "time"),
    ("first_token_at", "time"),
    ("finished_at", "time"),
    ("duration", "float"),
    ("ttft", "float"),
    ("tokens_per_second", "float"),
    ("execution_time", "float"),
    ("event_count", "int"),
    ("retries", "int"),
    ("resumes", "int"),
    ("tool_call_count", "int"),
    ("model_settings", "json"),
    ("metadata", "json"),
    ("cancel_error", "text"),
    ("elapsed", "float"),
    ("paused_seconds", "float"),
)
"""The run columns, in the order the store selects them and DataFrames show them."""

TOOL_CALL_COLUMNS: tuple[tuple[str, ColumnKind], ...] = (
    ("local_id", "id"),
    ("call_id", "id"),
    ("position", "int"),
    ("agent", "category"),
    ("name", "category"),
    ("status", "category"),
    ("arguments", "text"),
    ("output", "text"),
    ("error", "text"),
    ("started_at", "time"),
    ("finished_at", "time"),
    ("duration", "float"),
    ("question", "text"),
    ("answer", "text"),
    ("parent_call_id", "id"),
    ("depth", "int"),
)
"""The tool-call columns. ``agent`` is the agent that made the call: a sub-agent's name for
a nested call, else the run's agent (also for calls recorded before calls had agents)."""


def to_datetime(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def to_seconds(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def load_json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _convert(kind: ColumnKind, value: Any) -> Any:
    if kind == "time":
        return to_datetime(value)
    if kind == "json":
        return load_json(value)
    return value


def _unconvert(kind: ColumnKind, value: Any) -> Any:
    if kind == "time":
        return to_seconds(value)
    if kind == "json":
        return None if value is None else json.dumps(value, default=str)
    return value


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run as the history keeps it. Times are tz-aware UTC datetimes; seconds are floats."""

    local_id: str
    """agentnb's id for the run (for a remote listing: the platform's run id)."""
    run_id: str | None
    """The platform's id for the run."""
    connection: str | None
    provider: str | None
    host: str | None
    """The base URL's host (and port): never a path, query or credentials."""
    agent: str | None
    thread_id: str | None
    message: str | None
    answer: str | None
    reasoning: str | None
    status: str
    """running, completed, failed, cancelled or interrupted (remote: the platform's word)."""
    error_code: str | None
    error_message: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None
    started_at: datetime | None
    first_token_at: datetime | None
    finished_at: datetime | None
    duration: float | None
    """The agent's time: seconds from the request to the end, less :attr:`paused_seconds`
    (runs recorded before pauses were: the wall time)."""
    ttft: float | None
    """Seconds of the agent's time from the request to the first reasoning or answer token;
    None (NaN in a DataFrame) when no token came: a cancelled run's TTFT is missing, not 0."""
    tokens_per_second: float | None
    """Completion tokens per second after the first token."""
    execution_time: float | None
    """Seconds the platform says the run took, where it reports it."""
    event_count: int | None
    retries: int | None
    resumes: int | None
    tool_call_count: int | None
    model_settings: dict[str, Any] | None
    metadata: dict[str, Any] | None
    cancel_error: str | None = None
    """Why the platform could not be told to stop this cancelled run (the agent may have run
    on); None when it was told, or the run was not cancelled."""
    elapsed: float | None = None
    """Wall-clock seconds from the request to the end, pauses for a person included."""
    paused_seconds: float | None = None
    """Seconds the run waited for a person's approval; None for runs recorded before pauses
    were (and for remote listings), 0.0 when it never waited."""

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> RunRecord:
        """A record from database values in :data:`RUN_COLUMNS` order."""
        values = [_convert(kind, value) for (_, kind), value in zip(RUN_COLUMNS, row, strict=True)]
        return cls(*values)

    def to_row(self) -> tuple[Any, ...]:
        """Database values in :data:`RUN_COLUMNS` order."""
        return tuple(_unconvert(kind, getattr(self, name)) for name, kind in RUN_COLUMNS)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (times as ISO 8601 strings)."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class ToolCallRecord:
    """One tool call of a recorded run. ``arguments`` and ``output`` are text (JSON where the
    value was not a string); ``output`` is cut at :data:`agentnb._history.OUTPUT_LIMIT` bytes."""

    local_id: str
    """The run's ``local_id``."""
    call_id: str
    position: int
    """0-based order of the call within its run."""
    agent: str | None
    name: str | None
    status: str | None
    arguments: str | None
    output: str | None
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None
    duration: float | None
    question: str | None = None
    """The free-form question the agent asked on this call, if any."""
    answer: str | None = None
    """The human's answer to ``question`` (JSON where it was not a string)."""
    parent_call_id: str | None = None
    """The call inside which a sub-agent made this one; None at the top (and for calls
    recorded before the tree was)."""
    depth: int | None = None
    """How many calls this one is nested in: 0 at the top; None for calls recorded before
    the tree was."""

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> ToolCallRecord:
        values = [
            _convert(kind, value) for (_, kind), value in zip(TOOL_CALL_COLUMNS, row, strict=True)
        ]
        return cls(*values)

    def to_row(self) -> tuple[Any, ...]:
        return tuple(_unconvert(kind, getattr(self, name)) for name, kind in TOOL_CALL_COLUMNS)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value

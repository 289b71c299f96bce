"""A run as the history keeps it: the columns, the records, the rows made from a `Run` or a
platform's listing (every text scrubbed on the way in: secrets redacted, valid UTF-8, tool
payloads cut to :data:`OUTPUT_LIMIT`), and the one check of what is read back: a malformed
field is read as empty and its row flagged; a figure outside its sane range
(:data:`FIGURE_RANGES`, :func:`sane_sql` in every query that sums or ranks) is no figure."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol
from urllib.parse import urlsplit

from pydantic_core import from_json

from .._core.exceptions import ConfigurationError, HistoryError
from .._core.pricing import (
    MAX_COST_USD,
    MAX_TOKENS,
    price_call,
    price_run,
    refused_list,
    usd,
)
from .._core.request import RunRequest
from .._core.run import TERMINAL_STATUSES, OldExtraNames, Run, ToolCall
from .._core.secrets import redact, redact_credentials, redact_pieces
from .._core.short_repr import as_html, one_line
from .._core.text import counted, seconds
from .._core.trace_ids import run_trace_id
from ..events import Usage

if TYPE_CHECKING:
    from ..providers import RemoteRun

__all__ = [
    "CHECKPOINT_TEXT_LIMIT",
    "FIGURE_RANGES",
    "LONG_TEXT_COLUMNS",
    "MALFORMED_COLUMN",
    "MAX_SCORE",
    "MAX_SECONDS",
    "ORIGIN_COLUMN",
    "OUTPUT_LIMIT",
    "RUN_COLUMNS",
    "SNIPPET_COLUMN",
    "TOOL_CALL_COLUMNS",
    "ColumnKind",
    "LongText",
    "RunRecord",
    "ToolCallRecord",
    "as_text",
    "call_records_of",
    "checked_columns",
    "checked_rows",
    "column_sql",
    "end_values",
    "host_of",
    "progress_values",
    "read_json",
    "read_time",
    "redact_error",
    "redacted",
    "remote_row",
    "run_row",
    "sane_range_sql",
    "sane_score_row_sql",
    "sane_score_sql",
    "sane_sql",
    "start_values",
    "storable",
    "storable_row",
    "storable_text",
    "text_length",
    "to_json",
    "tool_rows",
    "truncate",
]

# ---- the columns and the records -----------------------------------------------------

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
    ("model", "category"),
    ("cost_usd", "float"),
    ("cost_source", "category"),
    ("unapproved_calls", "int"),
    ("elapsed", "float"),
    ("paused_seconds", "float"),
    ("refused_figures", "text"),
    ("finish_reason", "category"),
    ("extras", "json"),
    ("imported", "int"),
)
"""The run columns, in the order the store selects them and DataFrames show them."""

SNIPPET_COLUMN: tuple[str, ColumnKind] = ("snippet", "text")
"""The column a search adds after ``RUN_COLUMNS``: where the words matched, in context, each
match between « and »."""

ORIGIN_COLUMN: tuple[str, ColumnKind] = ("origin", "category")
"""The column a history joined with a platform's listing adds last
(:meth:`~agentnb.history.RunHistory.with_remote`): ``local`` (recorded here only), ``remote`` (on
the platform only: made from another notebook or the platform's UI) or ``both``."""

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
    ("decided_by", "category"),
    ("unapproved", "text"),
    ("prompt_tokens", "int"),
    ("completion_tokens", "int"),
    ("total_tokens", "int"),
    ("model", "category"),
    ("cost_usd", "float"),
    ("cost_source", "category"),
    ("arguments_changed", "int"),
    ("protocol_error", "text"),
    ("ran_by", "category"),
)
"""The tool-call columns. ``agent`` is the agent that made the call: a sub-agent's name for
a nested call, else the run's agent (also for calls recorded before calls had agents).
``decided_by`` and ``unapproved`` say who decided on a call that asked for approval, and why
it ran without the user's approval (see :class:`ToolCallRecord`). The tokens, ``model`` and
cost are a sub-agent's inside the call, where the platform reports usage per call.
``arguments_changed`` and ``protocol_error`` say whether the platform reported other arguments
for a call after it was shown for approval, and why agentnb denied a call no decision could
be bound to."""


def to_datetime(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def to_seconds(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def read_json(value: object, what: str) -> Any:
    """``value`` from a JSON column, parsed: the one reader of every JSON column. A
    :class:`HistoryError` saying ``what`` it is when it is not the JSON agentnb writes: not
    text, not JSON, nested past 200 levels or a number past 4,300 digits (the parser's
    bounds, so no file can make it recurse or work without end)."""
    if type(value) is not str:
        raise HistoryError(f"{what} in the run history is {type(value).__name__}, not JSON text")
    try:
        return from_json(value)
    except ValueError as exc:
        raise HistoryError(
            f"{what} in the run history is not the JSON agentnb writes: {exc}"
        ) from None


def read_time(value: object, what: str) -> datetime:
    """Unix seconds from the file as a UTC datetime; a HistoryError saying ``what`` it is
    when it is no time agentnb writes (see :data:`EARLIEST`, :data:`LATEST`)."""
    if isinstance(value, int | float) and type(value) is not bool and EARLIEST <= value <= LATEST:
        return datetime.fromtimestamp(value, UTC)
    raise HistoryError(f"{what} in the run history is no time agentnb writes: {value!r:.40}")


def load_json(text: str | None) -> Any:
    """A run's JSON field: its value, or the text itself when it is not JSON (the row's check
    flags it malformed)."""
    if text is None:
        return None
    try:
        return read_json(text, "a run's field")
    except HistoryError:
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


ColumnSpec = Sequence[tuple[str, ColumnKind]]
"""Columns by name and kind, in a row's order (:data:`RUN_COLUMNS`, :data:`TOOL_CALL_COLUMNS`)."""


def _fields_of(row: Sequence[object], columns: ColumnSpec) -> dict[str, Any]:
    return {name: _convert(kind, value) for (name, kind), value in zip(columns, row, strict=True)}


def _row_of(record: object, columns: ColumnSpec) -> tuple[Any, ...]:
    return tuple(_unconvert(kind, getattr(record, name)) for name, kind in columns)


@dataclass(frozen=True, slots=True)
class RunRecord(OldExtraNames):
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
    model: str | None = None
    """The model that ran (as the stream named it, else as the request set it), where known."""
    cost_usd: float | None = None
    """What the run cost in USD (:attr:`agentnb.Run.cost`); None when it cannot be known."""
    cost_source: str | None = None
    """Where ``cost_usd`` came from: ``platform``, ``custom`` or ``genai-prices``."""
    unapproved_calls: int | None = None
    """How many of the run's calls ran without the user's approval (a server's own approval,
    a call run although denied, or with other arguments than were shown); None for runs
    recorded before this was."""
    elapsed: float | None = None
    """Wall-clock seconds from the request to the end, pauses for a person included."""
    paused_seconds: float | None = None
    """Seconds the run waited for a person's approval; None for runs recorded before pauses
    were (and for remote listings), 0.0 when it never waited."""
    refused_figures: str | None = None
    """The figures the platform reported outside their sane range, refused when the run was
    recorded (``cost=1e+308, prompt_tokens=...``: :attr:`agentnb.Run.refused_figures`), and
    those of the file's row outside it, left out of summaries; None when there were none."""
    finish_reason: str | None = None
    """Why the platform ended the answer, in its word (``stop``, ``length``, ``max_tokens``:
    :attr:`agentnb.Run.finish_reason`); None for runs recorded before it was kept."""
    extras: dict[str, Any] | None = None
    """What the run's dialect said of it beside what every run has (:attr:`agentnb.Run.extras`:
    an ACP session's ``mode``, ``config`` and ``plan``); None where it said nothing."""
    imported: int | None = None
    """1 for a turn imported from the agent's own past session
    (``conn.acp.import_session``), not run here; None for a run of agentnb's."""
    malformed: str | None = None
    """Which fields of the file's row were malformed (text where a number goes, a time out
    of range, JSON that does not parse) and were read as None; None for a sound row."""
    _calls: CallSource | None = field(default=None, repr=False, compare=False)
    """Where the run's tool calls are read: the history (a table, a store) the record came
    from; None for a record made by hand."""
    _tool_calls: list[ToolCall] | None = field(default=None, init=False, repr=False, compare=False)
    """The calls, once read."""

    @property
    def tool_calls(self) -> list[ToolCall]:
        """The run's tool calls as its ``Run`` has them (``run.tool_calls``): each call's
        name, arguments and output (parsed where they are JSON), status, error, duration,
        approval, and ``ran_by="client"`` for a call a notebook function ran. Read from the
        history the record came from the first time they are asked for, then kept; a
        table's record reads those of every run of its block of 500 rows at once, so
        iterating a table reads them a block at a time. A platform's listing has none."""
        calls = self._tool_calls
        if calls is None:
            if self._calls is None:
                raise ConfigurationError(
                    "this record was not read from a history, so its tool calls are not "
                    "known: read it with agentnb.runs(...) or HistoryStore(path).get(local_id)"
                )
            calls = self._calls.tool_calls(self)
            object.__setattr__(self, "_tool_calls", calls)
        return calls

    def __getstate__(self) -> list[Any]:
        # where the calls are read (a store) stays in this process: the calls go instead
        if self._calls is not None:
            self.tool_calls  # noqa: B018 (the property reads them)
        return [None if f.name == "_calls" else getattr(self, f.name) for f in fields(self)]

    def __setstate__(self, state: list[Any]) -> None:
        for f, value in zip(fields(self), state, strict=True):
            object.__setattr__(self, f.name, value)

    def __repr__(self) -> str:
        """One line: the agent, status, time, calls, cost and the run's id (every column is
        a field: ``record.answer``, ``record.to_dict()``)."""
        facts = [
            seconds(self.duration),
            counted(self.tool_call_count, "tool call") if self.tool_call_count is not None else "",
            usd(self.cost_usd) if self.cost_usd is not None else "",
            f"error {self.error_code}" if self.error_code else "",
            f"local_id={self.local_id!r}",
        ]
        return one_line("RunRecord", self.agent, self.status, facts)

    def _repr_html_(self) -> str:
        return as_html(repr(self), self.error_message or self.answer)

    @property
    def trace_id(self) -> str:
        """The id of the trace this run is exported as (``export_traces``; traced live too
        unless it ran inside a span of the caller's), 32 hex digits: what a collector finds
        it by."""
        return f"{run_trace_id(self.local_id):032x}"

    @property
    def text(self) -> str:
        """The answer's text, as a ``Run`` and a handle name it (``""`` when none): the one
        name an evaluator can use on every run it is handed; ``answer`` is the column."""
        return self.answer or ""

    @classmethod
    def from_row(
        cls,
        row: Sequence[object],
        *,
        malformed: str | None = None,
        calls: CallSource | None = None,
    ) -> RunRecord:
        """A record from database values in :data:`RUN_COLUMNS` order, whose tool calls
        ``calls`` gives."""
        return cls(**_fields_of(row, RUN_COLUMNS), malformed=malformed, _calls=calls)

    def to_row(self) -> tuple[Any, ...]:
        """Database values in :data:`RUN_COLUMNS` order."""
        return _row_of(self, RUN_COLUMNS)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (times as ISO 8601 strings; ``malformed`` only for a row that
        was)."""
        values = {
            f.name: _jsonable(getattr(self, f.name)) for f in fields(self) if f.name[0] != "_"
        }
        if self.malformed is None:
            del values["malformed"]
        return values


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
    decided_by: str | None = None
    """Who decided on a call that asked for approval: ``user``, ``policy`` (the user's
    ``approve=``) or ``server`` (the platform itself, never the user); None for a call that
    asked nothing, one still undecided, and calls recorded before decisions were."""
    unapproved: str | None = None
    """Why the call ran without the user's approval (``approved by the server itself, not by
    you``, ``it ran although it was denied``, ...); None when it did not."""
    prompt_tokens: int | None = None
    """The prompt tokens the sub-agent inside this call spent (its own model calls: the
    calls it made carry theirs), where the platform reports usage per call; else None."""
    completion_tokens: int | None = None
    """The sub-agent's completion tokens, where the platform reports them per call."""
    total_tokens: int | None = None
    """The sub-agent's tokens in all, where the platform reports them per call."""
    model: str | None = None
    """The model the sub-agent ran, where the platform names it."""
    cost_usd: float | None = None
    """What the sub-agent's model calls cost in USD, priced as a run is (the platform's
    figure, a custom price or genai-prices); None when unknown (never 0)."""
    cost_source: str | None = None
    """Where ``cost_usd`` came from: ``platform``, ``custom`` or ``genai-prices``."""
    arguments_changed: int | None = None
    """1 when the platform reported other arguments (or another name) for the call after it
    was shown for approval, 0 when it did not; None for a call that asked nothing, and calls
    recorded before this was."""
    protocol_error: str | None = None
    """Why agentnb denied the call whatever was answered (its approval id also named another
    call, or its arguments changed before the decision was sent); None when it did not."""
    ran_by: str | None = None
    """``client`` for a call a notebook function ran (a client tool); None: the platform."""

    def __repr__(self) -> str:
        """One line: the tool, status, time and where it belongs (arguments and output are
        fields)."""
        facts = [seconds(self.duration), f"call_id={self.call_id!r}", f"run {self.local_id!r}"]
        return one_line("ToolCallRecord", self.name, self.status, facts)

    def _repr_html_(self) -> str:
        return as_html(repr(self), None)

    @classmethod
    def from_row(cls, row: Sequence[object]) -> ToolCallRecord:
        return cls(**_fields_of(row, TOOL_CALL_COLUMNS))

    def to_row(self) -> tuple[Any, ...]:
        return _row_of(self, TOOL_CALL_COLUMNS)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}


class CallSource(Protocol):
    """Where a record reads its run's tool calls (the history it came from)."""

    def call_records(self, local_id: str) -> list[ToolCallRecord]:
        """The run's calls as the history keeps them."""
        ...

    def tool_calls(self, record: RunRecord) -> list[ToolCall]:
        """The run's calls as its ``Run`` has them."""
        ...


def call_records_of(record: RunRecord) -> list[ToolCallRecord] | None:
    """``record``'s tool calls as the history keeps them (``runs().tool_calls()``'s rows),
    read where the record came from; None for a record that does not say where."""
    source = record._calls
    return None if source is None else source.call_records(record.local_id)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


# ---- scrubbing: what goes into a row is safe and bounded -----------------------------

OUTPUT_LIMIT: Final = 64 * 1024
"""Tool-call arguments and outputs are stored up to this many UTF-8 bytes, then cut."""
_INT64_LOW: Final = -(2**63)
_INT64_HIGH: Final = 2**63 - 1


def redact_error(text: str | None) -> str | None:
    """An error message without known secrets or anything shaped like a credential."""
    return redact_credentials(text) if text else text


@functools.lru_cache(maxsize=64)  # every run of a connection asks for the same one
def host_of(base_url: str | None) -> str | None:
    """The host (and port) of a base URL: no scheme, credentials, path or query."""
    if not base_url:
        return None
    try:
        parts = urlsplit(base_url if "//" in base_url else f"//{base_url}")
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}" if port is not None else host


def as_text(value: Any) -> str | None:
    """A tool argument or output as text: strings as they are, anything else as JSON."""
    if value is None or isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:  # circular structures, ints too long to write out
        return f"<{type(value).__name__} that cannot be shown as JSON>"


def truncate(text: str | None, limit: int = OUTPUT_LIMIT) -> str | None:
    """``text`` cut to ``limit`` UTF-8 bytes, with a marker saying how much there was."""
    if text is None or len(text) <= limit // 4:
        return text
    data = text.encode("utf-8", "replace")
    if len(data) <= limit:
        return text
    kept = data[:limit].decode("utf-8", "ignore")
    return f"{kept}\n…[truncated by agentnb: {len(data)} bytes, first {limit} kept]"


def storable_text(text: str | None) -> str | None:
    """Text safe to store: secrets redacted, lone surrogates (invalid UTF-8) replaced."""
    if not text:
        return text
    return clean_text(redact(text))


def redacted(text: str | None) -> str | None:
    """``text`` without known secrets, for a row whose values :func:`storable_row` binds
    (which repairs the text: it is cleaned there once, not twice)."""
    return redact(text) if text else text


def storable(value: Any) -> Any:
    """A value SQLite can bind: an integer past its 64 bits or a NaN/infinite float (a
    server's nonsense usage figures) becomes None, text with lone surrogates is repaired,
    so one odd figure never costs the whole row."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, int):  # a bool too, always in range
        return value if _INT64_LOW <= value <= _INT64_HIGH else None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return value


def storable_row(values: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(map(storable, values))


def clean_text(text: str) -> str:
    """``text`` with lone surrogates (invalid UTF-8) replaced."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


# ---- a Run as row values: at its start, at checkpoints, at its end -------------------


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
        "message": redacted(run.message or (request.message if request is not None else "")),
        "status": "running",
        "started_at": run.started_at or run.created_at,
        "model_settings": to_json(settings) if settings else None,
        "metadata": redacted(to_json(metadata)) if metadata else None,
        "model": run.model,
        "event_count": 0,
        "retries": 0,
        "resumes": 0,
    }


CHECKPOINT_TEXT_LIMIT: Final = 1024 * 1024
"""The longest answer (and reasoning), in characters, a checkpoint writes and a run's row
holds. Past it a checkpoint leaves the row's text as the last one wrote it, and the run's
end writes that many characters into the row and the rest apart (:class:`LongText`):
rewriting a long answer every few seconds made a copy of all of it each time (Python's
join, SQLite's bound value and record), which the process kept after the run. The search
index reads the row: it holds the first this many characters of each text."""


def progress_values(run: Run, text_limit: int | None = None) -> dict[str, Any]:
    """The columns a checkpoint of a running run refreshes: the answer and the reasoning
    only while they are no longer than ``text_limit`` characters (None: at any length),
    measured without joining them."""
    values = _so_far(run)
    for column, kind in _TEXT_COLUMNS:
        if text_limit is None or text_length(run, kind) <= text_limit:
            values[column] = stored_text(run, kind, long_text=True)
    return values


def _so_far(run: Run) -> dict[str, Any]:
    """The columns a checkpoint refreshes and the run's end writes again."""
    return {
        "run_id": run.run_id,
        "thread_id": run.thread_id,
        "first_token_at": run.first_token_at,
        "event_count": run.event_count,
        "retries": run.retries,
        "resumes": run.resumes,
        "tool_call_count": len(run.tool_calls),
        "unapproved_calls": len(run.unapproved_calls),
    }


def text_length(run: Run, kind: Literal["text", "reasoning"]) -> int:
    """How long the run's answer (``text``) or reasoning is, without joining it."""
    return sum(part.length for part in run.parts if part.kind == kind)


_TEXT_COLUMNS: Final[tuple[tuple[str, Literal["text", "reasoning"]], ...]] = (
    ("answer", "text"),
    ("reasoning", "reasoning"),
)
WRITE_PIECE: Final = 256 * 1024
"""Characters of a long text redacted, encoded and written at a time."""


class LongText:
    """A run's answer or reasoning longer than :data:`CHECKPOINT_TEXT_LIMIT`, as the history
    stores it (secrets redacted, lone surrogates replaced): its first that many characters
    (``head``, which its row holds) and the rest's UTF-8 (``rest()``, written apart piece by
    piece, ``rest_size`` bytes), never joined into one string (a joined answer, and SQLite's
    copy of it bound as one value, cost the process two copies of it)."""

    __slots__ = ("_pieces", "head", "rest_size")

    def __init__(self, pieces: list[str]) -> None:
        self._pieces = pieces
        head: list[str] = []
        self.rest_size = 0
        for text, in_head in self._cut():
            if in_head:
                head.append(text)
            else:
                self.rest_size += len(text.encode("utf-8", "replace"))
        self.head = "".join(head)

    def rest(self) -> Iterator[bytes]:
        """The UTF-8 of the stored text past ``head``, a piece at a time."""
        for text, in_head in self._cut():
            if not in_head:
                yield text.encode("utf-8", "replace")  # as clean_text repairs it

    def _cut(self) -> Iterator[tuple[str, bool]]:
        """The stored text a piece at a time, each piece in the head or past it."""
        windows = (
            piece[start : start + WRITE_PIECE]
            for piece in self._pieces
            for start in range(0, len(piece), WRITE_PIECE)
        )
        left = CHECKPOINT_TEXT_LIMIT
        for text in redact_pieces(windows):
            if left > 0:
                yield text[:left], True
                text, left = text[left:], left - len(text)
            if text:
                yield text, False


def stored_text(run: Run, kind: Literal["text", "reasoning"], *, long_text: bool) -> Any:
    """The run's answer (``text``) or reasoning as a row stores it (None when empty); with
    ``long_text``, a :class:`LongText` when it is longer than :data:`CHECKPOINT_TEXT_LIMIT`."""
    if long_text and text_length(run, kind) > CHECKPOINT_TEXT_LIMIT:
        return LongText(
            [piece for part in run.parts if part.kind == kind for piece in part.pieces()]
        )
    return redacted(run.text if kind == "text" else run.reasoning) or None


def column_sql(name: str) -> str:
    """The ``runs`` column ``name`` as every reader selects it: an answer or a reasoning
    whole, the row's part and the rest kept apart (``run_texts``, since
    ``m026_long_texts_apart``)."""
    column = f"runs.{name}"
    if name not in LONG_TEXT_COLUMNS:
        return column
    rest = f"(SELECT rest FROM run_texts WHERE local_id = runs.local_id AND field = '{name}')"
    # A file without a long text (the test is made once a statement) looks up no rest per run.
    return (
        f"CASE WHEN EXISTS (SELECT 1 FROM run_texts) THEN coalesce({column} || {rest}, "
        f"{column}) ELSE {column} END"
    )


LONG_TEXT_COLUMNS: Final = tuple(name for name, _ in _TEXT_COLUMNS)
"""The ``runs`` columns whose text past :data:`CHECKPOINT_TEXT_LIMIT` is kept apart, in
``run_texts``."""


def end_values(run: Run, *, long_text: bool = False) -> dict[str, Any]:
    """The columns known when the run has ended (a run still going counts as interrupted);
    with ``long_text``, a long answer or reasoning is a :class:`LongText` (the writer's)."""
    usage, error, priced = run.usage, run.error, run.priced
    return {
        **_so_far(run),
        "answer": stored_text(run, "text", long_text=long_text),
        "reasoning": stored_text(run, "reasoning", long_text=long_text),
        "status": run.status if run.status in TERMINAL_STATUSES else "interrupted",
        "error_code": redact_error(error.code) if error else None,
        "error_message": redact_error(error.message) if error else None,
        "prompt_tokens": usage.prompt_tokens if usage else None,
        "completion_tokens": usage.completion_tokens if usage else None,
        "total_tokens": usage.total_tokens if usage else None,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration": run.duration if _ended(run) else None,
        "elapsed": run.elapsed if _ended(run) else None,
        "paused_seconds": run.paused_time,
        "ttft": run.ttft,
        "tokens_per_second": run.tokens_per_second,
        "execution_time": run.execution_time,
        "cancel_error": redact_error(run.cancel_error),
        "model": run.model,
        "cost_usd": priced.usd,
        "cost_source": priced.source,
        "refused_figures": redacted(refused_list(usage)) if usage else None,
        "finish_reason": run.finish_reason,
        "extras": redacted(to_json(run.extras)) if run.extras else None,
        "imported": 1 if run.imported else None,
    }


def run_row(
    run: Run, request: RunRequest | None = None, base_url: str | None = None
) -> tuple[Any, ...]:
    """The run's values in ``RUN_COLUMNS`` order, for a history built without a store."""
    values = start_values(run, request, base_url)
    if run.done:
        values.update({k: v for k, v in end_values(run).items() if v is not None})
    return storable_row(values.get(name) for name, _ in RUN_COLUMNS)


def tool_rows(run: Run) -> list[tuple[Any, ...]]:
    """The run's tool calls in ``TOOL_CALL_COLUMNS`` order, storable."""
    return [
        storable_row(_tool_row(run, position, call)) for position, call in enumerate(run.tool_calls)
    ]


def _tool_row(run: Run, position: int, call: ToolCall) -> tuple[Any, ...]:
    arguments = call.arguments if call.arguments is not None else (call.arguments_text or None)
    return (
        run.local_id,
        call.call_id,
        position,
        truncate(redacted(call.agent)) if call.agent else run.agent or None,
        call.name or None,
        call.status,
        truncate(redacted(as_text(arguments))),
        truncate(redacted(as_text(call.output))),
        truncate(redact_error(call.error)),
        call.started_at or None,
        call.finished_at,
        call.duration,
        *_question_and_answer(call),
        call.parent_call_id,
        call.depth,
        call.approval.decided_by if call.approval is not None else None,
        call.unapproved,
        *_usage_values(call),
        int(call.approval.arguments_changed) if call.approval is not None else None,
        redacted(call.approval.protocol_error) if call.approval is not None else None,
        call.ran_by,
    )


def _usage_values(call: ToolCall) -> tuple[Any, ...]:
    """A call's tokens, model, cost and its source (the last six tool-call columns)."""
    usage = call.usage if isinstance(call.usage, Usage) else None
    if usage is None:
        return (None, None, None, call.model, None, None)
    cost = price_call(call)
    return (
        usage.prompt_tokens,
        usage.completion_tokens,
        usage.total_tokens,
        call.model,
        cost.usd,
        cost.source,
    )


def _question_and_answer(call: ToolCall) -> tuple[str | None, str | None]:
    """The call's question and the human's answer, cleaned and cut like other text."""
    approval = call.approval
    if approval is None or approval.question is None:
        return None, None
    answer = None if approval.answer is None else truncate(redacted(as_text(approval.answer)))
    return truncate(redacted(approval.question)), answer


def _ended(run: Run) -> bool:
    return run.started_at is not None and run.finished_at is not None


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


# ---- a platform's listed run (SeekrFlow list runs, Operativus status) as a row -------

_STATUS_WORDS = {
    "canceled": "cancelled",
    "succeeded": "completed",
    "success": "completed",
    "complete": "completed",
    "done": "completed",
    "error": "failed",
    "errored": "failed",
    "in_progress": "running",
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
    """One listed run in ``RUN_COLUMNS`` order, priced from the listing's usage and model
    (or the platform's own cost) at its start."""
    started = parse_time(run.started_at) or parse_time(run.created_at)
    finished = parse_time(run.finished_at)
    cost = price_run(run.model, _listed_usage(run), started)
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
        "error_message": storable_text(_error_text(error)),
        "prompt_tokens": run.prompt_tokens,
        "completion_tokens": run.completion_tokens,
        "total_tokens": _total(run),
        "model": run.model,
        "cost_usd": cost.usd,
        "cost_source": cost.source,
        "started_at": started,
        "finished_at": finished,
        "duration": max(0.0, finished - started) if started and finished else None,
        "metadata": storable_text(to_json(metadata)) if isinstance(metadata, Mapping) else None,
        "answer": storable_text(output) if isinstance(output := raw.get("output"), str) else None,
        "execution_time": _number(raw.get("executionTime", raw.get("execution_time"))),
    }
    return tuple(values.get(name) for name, _ in RUN_COLUMNS)


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _listed_usage(run: RemoteRun) -> Usage | None:
    """The listing's usage: whole where the dialect kept it, else its token counts."""
    if run.usage is not None:
        return run.usage
    if run.prompt_tokens is None and run.completion_tokens is None:
        return None
    return Usage(prompt_tokens=run.prompt_tokens, completion_tokens=run.completion_tokens)


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


MAX_SECONDS: Final = 10**9
"""The longest duration, time to first token or pause taken as a figure (~31 years)."""
MAX_TOOL_CALLS: Final = 10**6
"""The most tool calls of one run taken as a figure."""

MAX_SCORE: Final = 10**15
"""The largest magnitude of a score's number (a sum of a billion of them stays finite)."""

FIGURE_RANGES: Final[Mapping[str, tuple[float, float, bool]]] = {
    # column: (lowest, highest, whole numbers only)
    "prompt_tokens": (0, MAX_TOKENS, True),
    "completion_tokens": (0, MAX_TOKENS, True),
    "total_tokens": (0, MAX_TOKENS, True),
    "cost_usd": (0, MAX_COST_USD, False),
    "tool_call_count": (0, MAX_TOOL_CALLS, True),
    "paused_seconds": (0, MAX_SECONDS, False),
    "duration": (0, MAX_SECONDS, False),
    "ttft": (0, MAX_SECONDS, False),
}
"""The figures a summary reads or a run is priced by, and the range each is sane in."""


def sane_sql(column: str, row: str = "") -> str:
    """``row``'s ``column`` (``row`` an alias with its dot, ``new.``, or nothing) as SQL that
    is the value when it is a sane figure, else NULL: a number of the column's kind (never
    text, a blob, or a fraction where a count goes) within its range (never negative, never
    past the bound: an infinity neither)."""
    low, high, whole = FIGURE_RANGES[column]
    value = f"{row}{column}"
    kinds = "'integer'" if whole else "'integer', 'real'"
    return (
        f"CASE WHEN typeof({value}) IN ({kinds}) AND {value} BETWEEN {low} AND {high} "
        f"THEN {value} END"
    )


def sane_range_sql(column: str, row: str = "") -> str:
    """A condition true when ``row``'s ``column``, a column of fractional figures (REAL
    affinity: a duration, a time to first token), is sane: the same test as
    :func:`sane_sql`, written as a range an index can seek to. Exact for such a column,
    since SQLite orders every number before any text or blob, and keeps no NaN."""
    low, high, whole = FIGURE_RANGES[column]
    if whole:
        raise ValueError(f"{column} holds whole numbers: a range would let a fraction in")
    return f"{row}{column} BETWEEN {low} AND {high}"


def sane_score_sql(alias: str = "s") -> str:
    """The number of the ``scores`` row ``alias`` as SQL when it is sane, else NULL: a
    number of at most :data:`MAX_SCORE` in magnitude, a bool's 0 or 1 (a label has none)."""
    number, kind = f"{alias}.number", f"{alias}.kind"
    return (
        f"CASE WHEN {kind} = 'bool' THEN CASE WHEN {number} IN (0, 1) THEN {number} END "
        f"WHEN typeof({number}) IN ('integer', 'real') AND abs({number}) <= {MAX_SCORE} "
        f"THEN {number} END"
    )


def sane_score_row_sql(alias: str = "s") -> str:
    """A condition keeping the ``scores`` rows whose value is sane: a label, or a sane
    number (:func:`sane_score_sql`); any other row is no score to a read or a summary."""
    return f"({alias}.kind = 'label' OR {sane_score_sql(alias)} IS NOT NULL)"


MALFORMED_COLUMN: tuple[str, ColumnKind] = ("malformed", "text")
"""The column a read adds when a row holds a malformed value: which fields were left out,
and why (None in the other rows)."""
EARLIEST: Final = 0.0
LATEST: Final = 2.0**33
"""Times outside 1970 .. 2242 are malformed (pandas' datetimes end in 2262)."""
LARGEST_COUNT: Final = 2**53
"""A count past this is malformed (it would not survive a float64)."""
_TEXT: Final = frozenset({str, type(None)})
_NUMBER: Final = frozenset({int, float, type(None)})
_EXPECTED: Final[dict[str, str]] = {
    "id": "text",
    "text": "text",
    "category": "text",
    "json": "JSON text",
    "int": "a whole number",
    "float": "a number",
    "time": "a time (unix seconds, 1970 to 2242)",
}


def checked_columns(
    columns: Mapping[str, Sequence[Any]],
    spec: ColumnSpec,
    parsed: dict[str, Any] | None = None,
) -> dict[str, Sequence[Any]]:
    """``columns`` (one sequence per name of ``spec``) with each malformed value None, and
    the :data:`MALFORMED_COLUMN` when some row held one. ``parsed`` gets the JSON texts
    read, each with its value (a frame takes them there instead of parsing them again)."""
    out: dict[str, Sequence[Any]] = dict(columns)
    notes: dict[int, list[str]] = {}
    ranges: Ranges = {}
    for name, kind in spec:
        values = columns.get(name)
        if values is None:
            continue
        bad = _bad_rows(kind, values, ranges, {} if parsed is None else parsed)
        if not bad:
            continue
        kept = list(values)
        for i in bad:
            notes.setdefault(i, []).append(f"{name}: {_shown(kept[i])} is not {_EXPECTED[kind]}")
            kept[i] = None
        out[name] = kept
    if notes:
        rows = len(next(iter(columns.values()))) if columns else 0
        out[MALFORMED_COLUMN[0]] = [
            "; ".join(notes[i]) if i in notes else None for i in range(rows)
        ]
    if REFUSED in out:
        _note_refused(out, [name for name, _ in spec if name in FIGURE_RANGES], ranges)
    return out


REFUSED: Final = "refused_figures"
"""The run column that says which figures were refused: when the run was recorded, and
(added on reading) those of the row outside their sane range, kept as they are."""


def _note_refused(
    columns: dict[str, Sequence[Any]], figures: Sequence[str], ranges: Ranges
) -> None:
    """Add to each row's ``refused_figures`` its well-formed figures outside their sane range
    (a summary leaves them out; the row keeps them, so nothing is lost)."""
    found: dict[int, list[str]] = {}
    for name in figures:
        values = columns.get(name)
        if values is None:
            continue
        low, high, _ = FIGURE_RANGES[name]
        bounds = _bounds(values, ranges)
        if bounds is None or (low <= bounds[0] and bounds[1] <= high):
            continue
        for i, value in enumerate(_items(values)):
            if value is not None and not low <= value <= high:
                found.setdefault(i, []).append(f"{name}={value!r} (in the file)")
    if found:
        kept = list(columns[REFUSED])
        for i, notes in found.items():
            kept[i] = ", ".join([*([kept[i]] if kept[i] else []), *notes])
        columns[REFUSED] = kept


def checked_rows(rows: Sequence[tuple[Any, ...]], spec: ColumnSpec) -> list[tuple[Any, ...]]:
    """Rows (in ``spec`` order) with each malformed value None."""
    if not rows:
        return list(rows)
    names = [name for name, _ in spec]
    columns = dict(zip(names, zip(*rows, strict=True), strict=True))
    checked = checked_columns(columns, spec)
    if checked is columns or all(checked[name] is columns[name] for name in names):
        return list(rows)
    return list(zip(*(checked[name] for name in names), strict=True))


def _bad_rows(
    kind: ColumnKind, values: Sequence[Any], ranges: Ranges, parsed: dict[str, Any]
) -> list[int]:
    """The rows whose value in a column of ``kind`` is malformed (usually none, found fast)."""
    types = _types(values)
    if kind in ("id", "text", "category"):
        if types <= _TEXT:
            return []
        return [i for i, value in enumerate(_items(values)) if type(value) not in _TEXT]
    if kind == "json":
        if types <= _TEXT and _all_parse(set(_items(values)) - {None}, parsed):
            return []
        return [i for i, value in enumerate(_items(values)) if not _is_json(value)]
    if types <= _NUMBER and _in_range(kind, values, types, ranges):
        return []
    return [i for i, value in enumerate(_items(values)) if not _is_number(kind, value)]


_INFERRED_FROM: Final = 10_000
_INFERRED: Final[Mapping[str, frozenset[type]]] = {
    "empty": frozenset(),
    "string": frozenset({str}),
    "integer": frozenset({int}),
    "floating": frozenset({float}),
    "mixed-integer-float": frozenset({int, float}),
}


def _types(values: Sequence[Any]) -> frozenset[type]:
    """The types of a column's values (a missing one left out, or as ``NoneType``): for a
    large numpy column, by pandas' type inference (one pass in C, no call per value)."""
    if len(values) >= _INFERRED_FROM and hasattr(values, "dtype"):
        try:
            from pandas.api.types import infer_dtype  # optional: only to look faster
        except ImportError:
            pass
        else:
            found = _INFERRED.get(infer_dtype(values, skipna=True))
            if found is not None:
                return found
    return frozenset(map(type, _items(values)))


def _items(values: Sequence[Any]) -> Sequence[Any]:
    tolist = getattr(values, "tolist", None)  # a numpy column: its items read once, in C
    return tolist() if tolist is not None else values


Ranges = dict[int, "tuple[Any, Any] | None"]
"""The bounds of the columns of numbers a check has read, by the column's id."""


def _bounds(column: Sequence[Any], ranges: Ranges) -> tuple[Any, Any] | None:
    """The lowest and highest of a column of numbers and None (None: no number): in C for a
    numpy column whose numbers a float holds exactly (counts and times far below 2**53);
    kept in ``ranges``, read once."""
    if id(column) not in ranges:
        ranges[id(column)] = _read_bounds(column)
    return ranges[id(column)]


def _read_bounds(column: Sequence[Any]) -> tuple[Any, Any] | None:
    if hasattr(column, "astype"):
        import numpy as np  # a numpy column: numpy is there

        try:
            floats = column.astype("float64")
        except OverflowError:  # an int past a float's range: compared exactly below
            floats = None
        if floats is not None:
            if np.isnan(floats).all():
                return None
            low, high = np.nanmin(floats), np.nanmax(floats)
            if low > -LARGEST_COUNT and high < LARGEST_COUNT:
                return float(low), float(high)
    numbers = [value for value in _items(column) if value is not None]
    return (min(numbers), max(numbers)) if numbers else None


def _in_range(
    kind: ColumnKind, column: Sequence[Any], types: frozenset[type], ranges: Ranges
) -> bool:
    bounds = _bounds(column, ranges)
    if bounds is None:
        return True
    low, high = bounds
    if kind == "time":
        return bool(low >= EARLIEST and high <= LATEST)
    if kind == "int":
        whole = float not in types or all(
            float(value).is_integer() for value in _items(column) if value is not None
        )
        return bool(whole and low >= -LARGEST_COUNT and high <= LARGEST_COUNT)
    return math.isfinite(low) and math.isfinite(high)


def _is_number(kind: ColumnKind, value: Any) -> bool:
    if value is None:
        return True
    if type(value) not in _NUMBER:
        return False
    return _in_range(kind, [value], frozenset({type(value)}), {})


def _all_parse(texts: Iterable[str], parsed: dict[str, Any]) -> bool:
    """Whether every text is JSON; ``parsed`` gets their values."""
    for text in texts:
        if text not in parsed:
            try:
                parsed[text] = read_json(text, "a run's field")
            except HistoryError:
                return False
    return True


def _is_json(value: Any) -> bool:
    return value is None or (type(value) is str and _all_parse([value], {}))


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"

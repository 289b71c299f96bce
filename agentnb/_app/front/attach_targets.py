"""What ``agentnb.attach`` is given, made into the run to show again.

A run can be named by its id (agentnb's local id or the platform's run id), by a history row
(:class:`~agentnb.history.RunRecord`, or a ``to_pandas()`` row), by a row of ``remote_runs()``, by a
:class:`~agentnb.providers.RemoteRun` or by a :class:`~agentnb.Run`. Whatever it is, the run
is looked up in the history, so a run recorded there is completed in its own row rather than
recorded twice; what cannot be attached (a run that has ended, a row without its run id or
agent) is refused here, before any I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..._core.exceptions import ConfigurationError
from ..._core.run import Run
from ..._history import RunHistory, RunRecord, default_store
from ...providers import RemoteRun
from .run_like import RunLike, run_of

__all__ = ["ENDED_STATUSES", "AttachTarget", "attach_target", "history_row", "refuse_if_ended"]

ENDED_STATUSES = frozenset(
    {"completed", "succeeded", "success", "failed", "error", "cancelled", "canceled", "expired"}
    | {"rejected"}
)
"""Statuses (agentnb's and the platforms') of a run that has ended: nothing to attach to."""

_FIELDS = (
    "local_id",
    "run_id",
    "agent",
    "thread_id",
    "status",
    "message",
    "connection",
    "provider",
    "started_at",
)


@dataclass(frozen=True)
class AttachTarget:
    """The run to attach to, and the history row it completes (``local_id``; None for a run
    the history does not know, which gets a row of its own)."""

    agent: str
    run_id: str
    thread_id: str | None
    local_id: str | None
    message: str
    connection: str | None
    provider: str | None
    started_at: float | None


def attach_target(target: RunLike, *, agent: str | None, thread_id: str | None) -> AttachTarget:
    """``target`` (see the module's docstring) as an :class:`AttachTarget`; raises
    :class:`ConfigurationError` for what cannot be attached."""
    if isinstance(target, str):
        found = history_row(target) if target else None
        fields: dict[str, Any] = _fields_of(found) if found else {"run_id": target}
    else:
        fields = _fields_of(target)
        remote = fields.get("local_id") in (None, fields.get("run_id"))
        run_id = fields.get("run_id")
        found = history_row(run_id) if remote and isinstance(run_id, str) and run_id else None
        if found is not None:  # a remote row of a run this history recorded: that row
            fields = {**fields, **{k: v for k, v in _fields_of(found).items() if v}}
            fields["status"] = _fields_of(found)["status"]
        elif remote:
            fields["local_id"] = None
    return _checked(fields, agent=agent, thread_id=thread_id)


def history_row(run_id: str) -> RunRecord | None:
    """The default history's row of ``run_id`` (agentnb's local id or the platform's)."""
    store = default_store()
    return store.find(run_id) if store is not None else None


def _fields_of(target: RunLike) -> dict[str, Any]:
    target = run_of(target) or target  # a handle, a stream, a chat cell: the run it holds
    if isinstance(target, RunHistory):
        if len(target) != 1:
            raise ConfigurationError(
                f"attach takes one run; this table has {len(target)}: pick a row, e.g. table[0]"
            )
        target = target[0]
    if isinstance(target, RunRecord | Run | RemoteRun):
        values = {name: getattr(target, name, None) for name in _FIELDS}
        if isinstance(target, RemoteRun):
            values["local_id"] = None
        return values
    row: object = target
    if hasattr(target, "to_dict") and not isinstance(target, Mapping):
        row = target.to_dict()  # a pandas row (a Series)
    if isinstance(row, Mapping):
        return {name: row.get(name) for name in _FIELDS}
    raise ConfigurationError(
        f"attach takes a run id, a history or remote_runs() row, a RemoteRun, a Run or a "
        f"RunHandle, not {type(target).__name__}"
    )


def _checked(fields: dict[str, Any], *, agent: str | None, thread_id: str | None) -> AttachTarget:
    run_id = _text(fields.get("run_id"))
    status = _text(fields.get("status"))
    if run_id is None:
        raise ConfigurationError(
            "this run has no platform run id (it ended before the platform named it): "
            "there is nothing to attach to"
        )
    refuse_if_ended(run_id, status)
    found_agent = agent or _text(fields.get("agent"))
    if found_agent is None:
        raise ConfigurationError(
            f"run {run_id!r} is not in the history: say which agent it belongs to, agent=..."
        )
    started = fields.get("started_at")
    return AttachTarget(
        agent=found_agent,
        run_id=run_id,
        thread_id=thread_id or _text(fields.get("thread_id")),
        local_id=_text(fields.get("local_id")),
        message=_text(fields.get("message")) or "",
        connection=_text(fields.get("connection")),
        provider=_text(fields.get("provider")),
        started_at=started.timestamp() if isinstance(started, datetime) else _seconds(started),
    )


def refuse_if_ended(run_id: str, status: str | None, *, on_platform: bool = False) -> None:
    """Raise :class:`ConfigurationError` if ``status`` (agentnb's or the platform's) says the
    run has ended: nothing streams any more."""
    if status is None or status.lower() not in ENDED_STATUSES:
        return
    where = " on the platform" if on_platform else ""
    raise ConfigurationError(
        f"run {run_id!r} has already ended{where} ({status}): nothing is streaming to attach "
        f"to. Its answer is in its history row (agentnb.runs()) or the platform's "
        f"listing (agentnb.remote_runs())"
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _seconds(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value == value:
        return float(value)
    return None

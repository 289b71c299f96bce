"""`agentnb.export_traces`: runs recorded before tracing was on (or while the collector was
away), sent as the traces they would have made, with their scores."""

from __future__ import annotations

from ..._core.exceptions import ConfigurationError
from ..._core.request import RunRequest, build_request
from ..._core.run import TERMINAL_STATUSES
from ..._history import RunRecord, default_store
from ..._tracing import export_runs
from ..front.run_like import RunLike, history_records
from .past_runs import past_run

__all__ = ["export_traces"]


def export_traces(runs: RunLike, endpoint: str | None = None, *, project: str | None = None) -> int:
    """Send the runs of the history that ``runs`` names (``agentnb.runs(...)``, a record or
    row, a pandas frame, a run id) to a collector, as traces with the spans, attributes and
    ids tracing gives a run live: a run sent twice, or traced live and sent again, is counted
    once by a collector that keeps one span per id (Phoenix). Goes where tracing sends
    spans, or to the collector at ``endpoint`` (``http://localhost:6006``); their current
    scores go along where tracing sends scores (``configure_tracing(scores="phoenix")``).
    Runs still running are left out. ``project``: the Phoenix project at ``endpoint`` they go
    to (its ``openinference.project.name``; default: Phoenix's ``default``). Each trace carries
    the run's metadata; an evaluator's run (a judge's) links to the run it graded. Returns
    how many runs were sent."""
    ended = [(r, c) for r, c in history_records([runs]) if r.status in TERMINAL_STATUSES]
    sent = [(past_run(r, calls), _request(r), f"//{r.host or ''}") for r, calls in ended]
    store = default_store()
    scores = store.scores([record.local_id for record, _ in ended]) if store and ended else []
    export_runs(sent, scores, endpoint=endpoint, project=project)
    return len(sent)


def _request(record: RunRecord) -> RunRequest:
    agent, message = record.agent or "agent", record.message or ""
    metadata = {str(key): str(value) for key, value in (record.metadata or {}).items()}
    try:
        return build_request(agent, message, metadata=metadata, **(record.model_settings or {}))
    except ConfigurationError:  # a file written by hand: the run is sent without them
        return build_request(agent, message)

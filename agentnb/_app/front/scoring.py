"""`agentnb.score`: a score, a label or a note given to a run, kept in the history (the
store's ``scores`` table, :mod:`agentnb._history._scores`)."""

from __future__ import annotations

from ..._core.exceptions import ConfigurationError
from ..._display.verdicts import verdict_kept
from ..._history import ScoreRecord, ScoreSource, ScoreValue, default_store, kept_store
from .run_like import RunLike, names_runs, run_ids

__all__ = ["VERDICT", "keep_verdict", "score", "scores"]

VERDICT = "verdict"
"""The score a person's quick verdict is kept as (a chat cell's or a run table's ✓ / ✗):
True for thumbs up."""


def score(
    run: RunLike,
    name: str,
    value: ScoreValue,
    comment: str | None = None,
    *,
    source: ScoreSource = "person",
    author: str | None = None,
) -> ScoreRecord:
    """Give a run a score: a number (``0.8``), a bool (``True``: correct) or a label
    (``"good"``), with an optional ``comment``; kept in the history with who gave it
    (``source``: ``"person"``, ``"code"`` or ``"agent"``; ``author``: a name) and when.

    ``run`` is anything :func:`agentnb.show` takes: a handle, a ``Run``, a chat cell, a
    record or row of ``agentnb.runs()``, a row of its ``.to_pandas()``, or a run id. A later
    score of the same ``name`` replaces this one as the run's current score (the earlier
    stays in ``HistoryStore.scores(history=True)``); ``runs().to_pandas()`` shows the current
    ones as columns ``score.<name>``. A bad name or value, or a run the history does not
    hold, raises :class:`~agentnb.ConfigurationError` and stores nothing."""
    if not names_runs(run):
        raise TypeError(
            "agentnb.score() takes the run to score as a RunHandle, a Run, a ChatCell, a "
            "history record or runs() row, a pandas row, or a run id, "
            f"not {type(run).__name__}"
        )
    store = kept_store("scores")
    ids = run_ids(run)
    if len(ids) != 1:
        raise ConfigurationError(
            f"agentnb.score() scores one run; {type(run).__name__} names {len(ids)}: "
            "give one row, one record or one run id"
        )
    kept = store.add_score(ids[0], name, value, comment=comment, source=source, author=author)
    if name == VERDICT and isinstance(value, bool):
        verdict_kept(ids[0], value, comment)
    return kept


def scores(
    runs: RunLike | None = None, name: str | None = None, *, history: bool = True
) -> list[ScoreRecord]:
    """The scores given to ``runs`` (anything :func:`score` takes, or ``agentnb.runs(...)``;
    None: every run), oldest first: with ``history=True`` (the default) every score given,
    the replaced ones too (who gave which value when); ``history=False`` each run's current
    one of each name. ``name`` keeps that score's only. Empty when history is off."""
    store = default_store()
    if store is None:
        return []
    if runs is not None and not names_runs(runs):
        raise TypeError(f"agentnb.scores() takes runs, not {type(runs).__name__}")
    found = store.scores(None if runs is None else run_ids(runs), history=history)
    return found if name is None else [given for given in found if given.name == name]


def keep_verdict(local_id: str, value: bool, comment: str | None) -> None:
    """A person's verdict on a run (a chat cell's ✓ / ✗ and note), kept as its score
    :data:`VERDICT` in the default history: what the chat cells agentnb makes keep it with."""
    score(local_id, VERDICT, value, comment, source="person")

"""`agentnb.compare`: the runs it is given, live or read back from the history, side by side
(the view is :mod:`agentnb._display.run_comparison`; what names a run:
:mod:`agentnb._app.front.run_like`)."""

from __future__ import annotations

from ..._core.run import Run
from ..._display.run_comparison import Comparison
from ..front.run_like import RunLike, history_records, run_of
from .past_runs import past_run

__all__ = ["compare"]


def compare(*runs: RunLike) -> Comparison:
    """Two or more runs side by side: answers diffed word by word against the first, tool
    calls aligned by name and order, tokens, cost, agent time and status.

    Each argument is a ``Run``, a history record or a ``runs()`` row, a ``runs()`` history
    or batch result (all its runs), a pandas row or frame from ``.to_pandas()``, or a run id.
    The result shows itself in a notebook (HTML, kept by nbconvert and GitHub) and as text,
    and ``.to_pandas()`` gives one row per run.
    """
    found: list[Run] = []
    for index, value in enumerate(runs):
        live = run_of(value)
        if live is not None:
            found.append(live)
        else:
            found += [past_run(*past) for past in history_records([value], first=index)]
    return Comparison(found)

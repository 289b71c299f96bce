"""A summary shown to a person (``summary()`` in a notebook, ``print(summary())``): figures
formatted (``$``, ``%``, ms or s, thousands separators, periods as dates), missing keys named
(``(no model)``), a missing figure as ``—``, and the columns that answer "what did it cost,
how fast, how reliable" first; the frame itself keeps plain numbers (``.to_pandas()``)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .._core.pricing import usd
from .._core.text import excerpt, visible
from .run_text import seconds
from .table import Cell, Column, Row, Table, in_blocks, table_html, table_text
from .terminal import terminal_width

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "fitting_columns",
    "key_label",
    "percent",
    "period_label",
    "summary_html",
    "summary_text",
]

SHARE_MEANING = "the share of the runs scored True"
"""What a bool score's mean says (its heading's hover)."""
MISSING = "—"
"""A figure that is not known (no run had it): never ``nan``, never 0."""
NAME_CHARS = 28
"""Characters of a key (an agent's or a model's name) before it is cut."""


@dataclass(frozen=True)
class Shown:
    """How one column of a summary is shown: its short heading, what it means, its format."""

    heading: str
    meaning: str
    text: Callable[[float], str]


def percent(value: float, *, signed: bool = False) -> str:
    """``95.0%``, ``97.5%``, ``0.3%``: a rate, always one decimal (a column lines up);
    ``signed``: a difference of two rates, ``+33.3%``."""
    return f"{value * 100:{'+' if signed else ''}.1f}%"


def count(value: float) -> str:
    return f"{round(value):,}"


def decimal(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def time_taken(value: float) -> str:
    """``350 ms``, ``2.3 s``, ``4 min 05 s``."""
    if value >= 60:
        minutes, rest = divmod(round(value), 60)
        return f"{minutes} min {rest:02d} s"
    return seconds(value)


COLUMNS: dict[str, Shown] = {
    "runs": Shown("runs", "runs in the group", count),
    "completed": Shown("completed", "runs that completed", count),
    "failed": Shown("failed", "runs that failed", count),
    "cancelled": Shown("cancelled", "runs cancelled", count),
    "interrupted": Shown("interrupted", "runs interrupted", count),
    "running": Shown("running", "runs still going", count),
    "success_rate": Shown("success", "completed / runs that ended", percent),
    "failure_rate": Shown("failures", "failed / runs that ended", percent),
    "tokens_total": Shown("tokens", "tokens of all runs", count),
    "tokens_mean": Shown("tokens / run", "mean tokens of a run", count),
    "cost_total": Shown("cost", "USD, over the runs whose cost is known", usd),
    "cost_mean": Shown("per run", "mean USD of a priced run", usd),
    "unpriced": Shown("unpriced", "runs with usage but no known price (not counted as $0)", count),
    "no_usage": Shown("no usage", "runs that reported no usage (their cost is not known)", count),
    "timed_runs": Shown("timed", "runs the times count", count),
    "duration_p50": Shown("time p50", "median agent time (pauses left out)", time_taken),
    "duration_p95": Shown("time p95", "95th percentile of the agent time", time_taken),
    "ttft_p50": Shown("ttft p50", "median time to first token", time_taken),
    "ttft_p95": Shown("ttft p95", "95th percentile of the time to first token", time_taken),
    "paused_total": Shown("paused", "time spent waiting for a person", time_taken),
    "tool_calls_per_run": Shown("tools / run", "mean tool calls of a run", decimal),
    "questions": Shown("questions", "the questions an experiment asks", count),
    "arms": Shown("arms", "an experiment's agents, each with each variant of the options", count),
    "cost": Shown("cost", "USD, over the runs whose cost is known", usd),
    "evaluation_runs": Shown("evaluation runs", "runs of the evaluators (a judge's)", count),
    "evaluation_cost": Shown("evaluation cost", "USD of the evaluators' runs, apart", usd),
    "calls": Shown("calls", "tool calls in the group", count),
    "time_total": Shown("time", "time spent in the calls", time_taken),
    "priced_calls": Shown("priced", "calls whose cost is known (the cost counts them)", count),
}
"""Every figure of a summary (``SUMMARY_COLUMNS``): a column not here (one added later)
is shown with its own name and as a plain number."""

ANSWER_COLUMNS = (
    "runs",
    "success_rate",
    "cost_total",
    "cost_mean",
    "duration_p50",
    "duration_p95",
)
"""The columns a summary shows first: how many, how reliable, what it cost, how fast."""
CALL_ANSWER_COLUMNS = (
    "calls",
    "failure_rate",
    "time_total",
    "duration_p50",
    "duration_p95",
    "cost_total",
    "runs",
)
"""The columns a tool calls' summary (``tool_calls().summary()``) shows first."""
SHOWN_WHEN_ANY = ("unpriced", "no_usage", "running")
"""Shown beside :data:`ANSWER_COLUMNS` when any group has one: a cost total that leaves
runs out, or runs not yet ended, must not pass unseen."""

NO_KEY = {
    "agent": "(no agent)",
    "model": "(no model)",
    "period": "(no time)",
    "name": "(unnamed)",
}
"""The label of a group whose key is missing (another key's: ``(none)``)."""


def shown_columns(frame: pd.DataFrame, columns: str | Sequence[str] | None) -> list[str]:
    """The columns shown: ``None`` the answer's (and :data:`SHOWN_WHEN_ANY` where any group
    has one, and any column a summary does not know, such as one added since), ``"all"``
    every one, else those named."""
    present = [str(name) for name in frame.columns]
    if columns == "all":
        return present
    if columns is not None:
        names = [columns] if isinstance(columns, str) else list(columns)
        unknown = [name for name in names if name not in present]
        if unknown:
            raise ValueError(f"no column {unknown} in this summary; it has {present}")
        return names
    first = CALL_ANSWER_COLUMNS if frame.attrs.get("of") == "tool calls" else ANSWER_COLUMNS
    wanted = [name for name in present if name in first]
    wanted += [name for name in SHOWN_WHEN_ANY if name in present and _any(frame[name])]
    wanted += [name for name in present if name not in COLUMNS and _first_look(name, present)]
    return [name for name in present if name in wanted]


def _first_look(column: str, present: list[str]) -> bool:
    """Whether a column a summary does not know is shown by default: yes, but of a score
    only its mean (``score.<name>``), or its labels' counts when it has no mean; how many
    runs each score counts (``score.<name>_n``) is one argument away."""
    if not column.startswith("score."):
        return True
    if column.endswith("]") and "[" in column:
        return column[: column.index("[")] not in present
    if not column.endswith("_n"):
        return True
    score = column[:-2]  # a count beside its score's mean or labels (not a score named x_n)
    return score not in present and not any(name.startswith(score + "[") for name in present)


def _any(values: Any) -> bool:
    return bool((values.fillna(0) != 0).any())


def cell_text(column: str, value: object, share: bool = False) -> str:
    """A figure as read: ``$1.25``, ``95%``, ``350 ms``, ``1,204``, a time as
    ``24 Nov 2026 14:05``, a text cut to :data:`NAME_CHARS`; ``—`` when missing. ``share``:
    the figure is a bool score's mean, the share of True (``66.7%``)."""
    if value is None or _is_missing(value):
        return MISSING
    if isinstance(value, datetime):  # pandas' Timestamp too
        return period_label(value, "hour")
    if isinstance(value, str):
        return excerpt(visible(value), NAME_CHARS)
    try:
        number = float(value)  # type: ignore[arg-type]  # anything float() takes; else shown as text
    except (TypeError, ValueError):
        return excerpt(visible(str(value)), NAME_CHARS)
    if share:
        return percent(number)
    shown = COLUMNS.get(column)
    if shown is not None:
        return shown.text(number)
    return count(number) if number.is_integer() else f"{number:,.4g}"


def period_label(start: Any, every: str | None) -> str:
    """A period by its start (UTC): ``24 Nov 2026 14:00`` (an hour), ``Tue 24 Nov 2026``
    (a day), ``week of 23 Nov 2026`` (a week, from Monday); ``(no time)`` when missing."""
    if start is None or _is_missing(start):
        return NO_KEY["period"]
    moment = start.to_pydatetime() if hasattr(start, "to_pydatetime") else start
    if not isinstance(moment, datetime):
        return visible(str(start))
    moment = moment.astimezone(UTC) if moment.tzinfo else moment
    day = f"{moment.day} {moment:%b %Y}"
    if every == "week":
        return f"week of {day}"
    if every == "hour" or (every is None and (moment.hour or moment.minute)):
        return f"{day} {moment:%H:%M}"
    return f"{moment:%a} {day}"


NO_MODEL_NOTE = (
    "(no model): runs that ended before the platform named the model that ran (a request it "
    "refused names none); no model's success counts them"
)


def _notes(frame: pd.DataFrame, hidden: int) -> list[str | None]:
    """What the times count, where runs of no model went, and where the rest is."""
    names = list(frame.index.names)
    unnamed = "model" in names and any(
        _is_missing(value) for value in frame.index.get_level_values("model")
    )
    return [
        frame.attrs.get("timed"),
        frame.attrs.get("evaluation"),
        NO_MODEL_NOTE if unnamed else None,
        _hint(hidden, frame.attrs.get("more_columns")),
    ]


def key_label(key: str | None, value: Any) -> str:
    """A group's key as read: its name (control sequences dropped), ``(no model)``, ``(no
    user)`` (for ``metadata.user``) or ``(none)`` when missing."""
    if value is None or _is_missing(value):
        if key and key.startswith("metadata."):
            return f"(no {visible(key.removeprefix('metadata.'))})"
        return NO_KEY.get(key or "", "(none)")
    return visible(str(value))


def _is_missing(value: Any) -> bool:
    try:
        return bool(value != value)  # NaN, NaT
    except (TypeError, ValueError):  # pandas.NA has no truth value
        return True


def _holds_words(values: Any) -> bool:
    """A column of text (an experiment's agents), read left to right like a key."""
    return any(isinstance(value, str) for value in values)


def _nothing(frame: pd.DataFrame) -> str:
    return f"no {frame.attrs.get('of', 'runs')} to summarise"


def _heading(column: str) -> str:
    """A column's short heading: a known figure's, a score's name without ``score.``
    (``accuracy``, ``accuracy_n``, ``verdict[good]``), else the column's name."""
    shown = COLUMNS.get(column)
    if shown is not None:
        return shown.heading
    if column.startswith("score."):
        return column.removeprefix("score.")
    return column


def _hint(hidden: int, more_columns: str | None = None) -> str | None:
    """Where the rest is: in Python, or ``more_columns``, what a command takes for them (its
    attr of that name, set by ``agentnb summary``: ``--all-columns``)."""
    noun = "column" if hidden == 1 else "columns"
    if more_columns is not None:
        return f"{hidden} more {noun}: add {more_columns}" if hidden else None
    if not hidden:
        return ".to_pandas() is the frame of plain numbers"
    return f"{hidden} more {noun}: summary(..., columns='all'); plain numbers: .to_pandas()"


TEXT_WIDTH = 80
"""The width a summary's text fits when it is not written to a terminal (a notebook's
plain text, a file): a terminal's own width otherwise."""


def text_width() -> int:
    """The columns a summary's text fits: the terminal's, else :data:`TEXT_WIDTH`."""
    return terminal_width(sys.stdout) or TEXT_WIDTH


def summary_text(
    frame: pd.DataFrame, columns: str | Sequence[str] | None = None, width: int | None = None
) -> str:
    """The summary as an aligned text table fitted to ``width`` (default :func:`text_width`),
    the note of what its times count, and where the rest is. Periods with other keys are
    sections (a line naming the period over its groups, as in the HTML table); the figures
    that do not fit beside the keys go to a block of their own under the same keys."""
    shown = table(frame, columns)
    if shown is None:
        return _nothing(frame)
    fit = (width or text_width()) - (2 if any(isinstance(r, str) for r in shown.rows) else 0)
    return "\n\n".join(table_text(block, width) for block in in_blocks(shown, fit))


def fitting_columns(
    frame: pd.DataFrame, wanted: Sequence[str], width: int | None = None
) -> list[str]:
    """Of ``wanted`` (the summary's columns, the first wanted most), those that fit beside
    its keys in one table ``width`` wide (default :func:`text_width`), in the frame's order:
    one row a group, where :func:`summary_text` would put the figures past the width in
    blocks of their own."""
    shown = table(frame, list(wanted))
    if shown is None:
        return list(wanted)
    fit = (width or text_width()) - (2 if any(isinstance(r, str) for r in shown.rows) else 0)
    first = in_blocks(shown, fit)[0]
    fitted = set(list(wanted)[: sum(not column.head for column in first.columns)])
    return [str(name) for name in frame.columns if name in fitted]


HTML_CHARS = 100
"""Characters of a notebook cell's width (848 px at JupyterLab's 13 px font, with room to
spare): the figures beyond it go to a further table under the same keys."""


def summary_html(frame: pd.DataFrame, columns: str | Sequence[str] | None = None) -> str:
    """The summary as the notebook's HTML tables, cut into blocks as the text is."""
    shown = table(frame, columns)
    if shown is None:
        return f"<div><em>{_nothing(frame)}</em></div>"
    return "".join(table_html(block) for block in in_blocks(shown, HTML_CHARS))


def table(frame: pd.DataFrame, columns: str | Sequence[str] | None) -> Table | None:
    """The summary as one table: its keys as row labels (a period with other keys as a
    section heading over its groups instead), its figures formatted (a bool score's mean,
    named in the frame's attr ``shares``, as a percent)."""
    if not len(frame):
        return None
    every = frame.attrs.get("every")
    key_names = [str(name) if name is not None else "" for name in frame.index.names]
    shown = shown_columns(frame, columns)
    shares = frozenset(frame.attrs.get("shares", ())).intersection(shown)
    skip = 1 if len(key_names) > 1 and key_names[0] == "period" else 0
    heads = [Column(name if name != "period" else "", head=True) for name in key_names[skip:]]
    figures = [
        Column(
            excerpt(_heading(name), NAME_CHARS),
            f"{name}: {_meaning(name, shares)}",
            right=not _holds_words(frame[name]),
        )
        for name in shown
    ]
    rows: list[Row] = []
    section: str | None = None
    numbers = frame[shown].itertuples(index=False, name=None)
    for index, values in zip(frame.index, numbers, strict=True):
        keyed = zip(key_names, index if isinstance(index, tuple) else (index,), strict=True)
        keys = [period_label(v, every) if k == "period" else key_label(k, v) for k, v in keyed]
        if skip and keys[0] != section:
            section = keys[0]
            rows.append(section)
        labels = [Cell(excerpt(key, NAME_CHARS), key) for key in keys[skip:]]
        cells = [cell_text(n, v, n in shares) for n, v in zip(shown, values, strict=True)]
        rows.append([*labels, *cells])
    notes = [note for note in _notes(frame, len(frame.columns) - len(shown)) if note]
    return Table([*heads, *figures], rows, notes=notes, name="agentnb-summary")


def _meaning(name: str, shares: frozenset[str]) -> str:
    if name in COLUMNS:
        return COLUMNS[name].meaning
    return SHARE_MEANING if name in shares else name

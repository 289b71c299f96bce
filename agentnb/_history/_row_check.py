"""Rows read from a history file, checked against their columns' kinds. A file may come
from someone else, and SQLite keeps any value in any column: text where a number goes, a
time no calendar holds, JSON that does not parse, a blob where text goes. Such a value is
read as empty (None) and its row flagged in a ``malformed`` column that says which fields
were left out and why, so no view of the history (tables, frames, pages, summaries,
``show()``) fails on one row, and the others show as they are.

The check costs a pass over each column in C (the types it holds, its smallest and largest
number); a value is looked at alone only in a column that holds a bad one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

from ._figures import FIGURE_RANGES
from ._records import RUN_COLUMNS, ColumnKind, RunRecord

__all__ = ["MALFORMED_COLUMN", "checked_columns", "checked_record", "checked_rows"]

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
    columns: Mapping[str, Sequence[Any]], spec: Sequence[tuple[str, ColumnKind]]
) -> dict[str, Sequence[Any]]:
    """``columns`` (one sequence per name of ``spec``) with each malformed value None, and
    the :data:`MALFORMED_COLUMN` when some row held one."""
    out: dict[str, Sequence[Any]] = dict(columns)
    notes: dict[int, list[str]] = {}
    for name, kind in spec:
        values = columns.get(name)
        if values is None:
            continue
        bad = _bad_rows(kind, values)
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
        _note_refused(out, [name for name, _ in spec if name in FIGURE_RANGES])
    return out


REFUSED: Final = "refused_figures"
"""The run column that says which figures were refused: when the run was recorded, and
(added on reading) those of the row outside their sane range, kept as they are."""


def _note_refused(columns: dict[str, Sequence[Any]], figures: Sequence[str]) -> None:
    """Add to each row's ``refused_figures`` its well-formed figures outside their sane range
    (a summary leaves them out; the row keeps them, so nothing is lost)."""
    found: dict[int, list[str]] = {}
    for name in figures:
        values = columns.get(name)
        if values is None:
            continue
        tolist = getattr(values, "tolist", None)
        values = tolist() if tolist is not None else values
        low, high, _ = FIGURE_RANGES[name]
        numbers = [value for value in values if value is not None]
        if not numbers or (low <= min(numbers) and max(numbers) <= high):
            continue
        for i, value in enumerate(values):
            if value is not None and not low <= value <= high:
                found.setdefault(i, []).append(f"{name}={value!r} (in the file)")
    if found:
        kept = list(columns[REFUSED])
        for i, notes in found.items():
            kept[i] = ", ".join([*([kept[i]] if kept[i] else []), *notes])
        columns[REFUSED] = kept


def checked_rows(
    rows: Sequence[tuple[Any, ...]], spec: Sequence[tuple[str, ColumnKind]]
) -> list[tuple[Any, ...]]:
    """Rows (in ``spec`` order) with each malformed value None."""
    if not rows:
        return list(rows)
    names = [name for name, _ in spec]
    columns = dict(zip(names, zip(*rows, strict=True), strict=True))
    checked = checked_columns(columns, spec)
    if checked is columns or all(checked[name] is columns[name] for name in names):
        return list(rows)
    return list(zip(*(checked[name] for name in names), strict=True))


def checked_record(row: Sequence[Any]) -> RunRecord:
    """A record from one row of ``RUN_COLUMNS``, its malformed values None and noted."""
    names = [name for name, _ in RUN_COLUMNS]
    checked = checked_columns(
        {name: [value] for name, value in zip(names, row, strict=True)}, RUN_COLUMNS
    )
    note = checked.get(MALFORMED_COLUMN[0])
    return RunRecord.from_row(
        tuple(checked[name][0] for name in names), malformed=note[0] if note else None
    )


def _bad_rows(kind: ColumnKind, values: Sequence[Any]) -> list[int]:
    """The rows whose value in a column of ``kind`` is malformed (usually none, found fast)."""
    tolist = getattr(values, "tolist", None)  # a numpy column: its items read once, in C
    values = tolist() if tolist is not None else values
    types = set(map(type, values))
    if kind in ("id", "text", "category"):
        if types <= _TEXT:
            return []
        return [i for i, value in enumerate(values) if type(value) not in _TEXT]
    if kind == "json":
        if types <= _TEXT and all(_parses(text) for text in set(values) - {None}):
            return []
        return [i for i, value in enumerate(values) if not _is_json(value)]
    if types <= _NUMBER and _in_range(kind, values, types):
        return []
    return [i for i, value in enumerate(values) if not _is_number(kind, value)]


def _in_range(kind: ColumnKind, values: Sequence[Any], types: set[type]) -> bool:
    numbers = [value for value in values if value is not None]
    if not numbers:
        return True
    low, high = min(numbers), max(numbers)
    if kind == "time":
        return bool(low >= EARLIEST and high <= LATEST)
    if kind == "int":
        whole = float not in types or all(float(value).is_integer() for value in numbers)
        return bool(whole and low >= -LARGEST_COUNT and high <= LARGEST_COUNT)
    return math.isfinite(low) and math.isfinite(high)


def _is_number(kind: ColumnKind, value: Any) -> bool:
    if value is None:
        return True
    if type(value) not in _NUMBER:
        return False
    return _in_range(kind, [value], {type(value)})


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _is_json(value: Any) -> bool:
    return value is None or (type(value) is str and _parses(value))


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"

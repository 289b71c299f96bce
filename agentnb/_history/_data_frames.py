"""DataFrames of a history, built column by column from what the store reads (one sequence
per column), with no per-row Python objects: times become tz-aware UTC datetimes, token
counts nullable ``Int64``, names categoricals, texts pandas' nullable ``string``, JSON
columns Python objects. pandas is optional (:func:`~agentnb._core.extras.require_pandas`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._core.extras import require_pandas
from ._records import RUN_COLUMNS, ColumnKind
from ._scores import score_column

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["build_frame", "columns_of", "empty_columns", "empty_run_frame", "score_columns"]


def build_frame(
    columns: Mapping[str, Sequence[Any]],
    spec: Sequence[tuple[str, ColumnKind]],
    wanted: Sequence[str] | None = None,
) -> pd.DataFrame:
    """A DataFrame of ``columns`` (raw history values), typed by ``spec``."""
    pandas = require_pandas()
    kinds = dict(spec)
    names = list(wanted) if wanted is not None else [name for name, _ in spec]
    unknown = [name for name in names if name not in kinds]
    if unknown:
        raise KeyError(f"unknown column(s) {unknown}; the columns are {list(kinds)}")
    data = {name: _convert(pandas, kinds[name], columns[name]) for name in names}
    frame: pd.DataFrame = pandas.DataFrame(data, columns=names)
    return frame


def empty_columns(spec: Sequence[tuple[str, ColumnKind]]) -> dict[str, list[Any]]:
    return {name: [] for name, _ in spec}


def columns_of(
    rows: Sequence[tuple[Any, ...]], spec: Sequence[tuple[str, ColumnKind]]
) -> dict[str, Sequence[Any]]:
    """Rows turned into one sequence per column (numpy object columns when numpy is there:
    a 2-D object array transposes three times faster than ``zip(*rows)``)."""
    names = [name for name, _ in spec]
    if not rows:
        return {name: [] for name in names}
    try:
        import numpy  # optional (comes with pandas): only to transpose fast
    except ImportError:
        return dict(zip(names, zip(*rows, strict=True), strict=True))
    table: Any = numpy.empty((len(rows), len(names)), dtype=object)
    table[:] = rows
    return {name: table[:, i] for i, name in enumerate(names)}


def _convert(pandas: Any, kind: ColumnKind, values: Sequence[Any]) -> Any:
    import numpy as np  # optional (comes with pandas): loaded with the frame

    column = np.asarray(values, dtype=object)
    if kind == "time":
        # Whole microseconds: what a float of unix seconds holds, without binary noise.
        micros = np.round(column.astype("float64") * 1e6)
        return pandas.to_datetime(micros, unit="us", utc=True)
    if kind == "float":
        return column.astype("float64")
    if kind == "int":
        floats = column.astype("float64")  # token counts are far below 2**53
        missing = np.isnan(floats)
        return pandas.arrays.IntegerArray(np.where(missing, 0, floats).astype("int64"), missing)
    if kind == "category":
        codes, names = pandas.factorize(column, sort=True)
        return pandas.Categorical.from_codes(codes, categories=names)
    if kind == "json":
        return _parsed_json(column)
    return pandas.array(column, dtype="string")


def _parsed_json(values: Iterable[Any]) -> list[Any]:
    # Rows mostly repeat the same settings: parse each distinct text once.
    parsed: dict[str, Any] = {}
    out: list[Any] = []
    for text in values:
        if text is None:
            out.append(None)
            continue
        value = parsed.get(text)
        if value is None:
            try:
                value = json.loads(text)
            except ValueError:
                value = text
            parsed[text] = value
        out.append(value)
    return out


def empty_run_frame(columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The frame of no runs, typed as every run frame is."""
    return build_frame(empty_columns(RUN_COLUMNS), RUN_COLUMNS, columns)


ScoreRow = tuple[str, str, str, "float | None", "str | None"]
"""A current score as the store reads it: ``(local_id, name, kind, number, label)``."""


def score_columns(local_ids: Sequence[str], rows: Sequence[ScoreRow]) -> dict[str, Any]:
    """One column ``score.<name>`` per score name (sorted), aligned with ``local_ids``: floats
    where every value is a number, nullable booleans where every value is a bool, nullable
    strings for labels, objects for a name given values of several kinds; missing where a
    run has no score of that name. Built by pandas, column by column: no per-row Python."""
    pandas = require_pandas()
    import numpy as np  # comes with pandas

    if not rows or not len(local_ids):
        return {}
    count = len(local_ids)
    found = pandas.DataFrame(list(rows), columns=["local_id", "name", "kind", "number", "label"])
    found["at"] = pandas.Index(local_ids).get_indexer(found["local_id"])
    found = found[found["at"] >= 0]
    out: dict[str, Any] = {}
    for name, scores in found.groupby("name", sort=True):
        kinds = set(scores["kind"].unique())
        (only,) = kinds if len(kinds) == 1 else (None,)
        if only == "label":
            column = pandas.array(np.full(count, None, dtype=object), dtype="string")
            column[scores["at"].to_numpy()] = scores["label"].to_numpy()
        elif only == "number":
            column = pandas.array(np.full(count, np.nan), dtype="float64")
            column[scores["at"].to_numpy()] = scores["number"].to_numpy(dtype="float64")
        elif only == "bool":
            column = pandas.arrays.BooleanArray(np.zeros(count, bool), np.ones(count, bool))
            column[scores["at"].to_numpy()] = scores["number"].to_numpy(dtype="float64") != 0
        else:
            values = scores["label"].where(scores["kind"] == "label", scores["number"])
            values = values.where(scores["kind"] != "bool", scores["number"] != 0)
            column = pandas.array(np.full(count, None, dtype=object), dtype=object)
            column[scores["at"].to_numpy()] = values.to_numpy(dtype=object)
        out[score_column(str(name))] = column
    return out

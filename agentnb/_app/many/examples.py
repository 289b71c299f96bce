"""A batch's dataset as examples: a list of questions, a list of dicts or a DataFrame with a
``question`` column, and optionally ``expected`` (the reference answer), ``id`` and any other
fields (``agentnb.types.examples_of``: what ``agentnb.evals`` keeps of a dataset too)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias, Union

from ..._core.exceptions import ConfigurationError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DatasetRows", "Example", "examples_of", "in_split"]

DatasetRows: TypeAlias = Union[Iterable[str], Iterable[Mapping[str, object]], "pd.DataFrame"]
"""What a batch takes: questions, dicts with a ``question`` key (and maybe ``expected``,
``id`` and other fields), a DataFrame with those columns, or any iterable of those (a kept
``agentnb.evals`` dataset)."""


@dataclass(frozen=True, slots=True)
class Example:
    """One question of a dataset."""

    position: int
    """Its place in the dataset, from 0."""
    example_id: str
    """The dataset's ``id`` for it, else its position."""
    question: str
    expected: Any = None
    """The reference answer (any JSON value), or None."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """The dataset's other fields for it (JSON values)."""

    def as_dict(self) -> dict[str, Any]:
        """What an evaluator is handed: ``id``, ``question``, ``expected`` and the other
        fields."""
        fields = {"id": self.example_id, "question": self.question, "expected": self.expected}
        return {**self.extra, **fields}


QUESTION = "question"
EXPECTED = "expected"
EXAMPLE_ID = "id"
SPLIT = "split"


def examples_of(dataset: DatasetRows) -> list[Example]:
    """The examples of ``dataset``, in order; a clear :class:`ConfigurationError` for an item
    that is no question."""
    if isinstance(dataset, str):
        raise ConfigurationError(
            "a batch takes a list of questions (or of dicts, or a DataFrame), not one string"
        )
    items = _records_of_frame(dataset) if _is_frame(dataset) else _listed(dataset)
    examples = [_example(position, item) for position, item in enumerate(items)]
    ids = [example.example_id for example in examples]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})[:3]
        raise ConfigurationError(f"the dataset's ids must be unique; repeated: {twice}")
    return examples


def _is_frame(dataset: Any) -> bool:
    return hasattr(dataset, "columns") and hasattr(dataset, "to_dict")


def _records_of_frame(frame: Any) -> list[dict[str, Any]]:
    if QUESTION not in frame.columns:
        raise ConfigurationError(
            f"a dataset DataFrame needs a {QUESTION!r} column (and may have {EXPECTED!r}, "
            f"{EXAMPLE_ID!r} and others); its columns are {list(frame.columns)}"
        )
    records: list[dict[str, Any]] = frame.to_dict("records")
    return records


def _listed(dataset: Any) -> list[Any]:
    if not isinstance(dataset, Iterable) or isinstance(dataset, Mapping):
        raise ConfigurationError(
            "a batch takes a list of questions, a list of dicts with a 'question' key, or a "
            f"DataFrame with a 'question' column, not {type(dataset).__name__}"
        )
    return list(dataset)


def _example(position: int, item: Any) -> Example:
    if isinstance(item, str):
        return Example(position, str(position), item)
    if not isinstance(item, Mapping):
        raise ConfigurationError(
            f"every item of the dataset is a question (str) or a dict with a 'question' key; "
            f"item {position} is {type(item).__name__}"
        )
    fields = {str(key): _plain(value) for key, value in item.items()}
    if QUESTION not in fields:
        raise ConfigurationError(
            f"item {position} of the dataset has no {QUESTION!r} key; its keys: {list(fields)}"
        )
    question = fields.pop(QUESTION)
    if not isinstance(question, str):
        raise ConfigurationError(
            f"item {position} of the dataset needs a 'question' that is a str, not "
            f"{type(question).__name__}"
        )
    split = fields.get(SPLIT)
    if split is not None and (not isinstance(split, str) or not split):
        raise ConfigurationError(
            f"item {position} of the dataset: its 'split' names the split it is in (a str "
            f"such as 'test'), not {split!r}"
        )
    raw_id = fields.pop(EXAMPLE_ID, None)
    expected = fields.pop(EXPECTED, None)
    for name, value in {EXPECTED: expected, **fields}.items():
        _check_json(position, name, value)
    example_id = str(position) if raw_id is None else str(raw_id)
    return Example(position, example_id, question, expected, fields)


def _plain(value: Any) -> Any:
    """A DataFrame's value as plain Python: numpy scalars as numbers, NaN / NaT as None,
    times as ISO text."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        return _plain(value.item())
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return None if str(value) == "NaT" else value.isoformat()
    return value


def _check_json(position: int, name: str, value: Any) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(
            f"item {position} of the dataset: {name!r} is kept with the run as JSON, and "
            f"{type(value).__name__} is not JSON ({exc})"
        ) from None


def in_split(examples: list[Example], split: str | None) -> list[Example]:
    """The examples whose ``split`` field is ``split`` (all of them for None), with their
    ids and places in the whole dataset; a clear error naming the dataset's splits when none
    is in it."""
    if split is None:
        return examples
    found = [example for example in examples if example.extra.get(SPLIT) == split]
    if not found:
        known = sorted({str(e.extra[SPLIT]) for e in examples if e.extra.get(SPLIT)})
        raise ConfigurationError(
            f"no question of the dataset is in split {split!r}; its splits: "
            f"{', '.join(map(repr, known)) or 'none (give rows a split field)'}"
        )
    return found

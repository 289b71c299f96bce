"""A pandas Series in a notebook summary keeps its values as the summary cuts them (at
``CELL_CHARS``), not at pandas' own 50 characters (``display.max_colwidth``)."""

from __future__ import annotations

import pytest

from agentnb._app.context.context_summary import CELL_CHARS, summarize

pd = pytest.importorskip("pandas")


def test_a_series_of_long_texts_is_read_past_pandas_50_characters() -> None:
    note = "NVDA rose on the week while the broader index stayed flat, the desk says"
    assert 50 < len(note) < CELL_CHARS
    said = summarize(pd.Series([note, "flat"], name="notes"), "notes")
    first = said[said.index("first 2 values:") :]
    assert note in first, said
    assert f"top       {note}" in said, "describe()'s most frequent value whole too"


def test_a_value_past_the_summary_s_own_cut_is_cut_there() -> None:
    long = "x" * (CELL_CHARS * 2)
    said = summarize(pd.Series([long], name="blob"), "blob")
    assert long not in said and "x" * (CELL_CHARS - 5) in said

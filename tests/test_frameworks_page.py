"""docs/frameworks.md stays true to the suite: a row that says "run here" names the test files
that run it, each exists and runs the dialect the row names; every dialect named is one the
registry has. Cheap: the page and the files are read, nothing is started."""

from __future__ import annotations

import re

import pytest
from agentnb_testing import REPO

from agentnb.providers import available_providers

PAGE = REPO / "docs" / "frameworks.md"
COLUMNS = ("framework", "what you run", "URL to paste (`base_url`)", "dialect", "how sure")
TEST_FILE = re.compile(r"`(tests/[\w/]+\.py)`")
CODE = re.compile(r"`([^`]+)`")


def rows() -> list[dict[str, str]]:
    lines = [line for line in PAGE.read_text().splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert tuple(header) == COLUMNS, "the table's columns changed: update this test"
    table = []
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        assert len(cells) == len(COLUMNS), line
        table.append(dict(zip(COLUMNS, cells, strict=True)))
    return table


ROWS = rows()


def dialects_of(row: dict[str, str]) -> set[str]:
    return {name for name in CODE.findall(row["dialect"]) if re.fullmatch(r"[\w-]+", name)}


def test_the_page_has_its_rows() -> None:
    assert len(ROWS) >= 15 and {"Google ADK", "LangGraph"} <= {r["framework"] for r in ROWS}


@pytest.mark.parametrize("row", ROWS, ids=[r["framework"] for r in ROWS])
def test_each_dialect_a_row_names_is_one_agentnb_has(row: dict[str, str]) -> None:
    assert dialects_of(row) <= set(available_providers()), row["dialect"]


@pytest.mark.parametrize("row", ROWS, ids=[r["framework"] for r in ROWS])
def test_a_row_run_here_names_test_files_that_exist_and_run_its_dialects(
    row: dict[str, str],
) -> None:
    sure, files = row["how sure"], TEST_FILE.findall(row["how sure"])
    assert all((REPO / name).is_file() for name in files), files
    if not sure.startswith("run here") or "(the whole suite)" in sure:
        assert sure.startswith(("run here", "tried", "docs")), sure
        return
    assert files, f"{row['framework']}: a row run here names its test file"
    sources = [(REPO / name).read_text() for name in files]
    for dialect in dialects_of(row):
        assert any(f'"{dialect}"' in source for source in sources), (row["framework"], dialect)

"""A batch's progress line on a terminal: runs done, failed and left, and the cost so far
written as every other view writes a cost."""

from __future__ import annotations

import io

import pytest

from agentnb._display.progress import TextProgress


@pytest.mark.parametrize(
    ("cost", "shown"), [(0.000435, "$0.000435"), (1234.5, "$1,234.50"), (None, "")]
)
def test_the_line_says_the_cost_so_far_as_a_cost_reads_elsewhere(
    cost: float | None, shown: str
) -> None:
    out = io.StringIO()
    bar = TextProgress(3, "batch echo", out)
    bar.update(2, 1, cost)
    bar.close()
    line = out.getvalue().strip().split("\r")[-1]
    assert line.startswith("batch echo: 2/3 runs, 1 failed, 1 left")
    assert (f", {shown} so far" in line) if shown else ("so far" not in line)

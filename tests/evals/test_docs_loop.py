"""docs/analysis.md's evaluation loop runs as printed: its block, taken from the page, in a
new process with no connection configured (so agentnb starts its built-in server, as for a
new user) and a history of its own, each expression shown as a notebook would (its text and
its HTML), any warning an error. The comparison says which score it skipped and the gate
says two questions are too few."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from agentnb_testing import REPO

PAGE = REPO / "docs" / "analysis.md"
START = "```python\nimport agentnb\nfrom agentnb.evals import (contains"

DRIVER = """
import ast, sys
scope = {}
for node in ast.parse(open(sys.argv[1]).read()).body:
    if isinstance(node, ast.Expr):
        value = eval(compile(ast.Expression(node.value), "<docs>", "eval"), scope)
        if value is not None:
            print(repr(value))
            getattr(value, "_repr_html_", lambda: None)()
    else:
        exec(compile(ast.Module([node], []), "<docs>", "exec"), scope)
"""


def loop_block() -> str:
    page = PAGE.read_text()
    start = page.index(START) + len("```python\n")
    return page[start : page.index("```\n", start)]


def test_the_evaluation_loop_runs_as_printed(tmp_path: Path) -> None:
    (tmp_path / "loop.py").write_text(loop_block())
    (tmp_path / "driver.py").write_text(DRIVER)
    env = {key: value for key, value in os.environ.items() if not key.startswith("AGENTNB_")}
    env |= {"AGENTNB_HISTORY": str(tmp_path / "history.sqlite3"), "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-W", "error", "driver.py", "loop.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    shown = done.stdout
    assert "skipped score.max_cost: no question has it for both arms (echo: 2 not scored)" in shown
    assert "tickers: finance_agent (A) against echo (B) on score.contains" in shown
    assert (
        "UNDECIDED: 2 questions: too few to call a difference on score.contains; the gate treats "
        "it as not decided" in shown
    ), shown
    assert "<Dataset 'golden' version 1: 1 rows>" in shown

"""docs/analysis.md's evaluation blocks run as printed: each block, taken from the page, in a
new process with no connection configured (so agentnb starts its built-in server, as for a
new user) and a history of its own, each expression shown as a notebook would (its text and
its HTML), any warning an error. In the loop, the comparison says which score it skipped and
the gate says two questions are too few; the judge's agreement with a person reads; failure
modes are counted and judged."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from agentnb_testing import PROGRAM_PATIENCE_S, REPO

pytestmark = pytest.mark.slow  # a page run in a new Python a test: scheduled first

PAGE = REPO / "docs" / "analysis.md"
LOOP = "import agentnb\nfrom agentnb.evals import (contains"
AGREEMENT = "import agentnb\nfrom agentnb.evals import agreement, agreements"
MODES = "import agentnb\nfrom agentnb.evals import agreement, experiment, mode_judge"

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


def block(first: str) -> str:
    """The page's python block that begins with ``first``."""
    page = PAGE.read_text()
    start = page.index(f"```python\n{first}") + len("```python\n")
    return page[start : page.index("```\n", start)]


def shown(tmp_path: Path, first: str) -> str:
    """What the block beginning with ``first`` shows, run as printed in a new process."""
    (tmp_path / "block.py").write_text(block(first))
    (tmp_path / "driver.py").write_text(DRIVER)
    env = {key: value for key, value in os.environ.items() if not key.startswith("AGENTNB_")}
    env |= {"AGENTNB_HISTORY": str(tmp_path / "history.sqlite3"), "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-W", "error", "driver.py", "block.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=PROGRAM_PATIENCE_S,
        env=env,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_the_evaluation_loop_runs_as_printed(tmp_path: Path) -> None:
    shown_text = shown(tmp_path, LOOP)
    assert (
        "skipped score.max_cost: no question has it for both arms (echo: 2 not scored)"
        in shown_text
    )
    assert "tickers: finance_agent (A) against echo (B) on score.contains" in shown_text
    assert (
        "UNDECIDED: 2 questions: too few to call a difference on score.contains; the gate treats "
        "it as not decided" in shown_text
    ), shown_text
    assert "<Dataset 'golden' version 1: 1 rows>" in shown_text


def test_the_judge_s_agreement_with_a_person_runs_as_printed(tmp_path: Path) -> None:
    shown_text = shown(tmp_path, AGREEMENT)
    assert "score.judge against score.verdict (the person), pass at 0.5" in shown_text
    assert "runs both scored  12" in shown_text, shown_text
    assert "score.judge against score.verdict (the person) on echo" in shown_text
    assert "word-overlap judge" in shown_text


def test_failure_modes_run_as_printed(tmp_path: Path) -> None:
    shown_text = shown(tmp_path, MODES)
    assert "score.mode per arm: finance_agent: none 4; echo: parrots the question 4" in shown_text
    per_arm = (
        r"^metadata\.arm .*mode\[none\] +mode\[parrots the question\].*\n(?:.*\n)*?echo .* 0 +4 "
    )
    assert re.search(per_arm, shown_text, re.M), shown_text  # the modes per arm, shown
    assert (
        "score.mode_parrots_the_question against score.mode (the person), "
        "positive: labelled 'parrots the question'"
    ) in shown_text
    # the offline judge grades answers, not the mode: the page says the agreement shows it
    assert re.search(r"^κ \(Cohen\) +-1\.000$", shown_text, re.M), shown_text

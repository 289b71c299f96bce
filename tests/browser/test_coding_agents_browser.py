"""Choosing a coding agent, as a person sees it in JupyterLab on Debian's Chromium: an
experiment of two ACP coding agents (scripted on the official SDK), each run in its own git
worktree; a question's **Compare** under the grid sets the two runs side by side and, under
them, the two diffs they made (a cell's **Open**: its run, its diff under it); the cost frontier plotted (cost on x, pass rate on y, the arms
labelled). Screenshots go to test-artifacts/ (coding-agents-*.png)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import PROGRAM_PATIENCE_S, sdk_python
from notebook_pages import cell_at, notebook_page, widget_errors

pytestmark = pytest.mark.browser

CODER = Path(__file__).resolve().parents[1] / "evals" / "coding_agent.py"
MAKE = """
import os, subprocess, sys
from pathlib import Path
history, acp_python, coder, repo = sys.argv[1:5]
os.environ["AGENTNB_HISTORY"] = history
import agentnb
from agentnb.evals import command, experiment, workspace
# the copy's one test, without the dev venv's plugins (tests/evals/test_coding_agents.py)
CHECK = f"PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 {sys.executable} -m pytest -q -p no:cacheprovider"
Path(repo).mkdir()
Path(repo, "calc.py").write_text("def add(a, b):\\n    return a - b\\n")
Path(repo, "test_calc.py").write_text("from calc import add\\n\\ndef test_add():\\n    assert add(2, 3) == 5\\n")
git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
for step in (["init", "-q"], ["add", "."], ["commit", "-qm", "start"]):
    subprocess.run([*git, *step], cwd=repo, check=True)
agentnb.connect("acp", command=[acp_python, coder, "--fix", "--cost", "0.2"], name="fixer")
agentnb.connect("acp", command=[acp_python, coder, "--cost", "0.3"], name="idler")
experiment("coders", ["fixer", "idler"], ["Make test_add pass", "Fix add()"],
           workspace=workspace(repo),
           evaluators=[command(CHECK, name="tests")],
           concurrency=4, approve=True, progress=False)
"""


@pytest.fixture(scope="module")
def history_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("coders")
    path = where / "history.sqlite3"
    given = [str(path), str(sdk_python("acp")), str(CODER), str(where / "repo")]
    subprocess.run([sys.executable, "-c", MAKE, *given], check=True, timeout=PROGRAM_PATIENCE_S)
    return path


def test_a_questions_compare_shows_the_two_diffs_and_the_frontier_is_plotted(
    browser: Any, jupyterlab: Any, history_file: Path, artifacts: Path
) -> None:
    cells = [
        f"import os\nos.environ['AGENTNB_HISTORY'] = {str(history_file)!r}\n"
        "import agentnb, agentnb.evals\nexp = agentnb.evals.experiment('coders')",
        "exp",
        "exp.frontier(score='tests', cost='cost').plot();",
    ]
    with notebook_page(browser, jupyterlab, "coders.ipynb", cells, run_first=3) as page:
        grid = cell_at(page, 1).locator(".anb-grid-view")
        grid.wait_for()
        grid.locator("tbody tr").nth(1).locator(".anb-grid-compare").click()
        changes = cell_at(page, 1).locator(".agentnb-changes")
        changes.wait_for()
        sides = changes.locator("td")
        assert sides.count() == 2
        fixer, idler = sides.nth(0).inner_text(), sides.nth(1).inner_text()
        assert fixer.startswith("fixer: 1 file(s) changed, +1 -1"), fixer
        assert "-    return a - b" in fixer and "+    return a + b" in fixer, fixer
        assert idler.startswith("idler: no change"), idler
        assert changes.locator(".anb-diff-add").all_inner_texts() == [
            "+++ b/calc.py",
            "+    return a + b",
        ], "the added lines marked as added"
        assert cell_at(page, 1).locator(".agentnb-compare").count() == 1, "the runs above it"
        changes.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "coding-agents-compared.png"))
        changes.screenshot(path=str(artifacts / "coding-agents-diffs.png"))

        grid.locator("tbody tr").nth(0).locator(".anb-grid-open").first.click()  # the fixer's
        cell_at(page, 1).locator(".agentnb .anb-message").first.wait_for()
        opened = cell_at(page, 1).locator(".agentnb-changes")
        opened.filter(has_text="the change this run made").wait_for()
        assert opened.locator("td").count() == 1 and "+    return a + b" in opened.inner_text()
        opened.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "coding-agents-opened.png"))

        plot = cell_at(page, 2).locator(".jp-OutputArea-output img")
        plot.wait_for()
        plot.scroll_into_view_if_needed()
        assert plot.evaluate("(img) => img.naturalWidth") > 200
        plot.screenshot(path=str(artifacts / "coding-agents-frontier.png"))
        assert widget_errors(page.errors) == []

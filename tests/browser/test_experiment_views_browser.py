"""An experiment's views as a person reads them in JupyterLab at 1280×800 on Debian's
Chromium, light and dark: the listing (``agentnb.evals.experiments()``), the question × agent grid
(a long question, four agents, four evaluators, one of which failed on a question) and a
summary with score columns fit their cell without sideways scrolling, and show formatted
figures: dates, ``$`` amounts kept from MathJax, ✓ / ✗, no ``NaN``, no markdown syntax.
Screenshots go to test-artifacts/ (experiment-*.png)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import PROGRAM_PATIENCE_S
from notebook_pages import CONTRASTS, THEMES, cell_at, notebook_page, run_and_wait, set_theme

pytestmark = pytest.mark.browser

NAME = "tickers-and-a-long-experiment-name"
LONG = (
    "Compare NVDA, AMD and INTC over the last five years: revenue growth, gross margins, "
    "data-centre share and what analysts expect for the next two quarters, with sources"
)
MAKE = f"""
import os, sys
os.environ["AGENTNB_HISTORY"] = sys.argv[1]
import agentnb, agentnb.evals, pandas as pd
from agentnb.server import start_server
server = start_server(delay_ms=0)
agentnb.connect("operativus", base_url=server.url_for("operativus"), api_key=server.api_key,
                name="local")
DATA = [
    {{"id": "nvda", "question": "What is NVDA trading at?", "expected": "NVDA"}},
    {{"id": "long", "question": {LONG!r}, "expected": "NVDA, AMD and INTC side by side"}},
    {{"id": "msft", "question": "How is MSFT doing?", "expected": "MSFT"}},
]
def names_ticker(run, example): return example["expected"] in (run.answer or "")
def quality(run, example): return len(run.answer or "") / 1234.5678
def label(run, example): return "long" if len(run.answer or "") > 100 else "short"
def explodes(run, example):
    if example["id"] == "msft":
        raise ValueError("cannot grade MSFT: the reference answer is missing from the dataset")
    return 1.0
agentnb.evals.experiment({NAME!r}, ["finance_agent", "echo", "research_team", "writer"], pd.DataFrame(DATA), via="local", progress=False, evaluators=[names_ticker, quality, label, explodes])
agentnb.evals.experiment("small", ["finance_agent", "echo"], pd.DataFrame(DATA[:1]), via="local", progress=False)
"""
FITS = """
(el) => {
  const out = el.closest('.jp-OutputArea-output');
  return {out: out.scrollWidth - out.clientWidth, own: el.scrollWidth - el.clientWidth};
}
"""


@pytest.fixture(scope="module")
def history_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("experiment") / "history.sqlite3"
    subprocess.run([sys.executable, "-c", MAKE, str(path)], check=True, timeout=PROGRAM_PATIENCE_S)
    return path


def test_an_experiments_views_fit_and_read_formatted(
    browser: Any, jupyterlab: Any, history_file: Path, artifacts: Path
) -> None:
    cells = [
        f"import os\nos.environ['AGENTNB_HISTORY'] = {str(history_file)!r}\nimport agentnb, agentnb.evals",
        "agentnb.evals.experiments()",
        f"agentnb.evals.experiment({NAME!r})",
        "agentnb.summary('agent')",
    ]
    views = {1: ".agentnb-summary", 2: ".anb-grid-view", 3: ".agentnb-summary"}
    with notebook_page(browser, jupyterlab, "experiment.ipynb", cells, height=800) as page:
        for index, view in views.items():
            run_and_wait(page, index)
            cell_at(page, index).locator(view).first.wait_for()

        listing = "\n".join(cell_at(page, 1).locator(".agentnb-summary").all_inner_texts())
        assert re.search(r"\$0\.0\d+", listing), listing  # the cost as money
        assert re.search(r"\d{1,2} \w{3} 20\d\d \d\d:\d\d", listing), listing  # when, as a date
        assert "NaN" not in listing and "+00:00" not in listing
        assert not re.search(r"(?<![$\d.])\d\.\d{5,}", listing), listing  # no raw float
        grid = cell_at(page, 2).locator(".anb-grid-view").inner_text()
        assert "$875.40" in grid  # MathJax left the amounts alone
        assert "###" not in grid and "|:--" not in grid and "**" not in grid
        assert "✓" in grid and "✗" in grid
        assert "explodes failed" in grid
        summary = "\n".join(cell_at(page, 3).locator(".agentnb-summary").all_inner_texts())
        assert "quality" in summary and "score." not in summary

        for theme in THEMES:
            set_theme(page, theme)
            shade = theme.split()[-1].lower()
            for index, view in views.items():
                shown = cell_at(page, index).locator(view).first  # a wide table: blocks inside
                cell_at(page, index).screenshot(
                    path=str(artifacts / f"experiment-{index}-{shade}.png")
                )
                fits = shown.evaluate(FITS)
                assert fits["out"] <= 0 and fits["own"] <= 0, (theme, index, fits)
            grid_view = cell_at(page, 2).locator(".anb-grid-view")
            low = [t for t in grid_view.evaluate(CONTRASTS) if t["ratio"] < 4.5]
            assert low == [], (theme, [(t["text"], round(t["ratio"], 2)) for t in low])
            failed = grid_view.locator(".anb-runs-error").first
            assert failed.evaluate("(el) => getComputedStyle(el).color") != grid_view.evaluate(
                "(el) => getComputedStyle(el).color"
            ), "a failed evaluator reads in the error colour"
        assert not page.errors or all("schema" in e for e in page.errors), page.errors

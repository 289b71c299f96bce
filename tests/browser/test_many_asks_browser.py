"""A cell that starts fifty displayed asks in a real JupyterLab (Debian's Chromium): the kernel
answers a ``1+1`` sent right behind it, every run ends Completed in its own chat cell (the
ones past JupyterLab's 50 outputs a cell shown with "Show more outputs"), each with its answer,
and the static copies end final. How long the kernel is held is measured by
``benchmarks/bench_cell_hold.py``, never asserted here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from notebook_pages import (
    PATIENCE_MS,
    RUN_CELL,
    cell_at,
    notebook_page,
    widget_errors,
)
from playwright.sync_api import TimeoutError as PlaywrightTimeout

pytestmark = pytest.mark.browser

ASKS = 50
CELLS = [
    "import agentnb",
    f'handles = [agentnb.ask("echo", f"question {{i}}") for i in range({ASKS})]',
]
ONE_PLUS_ONE = """
async () => {
  // typed right behind the cell, as a person does while it runs
  const kernel = window.__anbPanel().sessionContext.session.kernel;
  const future = kernel.requestExecute({ code: "1+1", store_history: false });
  let result = null;
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === "execute_result") result = msg.content.data["text/plain"];
  };
  await future.done;
  return result;
}
"""
STATES = """
(index) => [...window.__anbPanel().content.widgets[index].node.querySelectorAll(".agentnb")]
  .map((view) => [view.querySelector(".anb-state")?.textContent || "",
                  view.querySelector(".anb-answer")?.textContent.trim() || ""])
"""
FINAL_COPIES = """
([index, asks]) => {
  const outputs = window.__anbPanel().content.widgets[index].model.outputs;
  let finals = 0;
  for (let i = 0; i < outputs.length; i++) {
    const html = outputs.get(i).data["text/html"];
    const text = Array.isArray(html) ? html.join("") : html || "";
    if (text.includes("agentnb-static") && !text.includes("Running…")) finals += 1;
  }
  return finals === asks;
}
"""
ALL_COMPLETED = f"""
([index, asks]) => {{
  // "Show more outputs" clicked whenever it is there: JupyterLab may draw the cell's outputs
  // again while the runs end (their static copies replaced), trimmed again (a fresh run of
  // the suite at load: one click, then 25 views and the button back)
  const more = window.__anbPanel().content.widgets[index].node.querySelector(".jp-TrimmedOutputs");
  if (more) more.click();
  return ({STATES})(index).filter(([s]) => s === "Completed").length === asks;
}}
"""
SHOWN_OR_TRIMMED = """
([index, asks]) => {
  const node = window.__anbPanel().content.widgets[index].node;
  return Boolean(node.querySelector(".jp-TrimmedOutputs"))
    || node.querySelectorAll(".agentnb").length === asks;
}
"""


def test_fifty_asks_in_one_cell_all_end_in_their_chat_cells_and_the_kernel_answers(
    jupyterlab: Any, browser: Any, artifacts: Path
) -> None:
    with notebook_page(browser, jupyterlab, "many-asks.ipynb", CELLS, run_first=1) as page:
        page.evaluate(RUN_CELL, 1)
        assert page.evaluate(ONE_PLUS_ONE) == "2"
        page.wait_for_function(FINAL_COPIES, arg=[1, ASKS], timeout=PATIENCE_MS)
        # JupyterLab shows 50 outputs of a cell (two a chat cell) and "Show more outputs" for
        # the rest. The page draws the outputs after the model holds them: wait until it shows
        # either that button or every view, not the model's word, before deciding to click.
        page.wait_for_function(SHOWN_OR_TRIMMED, arg=[1, ASKS], timeout=PATIENCE_MS)
        more = cell_at(page, 1).locator(".jp-TrimmedOutputs")
        try:
            page.wait_for_function(ALL_COMPLETED, arg=[1, ASKS], timeout=PATIENCE_MS)
        except PlaywrightTimeout:
            states = page.evaluate(STATES, 1)
            page.screenshot(path=str(artifacts / "many-asks-lab-stuck.png"))
            pytest.fail(
                f"{len(states)} views, {more.count()} 'Show more outputs' left; the states: "
                f"{sorted({state for state, _ in states})}, not Completed: "
                f"{[i for i, (state, _) in enumerate(states) if state != 'Completed']}"
            )
        states = page.evaluate(STATES, 1)
        assert [answer for _, answer in states] == [f"question {i}" for i in range(ASKS)]
        page.screenshot(path=str(artifacts / "many-asks-lab.png"))
        assert widget_errors(page.errors) == []  # type: ignore[attr-defined]

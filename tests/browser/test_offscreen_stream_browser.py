"""Notebook 7.5 made lazy rendering of off-screen cells the default (``contentVisibility``
windowing: a cell out of sight is neither laid out nor painted). A chat cell that streams
while it is scrolled out of view is whole when it is scrolled back: every paragraph of the
answer, in order, its status Completed, its static copy final, and its height that of what
it holds (no part drawn at a placeholder's size). Notebook 7.6 in Debian's Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S
from notebook_pages import (
    RUN_CELL,
    STATIC_COPY,
    cell_at,
    notebook_page,
    wait_for_state,
    widget_at,
    widget_errors,
)

pytestmark = pytest.mark.browser

PARAGRAPHS = 120
CELLS = [
    "import os, agentnb\n"
    'agentnb.connect("seekrflow", base_url=os.environ["AGENTNB_BASE_URL"],'
    ' api_key=os.environ["AGENTNB_API_KEY"], name="steady",'
    ' headers={"X-AgentNB-Delay-Ms": "8"})\n'
    f'doc = "\\n\\n".join(f"Paragraph {{i}} of the answer. " + "streamed words " * 12'
    f" for i in range({PARAGRAPHS}))",
    'streaming = agentnb.ask("echo", doc, via="steady")',
    # what the page scrolls to while the answer streams: a long way below the chat cell
    *[f"# filler {i}\nprint('\\n'.join(f'line {{j}}' for j in range(40)))" for i in range(12)],
]
STREAMING = 1
WINDOWING = """
() => {
  const notebook = window.__anbPanel().content;
  return notebook.notebookConfig ? notebook.notebookConfig.windowingMode : "unknown";
}
"""
OUT_OF_SIGHT = """
(index) => {
  const panel = window.__anbPanel();
  const cell = panel.content.widgets[index].node;
  const box = cell.getBoundingClientRect();
  const port = panel.content.node.getBoundingClientRect();
  const skipped = getComputedStyle(cell).contentVisibility === "auto";
  return (box.bottom < port.top || box.top > port.bottom) && skipped;
}
"""
PARAGRAPHS_DRAWN = """
(index) => window.__anbPanel().content.widgets[index].node.querySelectorAll(".anb-answer p").length
"""
SCROLL_TO_END = """
() => {
  const notebook = window.__anbPanel().content;
  const scroller = notebook.outerNode || notebook.node;
  scroller.scrollTop = scroller.scrollHeight;
}
"""
RUN_IN_KERNEL = """
async (code) => {
  // through the kernel, not a cell: running a cell scrolls the notebook to it
  const kernel = window.__anbPanel().sessionContext.session.kernel;
  await kernel.requestExecute({ code, store_history: false }).done;
}
"""
ANSWER = """
(index) => {
  const root = window.__anbPanel().content.widgets[index].node.querySelector(".agentnb");
  const answer = root.querySelector(".anb-answer");
  const paragraphs = [...answer.querySelectorAll("p")].map((p) => p.textContent.trim());
  // its height as drawn (chunks out of sight at the size they stand in with), and with every
  // chunk laid out: a chunk standing in with a placeholder's size would differ
  const drawn = answer.getBoundingClientRect().height;
  const chunks = [...answer.querySelectorAll(".anb-md-chunk")];
  for (const chunk of chunks) chunk.style.contentVisibility = "visible";
  const whole = answer.getBoundingClientRect().height;
  for (const chunk of chunks) chunk.style.contentVisibility = "";
  return { paragraphs, drawn: Math.round(drawn), whole: Math.round(whole), chunks: chunks.length };
}
"""


def test_a_chat_cell_streaming_out_of_sight_is_whole_when_scrolled_back(
    browser: Any, notebook7: Any, artifacts: Path
) -> None:
    with notebook_page(
        browser, notebook7, "offscreen.ipynb", CELLS, app="notebook7", run_first=1, height=700
    ) as page:
        assert page.evaluate(WINDOWING) == "contentVisibility", "Notebook 7.5's default"
        page.evaluate(RUN_CELL, STREAMING)
        widget_at(page, STREAMING).locator(".anb-answer p").first.wait_for()
        page.evaluate(SCROLL_TO_END)
        page.wait_for_function(OUT_OF_SIGHT, arg=STREAMING)
        drawn_then = page.evaluate(PARAGRAPHS_DRAWN, STREAMING)
        assert drawn_then < PARAGRAPHS, "the rest streams while the cell is out of sight"
        page.evaluate(RUN_IN_KERNEL, f"streaming.wait({PATIENCE_S:g})")
        assert page.evaluate(OUT_OF_SIGHT, STREAMING), "it streamed to its end out of sight"
        page.wait_for_function(STATIC_COPY, arg=[STREAMING, f"Paragraph {PARAGRAPHS - 1} of"])

        cell_at(page, STREAMING).evaluate("(el) => el.scrollIntoView({block: 'start'})")
        wait_for_state(page, STREAMING, "Completed")
        page.wait_for_timeout(500)  # the chunks it skipped drawn at their sizes
        seen = page.evaluate(ANSWER, STREAMING)
        expected = [
            f"Paragraph {i} of the answer. " + ("streamed words " * 12).strip()
            for i in range(PARAGRAPHS)
        ]
        assert seen["paragraphs"] == expected
        assert seen["chunks"] > 1, "long enough to be drawn in chunks"
        assert abs(seen["drawn"] - seen["whole"]) <= 2, seen
        page.screenshot(path=str(artifacts / "offscreen-stream-notebook7.png"))
        assert widget_errors(page.errors) == []  # type: ignore[attr-defined]

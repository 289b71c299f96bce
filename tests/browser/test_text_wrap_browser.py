"""Text that wraps breaks between words: in a real JupyterLab (Debian's Chromium) at two
normal widths, the "As sent" box of a message with an ``@`` attachment and the question
split no word across two lines where the word fits on one, and break no word before its
hyphen ("notebook|-data"), though JupyterLab breaks every ``<pre>`` of an output anywhere
(``word-break: break-all``, which the chat cell's ``<pre>`` boxes undo); a token longer than
the line still breaks (nothing runs out of its box)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from notebook_pages import (
    KERNELS_OWN_SERVER_CELL,
    RUN_CELL,
    notebook_page,
    scroll_to,
    wait_for_state,
    widget_at,
    widget_errors,
)

pytestmark = pytest.mark.browser

LONG_TOKEN = "x" * 400
CELLS = [
    KERNELS_OWN_SERVER_CELL,
    "notes = 'it is the notebook-data block that the agent reads, ' * 6\nx = 41",
    f'agentnb.ask("echo", "Is @x right, and what does @notes say about it? {LONG_TOKEN}",'
    " approve=True)",
]
ASKED = 2
SPLIT_WORDS = """
(root) => {
  // every word (letters, digits, '_') drawn on more than one line, and every hyphen drawn
  // at the start of a line (a word broken before it: "notebook|-data")
  const split = [];
  const ruler = document.body.appendChild(document.createElement("span"));
  ruler.style.cssText = "position: absolute; visibility: hidden; white-space: pre;";
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    let box = node.parentElement;
    while (box && getComputedStyle(box).display.startsWith("inline")) box = box.parentElement;
    if (!box || !box.checkVisibility()) continue;
    const style = getComputedStyle(box);
    ruler.style.font = style.font;
    ruler.style.letterSpacing = style.letterSpacing;
    const width = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const pieces = [
      ...[...node.data.matchAll(/\\w+/g)].map((m) => [m.index, m[0]]),
      ...[...node.data.matchAll(/(?=\\w-)/g)].map((m) => [m.index, node.data.slice(m.index, m.index + 2)]),
    ];
    for (const [at, text] of pieces) {
      const range = document.createRange();
      range.setStart(node, at);
      range.setEnd(node, at + text.length);
      const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
      ruler.textContent = text;
      const fits = ruler.getBoundingClientRect().width <= width;  // a word a line can hold
      if (lines.size > 1 && fits) split.push(`${box.className}: ${text}`);
    }
  }
  ruler.remove();
  return split;
}
"""
OVERFLOWING = """
(root) => [...root.querySelectorAll(".anb-sent-text, .anb-message, .anb-pre")]
  .filter((el) => el.checkVisibility() && el.scrollWidth > el.clientWidth + 1)
  .map((el) => el.className)
"""


@pytest.mark.parametrize("width", [1280, 900])
def test_boxes_that_keep_line_breaks_split_no_word(
    jupyterlab: Any, browser: Any, artifacts: Path, width: int
) -> None:
    name = f"wrap-{width}.ipynb"
    with notebook_page(browser, jupyterlab, name, CELLS, run_first=2, width=width) as page:
        page.evaluate(RUN_CELL, ASKED)
        wait_for_state(page, ASKED, "Completed")
        widget = widget_at(page, ASKED)
        widget.locator(".anb-sent > summary").click()
        sent = widget.locator(".anb-sent-text")
        scroll_to(sent)
        assert "<notebook-data" in sent.inner_text()
        for tool in widget.locator(".anb-tool[data-folded='true'] .anb-tool-fold").all():
            tool.click()
        root = widget.element_handle()
        assert page.evaluate(SPLIT_WORDS, root) == []
        assert page.evaluate(OVERFLOWING, root) == [], "a long token still breaks"
        sent.screenshot(path=str(artifacts / f"as-sent-wrap-{width}.png"))
        assert widget_errors(page.errors) == []  # type: ignore[attr-defined]

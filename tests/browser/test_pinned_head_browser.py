"""A run paused for an approval, scrolled so its head is pinned over the turn (JupyterLab,
Debian's Chromium): the line the head's edge cuts fades out under it (a fade at least a line
tall, opaque at the edge) instead of showing half its glyphs. Screenshot:
test-artifacts/pinned-head.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from notebook_pages import PAUSED, RUN_CELL, cell_at, notebook_page, wait_for_state

from agentnb.server import ServerHandle

pytestmark = pytest.mark.browser

SCROLL_PAST_HEAD = """
(dy) => {
  const cell = window.__anbPanel().content.widgets[1].node;
  document.querySelector(".jp-WindowedPanel-outer").scrollTop = cell.offsetTop + dy;
}
"""
FADE = """
(head) => {
  const fade = getComputedStyle(head, "::after");
  const line = head.closest(".anb-turn").querySelector(".anb-approval-call-text");
  return {
    pinned: head.classList.contains("anb-pinned"),
    fade: parseFloat(fade.height),
    line: parseFloat(getComputedStyle(line).lineHeight),
    image: fade.backgroundImage,
  };
}
"""


def test_the_line_under_a_pinned_head_fades_out(
    browser: Any, jupyterlab: Any, agent_server: ServerHandle, artifacts: Path
) -> None:
    cells = [
        "%load_ext agentnb\nimport agentnb\n"
        f'agentnb.connect("vercel", base_url="{agent_server.url_for("vercel")}", '
        f'api_key="{agent_server.api_key}", name="trading")',
        'buy = agentnb.ask("trader", "buy 10 NVDA", via="trading", new_thread=True)',
    ]
    with notebook_page(browser, jupyterlab, "pinned.ipynb", cells, height=600) as page:
        page.evaluate(RUN_CELL, 1)
        wait_for_state(page, 1, PAUSED)
        page.evaluate(SCROLL_PAST_HEAD, 200)
        head = cell_at(page, 1).locator(".anb-head")
        page.wait_for_function(
            "(el) => el.classList.contains('anb-pinned')", arg=head.element_handle()
        )
        shown = head.evaluate(FADE)
        assert shown["pinned"] and shown["fade"] >= shown["line"], shown
        assert shown["image"].startswith("linear-gradient"), shown
        page.screenshot(path=str(artifacts / "pinned-head.png"))

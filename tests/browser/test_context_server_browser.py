"""The notebook's MCP server (``agentnb.context.serve()``) in a real JupyterLab
(Debian's Chromium): the server as a cell's last line is the line to paste into Claude Code,
its bearer token masked (a saved notebook keeps its outputs, and is shared), saying how to see
it, its lines broken between words; ``srv.reveal(seconds)`` shows the line with the token
whole, and masks it again after those seconds, in that same output. Screenshots in
test-artifacts/context-server-*.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from notebook_pages import (
    PATIENCE_MS,
    WIDGET_APPS,
    WORD_BREAKS,
    cell_at,
    notebook_page,
    run_and_wait,
)

pytestmark = pytest.mark.browser

CELLS = [
    "import agentnb\nsrv = agentnb.context.serve()",
    "srv",
    "srv.reveal(600)",
    "srv.reveal(1)",
    "srv.stop()",
]
SHOWN, REVEALED, BRIEFLY, STOP = 1, 2, 3, 4
"""``REVEALED`` stays whole while the test reads it (no race with the machine's load);
``BRIEFLY`` is masked again a second later."""
OUTPUT = ".jp-OutputArea-output"
MASKED_AGAIN = """
(index) => {
  const text = window.__anbPanel().content.widgets[index].outputArea.node.innerText;
  return text.includes("Bearer ") && text.includes("…") && text.includes("srv.reveal()");
}
"""


def bearer(text: str) -> str:
    """The token the pasted line would send."""
    return text.split("Bearer ", 1)[1].split('"', 1)[0]


@pytest.mark.parametrize("app", WIDGET_APPS)
def test_the_servers_token_is_masked_until_revealed(
    app: str, browser: Any, jupyter: Any, artifacts: Path
) -> None:
    with notebook_page(browser, jupyter, f"context-server-{app}.ipynb", CELLS, app=app,
                       run_first=2) as page:  # fmt: skip
        shown = cell_at(page, SHOWN).locator(OUTPUT).last
        text = shown.inner_text()
        assert text.startswith("claude mcp add --transport http notebook http://127.0.0.1:"), text
        masked = bearer(text)
        assert len(masked) == 5 and masked.endswith("…"), masked
        assert "srv.reveal() shows it whole" in text, text
        assert shown.evaluate(WORD_BREAKS) == [], "its lines break between words"
        cell_at(page, SHOWN).scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"context-server-masked-{app}.png"))

        run_and_wait(page, REVEALED)
        revealed = cell_at(page, REVEALED).locator(OUTPUT).last
        whole = bearer(revealed.inner_text())
        assert revealed.evaluate(WORD_BREAKS) == []
        assert whole.startswith(masked[:4]) and len(whole) >= 40, whole
        assert "…" not in whole
        cell_at(page, REVEALED).scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"context-server-revealed-{app}.png"))
        # masked again in the same output, the saved notebook keeping no token
        run_and_wait(page, BRIEFLY)
        page.wait_for_function(MASKED_AGAIN, arg=BRIEFLY, timeout=PATIENCE_MS)
        masked_again = cell_at(page, BRIEFLY).locator(OUTPUT).last
        assert whole not in masked_again.inner_text()
        assert masked_again.evaluate(WORD_BREAKS) == [], masked_again.inner_text()
        page.screenshot(path=str(artifacts / f"context-server-masked-again-{app}.png"))
        run_and_wait(page, STOP)

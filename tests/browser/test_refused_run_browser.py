"""A run the platform refuses (a 422: the body failed its validation) reads at words in a
real JupyterLab and Notebook 7 (Debian's Chromium, 1280, 900 and 800 wide): the chat cell's banner, the
platform's words first, and the error ``wait()`` raises under the cell, whose long first
line (the request's URL) JupyterLab would otherwise break anywhere, mid-word, and the copy
a saved notebook keeps; the run as a cell's last line is one short line (its HTML repr). Screenshots
in test-artifacts/refused-*.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from notebook_pages import (
    APPS,
    WORD_BREAKS,
    cell_at,
    notebook_page,
    run_and_wait,
    wait_for_state,
    widget_at,
)

from agentnb.server import ServerHandle

pytestmark = pytest.mark.browser

REFUSED, RAISED, COPY, REPR = 1, 2, 3, 4
CUT_OFF = "(el) => el.scrollWidth > el.clientWidth + 1"
TRACEBACK_FITS = 1280
"""A window this wide (the file browser open) holds the 80 columns the error's text is
wrapped to (``TRACEBACK_WIDTH``); in a narrower one JupyterLab breaks its lines anywhere."""


@pytest.mark.parametrize(
    ("app", "width"),
    # the output area's traceback, checked at TRACEBACK_FITS, in both fronts; the widget's
    # banner and copy narrower in JupyterLab
    [*[(app, TRACEBACK_FITS) for app in APPS], ("jupyterlab", 900), ("jupyterlab", 800)],
)
def test_a_refused_run_s_error_breaks_no_word(
    app: str,
    width: int,
    browser: Any,
    agent_server: ServerHandle,
    jupyter: Any,
    artifacts: Path,
) -> None:
    cells = [
        "%load_ext agentnb\nimport agentnb\n"
        f'agentnb.connect("operativus", base_url="{agent_server.url_for("operativus")}", '
        f'api_key="{agent_server.api_key}", name="ops")',
        'bad = agentnb.ask("finance_agent", "What is NVDA trading at?", via="ops", '
        'extra={"message": 123})',
        "bad.wait()",
        "from agentnb._display.static_copy import static_bundle\n"
        "display(static_bundle([bad.run]), raw=True)",
        "bad.run",
    ]
    with notebook_page(
        browser, jupyter, f"refused_{app}.ipynb", cells, app=app, width=width
    ) as page:
        run_and_wait(page, REFUSED)
        wait_for_state(page, REFUSED, "Failed")
        banner = widget_at(page, REFUSED).locator(".anb-error")
        said = banner.locator(".anb-error-message").inner_text()
        assert said.startswith("body.message: Input should be a valid string (422"), said
        assert banner.evaluate(WORD_BREAKS) == []
        run_and_wait(page, RAISED)
        raised = cell_at(page, RAISED).locator(".jp-OutputArea-output").last
        text = raised.inner_text()
        assert text.startswith("InvalidRequestError: body.message: Input should be"), text
        if width >= TRACEBACK_FITS:
            assert raised.evaluate(WORD_BREAKS) == [], text
        run_and_wait(page, COPY)  # the copy a saved notebook keeps, as a reopened one shows
        alert = cell_at(page, COPY).locator("[role=alert]")
        assert "(422 Unprocessable Entity from POST" in alert.inner_text()
        assert alert.evaluate(WORD_BREAKS) == [], alert.inner_text()
        assert alert.evaluate(CUT_OFF) is False, "the URL breaks, not hidden past the edge"
        run_and_wait(page, REPR)  # the run as a cell's last line: one short line, as HTML
        shown = cell_at(page, REPR).locator(".agentnb-repr")
        line = shown.locator("code").inner_text()
        assert line.startswith("<Run 'finance_agent' failed · ") and "0 tool calls" in line
        assert line.endswith("error InvalidRequestError>") and "Part(" not in line, line
        assert shown.evaluate(WORD_BREAKS) == []
        widget_at(page, REFUSED).scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"refused-{app}-{width}.png"))

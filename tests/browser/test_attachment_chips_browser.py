"""The attachments a message would carry, in the chat cell's input in a real JupyterLab
(Playwright, Debian's Chromium), against the built-in server's ``echo`` agent (it answers
with the message it got, so the answer shows what was sent): typing ``@df`` and ``@cfg``
shows a chip each, read in the kernel, open to the exact redacted text; ``@dff`` shows the
kernel's refusal with the near name, the chip of a valid name beside it kept; the × on ``@cfg`` sends the message without that
attachment. Light and dark screenshots go to test-artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from notebook_pages import (
    THEMES,
    WIDGET_APPS,
    notebook_page,
    set_theme,
    wait_for_state,
    widget_at,
    widget_errors,
)

pytestmark = pytest.mark.browser

CELLS = [
    "%load_ext agentnb\nimport agentnb, pandas as pd\n"
    'df = pd.DataFrame({"region": ["north", "south"], "revenue": [10.0, 12.5]})\n'
    'cfg = {"host": "db.internal", "api_token": "tok-not-for-the-agent"}',
    'agentnb.chat("echo")',
]
CHAT = 1


@pytest.mark.parametrize("app", WIDGET_APPS)
def test_the_inputs_attachments_show_their_text_and_a_removed_one_is_not_sent(
    app: str, browser: Any, jupyter: Any, artifacts: Path
) -> None:
    with notebook_page(browser, jupyter, f"attachments-{app}.ipynb", CELLS, app=app,
                       run_first=2) as page:  # fmt: skip
        widget = widget_at(page, CHAT)
        box = widget.locator(".anb-input-text")
        chips = widget.locator(".anb-attachments")
        box.fill("Is @dff right, beside @cfg?")
        refusal = chips.locator(".anb-attachment-error")
        refusal.wait_for()
        assert "did you mean @df?" in refusal.inner_text()
        # the typo does not hide the chip of the valid name typed beside it
        assert chips.locator(".anb-attachment-name").all_inner_texts() == ["@cfg"]
        widget.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"attachments-typo-beside-{app}.png"))

        box.fill("Compare @df with @cfg")
        chips.locator('.anb-attachment[data-mention="@df"]').wait_for()
        assert chips.locator(".anb-attachment-name").all_inner_texts() == ["@df", "@cfg"]
        assert chips.locator(".anb-attachment-error").count() == 0
        df_chip = chips.locator('.anb-attachment[data-mention="@df"]')
        df_chip.locator(".anb-attachment-head").click()
        df_text = df_chip.locator(".anb-attachment-text").inner_text()
        assert df_text.startswith("@df: pandas DataFrame, 2 rows × 2 columns")
        cfg_chip = chips.locator('.anb-attachment[data-mention="@cfg"]')
        cfg_chip.locator(".anb-attachment-head").click()
        assert "'api_token': ***" in cfg_chip.locator(".anb-attachment-text").inner_text()
        for theme in THEMES:
            set_theme(page, theme)
            widget.scroll_into_view_if_needed()
            shade = "light" if theme.endswith("Light") else "dark"
            page.screenshot(path=str(artifacts / f"attachment-chips-{app}-{shade}.png"))
        set_theme(page, THEMES[0])

        cfg_chip.locator(".anb-attachment-remove").click()
        assert cfg_chip.get_attribute("data-attached") == "false"
        page.screenshot(path=str(artifacts / f"attachment-chips-removed-{app}.png"))
        box.press("Enter")
        wait_for_state(page, CHAT, "Completed")
        answer = widget.locator(".anb-answer").inner_text()
        assert "Compare @df with @cfg" in answer
        assert "@df: pandas DataFrame, 2 rows × 2 columns" in answer
        assert "@cfg: dict" not in answer  # removed in the input: not attached
        assert chips.is_hidden()
        assert widget_errors(page.errors) == []  # type: ignore[attr-defined]

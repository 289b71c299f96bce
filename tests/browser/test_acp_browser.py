"""An ACP agent in a real JupyterLab (Playwright, Debian's Chromium): the scripted agent on the
official SDK (``.tools/acp``) answers ``%%agent coder`` with a tool call editing a file, its
diff on the card; then asks permission for a command, and the run reads ``Paused — waiting for
your approval`` until Approve is clicked on the card, when the agent says the option it was
given. Screenshots go to test-artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import sdk_python
from notebook_pages import (
    PAUSED,
    RUN_CELL,
    notebook_page,
    wait_for_state,
    widget_at,
    widget_errors,
)

pytestmark = pytest.mark.browser

SCRIPTED = Path(__file__).parents[1] / "interop" / "acp_agents" / "scripted_agent.py"


def cells(folder: Path) -> list[str]:
    (folder / "prices.py").write_text("old line\n")
    command = [str(sdk_python("acp")), str(SCRIPTED)]
    return [
        "%load_ext agentnb\nimport agentnb\n"
        f'agentnb.connect("acp", command={command!r}, name="coder", cwd={str(folder)!r})',
        f"%%agent coder\nedit {folder / 'prices.py'}",
        "%%agent coder --continue\npermission",
    ]


EDIT, ASKS = 1, 2


def test_an_acp_turn_streams_into_the_chat_cell_and_its_permission_is_approved_there(
    request: pytest.FixtureRequest, browser: Any, artifacts: Path, tmp_path: Path
) -> None:
    server = request.getfixturevalue("jupyterlab")
    with notebook_page(browser, server, "acp.ipynb", cells(tmp_path)) as page:
        page.evaluate(RUN_CELL, EDIT)
        wait_for_state(page, EDIT, "Completed")
        card = widget_at(page, EDIT).locator(".anb-tool", has_text="edit")
        assert card.get_attribute("data-status") == "succeeded"
        card.locator(".anb-tool-head").click()  # the card opens
        card.locator(".anb-tool-output summary").click()  # and its output
        assert "+new line" in card.locator(".anb-tool-output pre").inner_text()
        assert "edited" in widget_at(page, EDIT).inner_text()
        card.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "acp-edit-jupyterlab.png"))

        page.evaluate(RUN_CELL, ASKS)
        wait_for_state(page, ASKS, PAUSED)
        pending = widget_at(page, ASKS).locator('.anb-tool[data-status="awaiting_approval"]')
        pending.scroll_into_view_if_needed()
        assert "Run rm -rf build" in pending.inner_text()
        page.screenshot(path=str(artifacts / "acp-permission-jupyterlab.png"))
        pending.locator(".anb-approve").click()
        wait_for_state(page, ASKS, "Completed")
        assert "permission: yes" in widget_at(page, ASKS).inner_text()
        assert widget_errors(page.errors) == []

"""An ACP session's own controls in a real JupyterLab (Playwright, Debian's Chromium), on the
scripted agent on the official SDK that advertises them (``acp_agents/controls_agent.py``):
the chat cell's selectors beside the input (model, mode, effort), a model picked there and
answered on; ``/`` offering the session's commands, taken by keyboard alone; the agent's plan
as a checklist in its turn. Screenshots go to test-artifacts/."""

from __future__ import annotations

import base64
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import sdk_python
from notebook_pages import (
    PATIENCE_MS,
    RUN_CELL,
    notebook_page,
    wait_for_state,
    widget_at,
    widget_errors,
)

pytestmark = pytest.mark.browser

AGENT = Path(__file__).parents[1] / "interop" / "acp_agents" / "controls_agent.py"


def cells(folder: Path) -> list[str]:
    command = [str(sdk_python("acp")), str(AGENT)]
    return [
        "%load_ext agentnb\nimport agentnb\n"
        f'agentnb.connect("acp", command={command!r}, name="ctl", cwd={str(folder)!r})',
        'agentnb.chat("ctl")',
    ]


CHAT = 1


def test_the_selectors_slash_commands_and_plan_in_the_chat_cell(
    request: pytest.FixtureRequest, browser: Any, artifacts: Path, tmp_path: Path
) -> None:
    server = request.getfixturevalue("jupyterlab")
    with notebook_page(browser, server, "acp-controls.ipynb", cells(tmp_path)) as page:
        page.evaluate(RUN_CELL, CHAT)
        chat = widget_at(page, CHAT)
        model = chat.get_by_label("Model", exact=True)
        model.wait_for()
        assert model.input_value() == "controls-model-1"
        assert chat.get_by_label("Mode", exact=True).input_value() == "ask"
        assert chat.get_by_label("Effort", exact=True).input_value() == "low"
        model.select_option("controls-model-2")
        page.screenshot(path=str(artifacts / "acp-controls-selectors.png"))

        box = chat.locator(".anb-input-text")
        box.click()
        box.type("/")
        menu = chat.locator(".anb-slash")
        menu.wait_for()
        assert "/review" in menu.inner_text() and "Run the tests" in menu.inner_text()
        page.screenshot(path=str(artifacts / "acp-controls-slash.png"))
        box.press("ArrowDown")
        box.press("Enter")  # takes /test, sends nothing
        assert box.input_value() == "/test "
        box.press("Control+a")
        box.type("settings")
        box.press("Enter")
        wait_for_state(page, CHAT, "Completed", turn=0)
        assert "model=controls-model-2 mode=ask effort=low" in chat.inner_text()

        box.type("plan")
        box.press("Enter")
        wait_for_state(page, CHAT, "Completed", turn=1)
        plan = chat.locator(".anb-turn").nth(1).locator(".anb-plan")
        assert "Plan · 1 of 3 done" in plan.inner_text()
        statuses = plan.locator(".anb-plan-entry").evaluate_all(
            "items => items.map(i => i.dataset.status)"
        )
        assert statuses == ["completed", "in_progress", "pending"]
        plan.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "acp-controls-plan.png"))
        assert widget_errors(page.errors) == []


def test_a_pick_is_set_at_once_pending_until_answered_and_a_refusal_goes_back(
    request: pytest.FixtureRequest, browser: Any, artifacts: Path, tmp_path: Path
) -> None:
    """The agent takes 3 s to answer a setting and refuses every effort: a pick shows pending,
    reaches the agent before any message, and a refusal puts the selector back, saying why."""
    log = tmp_path / "set.log"
    command = [str(sdk_python("acp")), str(AGENT)]
    env = {"CONTROLS_SET_DELAY": "3", "CONTROLS_LOG": str(log), "CONTROLS_REFUSE": "effort"}
    setup = (
        "%load_ext agentnb\nimport agentnb\n"
        f'agentnb.connect("acp", command={command!r}, name="ctl", cwd={str(tmp_path)!r}, '
        f"env={env!r})"
    )
    server = request.getfixturevalue("jupyterlab")
    with notebook_page(browser, server, "acp-pick.ipynb", [setup, 'agentnb.chat("ctl")']) as page:
        page.evaluate(RUN_CELL, CHAT)
        chat = widget_at(page, CHAT)
        model = chat.get_by_label("Model", exact=True)
        model.wait_for()
        model.select_option("controls-model-2")
        pending = chat.locator(".anb-setting-pending")
        pending.wait_for()
        assert "setting…" in pending.inner_text() and model.input_value() == "controls-model-2"
        page.screenshot(path=str(artifacts / "acp-controls-pick-pending.png"))
        pending.wait_for(state="detached", timeout=PATIENCE_MS)
        assert model.input_value() == "controls-model-2"
        assert log.read_text() == "set model controls-model-2\n"  # no message sent yet

        effort = chat.get_by_label("Effort", exact=True)
        effort.select_option("high")
        error = chat.locator(".anb-session-error")
        error.wait_for(timeout=PATIENCE_MS)
        assert "Could not set Effort to high" in error.inner_text()
        assert "effort is locked by policy" in error.inner_text()
        assert effort.input_value() == "low"  # back as it was
        page.screenshot(path=str(artifacts / "acp-controls-pick-refused.png"))

        box = chat.locator(".anb-input-text")
        box.click()
        box.type("settings")
        box.press("Enter")
        wait_for_state(page, CHAT, "Completed", turn=0)
        assert "model=controls-model-2 mode=ask effort=low" in chat.inner_text()
        assert widget_errors(page.errors) == []


def png(width: int = 48, height: int = 32) -> bytes:
    """A small PNG: a blue and orange chart-like block."""
    rows = b"".join(
        b"\x00"
        + b"".join(b"\x1f\x77\xb4" if x < width // 2 else b"\xff\x7f\x0e" for x in range(width))
        for _ in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PASTE = """([selector, data]) => {
  const box = document.querySelectorAll(".jp-Cell")[1].querySelector(selector);
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], "chart.png", { type: "image/png" }));
  box.dispatchEvent(new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true }));
}"""


def test_an_image_pasted_into_the_input_goes_to_the_agent_as_an_image(
    request: pytest.FixtureRequest, browser: Any, artifacts: Path, tmp_path: Path
) -> None:
    server = request.getfixturevalue("jupyterlab")
    with notebook_page(browser, server, "acp-paste.ipynb", cells(tmp_path)) as page:
        page.evaluate(RUN_CELL, CHAT)
        chat = widget_at(page, CHAT)
        box = chat.locator(".anb-input-text")
        box.wait_for()
        image = png()
        page.evaluate(PASTE, [".anb-input-text", base64.b64encode(image).decode()])
        thumb = chat.locator(".anb-pasted-thumb")
        thumb.wait_for()
        assert thumb.evaluate("img => img.naturalWidth") == 48
        box.click()
        box.type("blocks")
        page.screenshot(path=str(artifacts / "acp-controls-pasted-image.png"))
        box.press("Enter")
        wait_for_state(page, CHAT, "Completed", turn=0)
        encoded = len(base64.b64encode(image))
        assert f"text:6 image:image/png:{encoded}" in chat.inner_text()
        assert chat.locator(".anb-pasted-thumb").count() == 0  # sent with that message only
        assert widget_errors(page.errors) == []

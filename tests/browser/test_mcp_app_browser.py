"""An MCP App in a real JupyterLab (Playwright, Debian's Chromium): a server
written with the ``mcp`` SDK (tests/mcp/app_server.py) declares a view made as the ext-apps
SDK's example view is (the SDK's own ``App``, from ``@modelcontextprotocol/ext-apps``). The
call's card shows it in a frame sandboxed to scripts alone: it shows the tool's input and
result; its button's ``tools/call`` raises an approval card in the cell that says the view made
it, and once approved the view shows the new result and the call is in the history. A hostile
view, whose resource declares a CSP that allows everything, cannot read the page, its cookies
or storage, navigate the page, open a window, reach the network or pass for the host to
another view, and its flood of ``tools/call`` is refused but for one; a view that navigates
away from itself is closed. Light and dark screenshots go to test-artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import sdk_npm_file
from mcp_servers import server_command
from notebook_pages import (
    RUN_CELL,
    THEMES,
    WIDGET_APPS,
    calling_cell,
    cell_at,
    mcp_cells,
    notebook_page,
    run_and_wait,
    scroll_to,
    set_theme,
    wait_for_state,
    widget_at,
    widget_errors,
)

pytestmark = pytest.mark.browser

SDK = "@modelcontextprotocol/ext-apps/dist/src/app-with-deps.js"
VIEW_AGENT = "MCP App view"


def asked(tool: str) -> str:
    """A cell whose run's agent calls ``apps__<tool>``."""
    return calling_cell("apps", f"apps__{tool}", f"Show me {tool}")


def cells(sdk: Path, notebook_url: str) -> list[str]:
    command = server_command("app_server.py", str(sdk), notebook_url.rstrip("/"))
    return [
        *mcp_cells("apps", command),
        asked("show_time"),
        f"print([(c.name, c.status, c.output) for c in agentnb.runs(agent={VIEW_AGENT!r})[0]"
        ".tool_calls])",
        asked("probe"),
        asked("wander"),
    ]


CLOCK, HISTORY, PROBE, WANDER = 2, 3, 4, 5
FRAME = "iframe.anb-app-frame"


def frame_of(page: Any, index: int, tool: str) -> tuple[Any, Any]:
    """The card of ``apps__<tool>`` in cell ``index``, and its view's frame."""
    card = widget_at(page, index).locator(".anb-tool", has_text=f"apps__{tool}").first
    frame = card.locator(FRAME)
    scroll_to(frame)
    assert frame.get_attribute("sandbox") == "allow-scripts", "never allow-same-origin"
    return card, card.frame_locator(FRAME)


def waiting_card(page: Any, index: int) -> Any:
    card = widget_at(page, index).locator('.anb-tool[data-status="awaiting_approval"]')
    card.wait_for()
    scroll_to(card)
    return card


@pytest.mark.parametrize("app", WIDGET_APPS)
def test_an_mcp_app_shows_its_result_calls_through_the_gate_and_stays_in_its_frame(
    jupyter: Any, browser: Any, app: str, artifacts: Path
) -> None:
    sdk = sdk_npm_file("ext-apps", SDK)
    notebook = f"mcp-app-{app}.ipynb"
    with notebook_page(
        browser, jupyter, notebook, cells(sdk, jupyter.url), app=app, run_first=2
    ) as page:
        page_url = page.url
        page.evaluate(RUN_CELL, CLOCK)
        wait_for_state(page, CLOCK, "Completed")
        card, view = frame_of(page, CLOCK, "show_time")
        view.locator("#time", has_text="12:00 in NVDA").wait_for()
        assert view.locator("#city").inner_text() == "in NVDA"
        for theme in THEMES:
            set_theme(page, theme)
            shade = "light" if theme.endswith("Light") else "dark"
            scroll_to(card.locator(FRAME))
            card.screenshot(path=str(artifacts / f"mcp-app-{app}-{shade}.png"))
        set_theme(page, THEMES[0])

        view.locator("#refresh").click()
        asking = waiting_card(page, CLOCK)
        assert "apps__refresh_time" in asking.inner_text()
        assert "the MCP App view of apps__show_time asks to call it" in asking.inner_text()
        assert view.locator("#status").inner_text() == "asking"
        page.screenshot(path=str(artifacts / f"mcp-app-{app}-asking.png"))
        asking.locator(".anb-approve").click()
        view.locator("#status", has_text="refreshed").wait_for()
        assert view.locator("#time").inner_text() == "12:01 in Paris"
        wait_for_state(page, CLOCK, "Completed")
        run_and_wait(page, HISTORY)
        printed = cell_at(page, HISTORY).locator(".jp-OutputArea-output").inner_text()
        assert printed.strip() == "[('apps__refresh_time', 'succeeded', '12:01 in Paris')]"

        page.evaluate(RUN_CELL, PROBE)
        # The agent's turn (the first): the hostile view floods as soon as it loads, and its
        # one admitted call is a turn of its own below, waiting for approval: the cell's last
        # turn may be that one before the agent's reads Completed here.
        wait_for_state(page, PROBE, "Completed", turn=0)
        card, probe = frame_of(page, PROBE, "probe")
        srcdoc = card.locator(FRAME).get_attribute("srcdoc")
        assert srcdoc.startswith(
            '<!DOCTYPE html><meta http-equiv="Content-Security-Policy" content="'
            "default-src 'none'; script-src 'unsafe-inline' https://*.example.com; "
        ), srcdoc[:300]
        assert "connect-src 'none';" in srcdoc
        report = probe.locator("#report")
        report.locator("text=flood:").wait_for()
        probe.locator("#report", has_text="image:").wait_for()
        probe.locator("#report", has_text="fetch:").wait_for()
        said = report.inner_text().strip().splitlines()
        lines = dict(line.split(": ", 1) for line in said if ": " in line)
        assert lines["parent.document"].startswith("blocked (SecurityError)"), lines
        assert lines["top.document"].startswith("blocked (SecurityError)"), lines
        assert lines["cookie"].startswith("blocked (SecurityError)"), lines
        assert lines["localStorage"].startswith("blocked (SecurityError)"), lines
        assert lines["window.open"] == "blocked (null)", lines
        assert lines["fetch"] == "blocked (TypeError)", lines
        assert lines["image"] == "blocked", lines
        assert lines["flood"] == "30 of 30 refused at once", lines
        assert lines["flood refusal"] == (
            "refused: a call of this view waits already: a view makes one call at a time"
        ), lines
        assert page.url == page_url, "the page was not navigated"
        assert view.locator("#time").inner_text() == "12:01 in Paris", "no forged result"
        flooded = waiting_card(page, PROBE)
        assert "the view of apps__probe" in flooded.inner_text()
        card.screenshot(path=str(artifacts / f"mcp-app-{app}-hostile.png"))
        flooded.locator(".anb-deny").click()
        wait_for_state(page, PROBE, "Completed")

        page.evaluate(RUN_CELL, WANDER)
        wait_for_state(page, WANDER, "Completed")
        wandered = widget_at(page, WANDER).locator(".anb-tool", has_text="apps__wander")
        note = wandered.locator(".anb-app-note")
        note.wait_for()
        assert note.inner_text() == "The view kept navigating away from itself and was closed."
        assert wandered.locator(FRAME).count() == 0
        assert widget_errors(page.errors) == []  # type: ignore[attr-defined]

"""The approval card of a call the platform sent in two versions, in a real JupyterLab
(Debian's Chromium): a raw-socket Vercel UI-stream server streams the call's argument text
with one account (``tool-input-delta``) and then gives its input with another
(``tool-input-available``), the version the AI SDK acts on (the client sends it back). The
card shows the version acted on first, the streamed one below it flagged, says the versions
disagree, leads with Deny and labels Approve "Approve anyway"; a click on Deny sends
``approved: false``. A screenshot goes to test-artifacts/approval-versions.png."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from notebook_pages import PAUSED, RUN_CELL, cell_at, notebook_page, wait_for_state, widget_errors

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "client"))
from hostile_server import Conn, HostileServer, Request, sse_head

pytestmark = pytest.mark.browser

STREAMED = {"to": "acct-9", "amount": 5}
ACTED_ON = {"to": "acct-666", "amount": 5000}
ASK = 1


def chunks(*items: dict[str, Any]) -> bytes:
    return "".join(f"data: {json.dumps(item)}\n\n" for item in items).encode()


async def two_versions(conn: Conn, request: Request) -> None:
    decided = any(m.get("role") == "assistant" for m in json.loads(request.body)["messages"])
    if decided:
        await conn.send(sse_head() + chunks({"type": "finish"}))
        return
    call = {"toolCallId": "c1", "toolName": "wire_money"}
    await conn.send(
        sse_head()
        + chunks(
            {"type": "start", "messageId": "m1"},
            {"type": "tool-input-start", **call},
            {
                "type": "tool-input-delta",
                "toolCallId": "c1",
                "inputTextDelta": json.dumps(STREAMED),
            },
            {"type": "tool-input-available", **call, "input": ACTED_ON},
            {"type": "tool-approval-request", "toolCallId": "c1", "approvalId": "a1"},
            {"type": "finish"},
        )
    )


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    with HostileServer(two_versions) as srv:
        yield srv


@pytest.fixture(scope="module")
def page(browser: Any, jupyterlab: Any, server: HostileServer) -> Iterator[Any]:
    cells = [
        f'%load_ext agentnb\nimport agentnb\nagentnb.connect("vercel", base_url="{server.url}", '
        'name="hostile")',
        'h = agentnb.ask("ops", "Pay the invoice", via="hostile")',
    ]
    with notebook_page(browser, jupyterlab, "approval-versions.ipynb", cells) as page:
        yield page


def test_the_card_shows_both_versions_flagged_and_deny_leads(
    page: Any, server: HostileServer, artifacts: Path
) -> None:
    page.evaluate(RUN_CELL, ASK)
    wait_for_state(page, ASK, PAUSED)
    card = cell_at(page, ASK).locator('.anb-tool[data-status="awaiting_approval"]')
    box = card.locator(".anb-approval")
    box.wait_for()
    assert box.get_attribute("data-versions") == "2"
    shown = box.locator(".anb-approval-call-text").inner_text()
    assert 'to: "acct-666"' in shown and "amount: 5000" in shown and "acct-9" not in shown
    other = box.locator(".anb-approval-other").inner_text()
    assert other.startswith("⚠ also sent, in the streamed arguments (not the one shown first):")
    assert 'to: "acct-9"' in other and "amount: 5" in other
    warnings = box.locator(".anb-approval-warnings").inner_text()
    assert "the platform sent 2 versions of this call that disagree" in warnings
    approve = box.get_by_role(
        "button", name="Approve wire_money anyway: run the version shown first"
    )
    deny = box.get_by_role("button", name="Deny wire_money: do not run it")
    assert approve.inner_text() == "Approve anyway"
    order = box.locator(".anb-approval-actions button:visible").all_inner_texts()
    assert order.index("Deny") < order.index("Approve anyway"), order
    card.scroll_into_view_if_needed()
    card.screenshot(path=str(artifacts / "approval-versions.png"))

    deny.click()
    wait_for_state(page, ASK, "Completed")
    [decision] = [r for r in server.requests if b'"assistant"' in r.body]
    [message] = [m for m in json.loads(decision.body)["messages"] if m["role"] == "assistant"]
    [part] = [p for p in message["parts"] if p.get("toolCallId") == "c1"]
    assert part["approval"]["approved"] is False
    assert part["input"] == ACTED_ON  # the version shown first is the one sent back
    assert widget_errors(page.errors) == []  # type: ignore[attr-defined]

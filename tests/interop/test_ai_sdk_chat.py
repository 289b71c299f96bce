"""The ``ai`` package's own chat client (``AbstractChat`` + ``DefaultChatTransport``, with
``addToolApprovalResponse`` and ``sendAutomaticallyWhen``, as ``useChat`` wires them) talking
to the built-in server: the server's stream, its approval flow and its reading of the SDK's
messages work with the real client."""

from __future__ import annotations

from typing import Any

import pytest
from interop_testing import run_script

from agentnb.server import ServerHandle


def sdk_chat(node: str, server: ServerHandle, agent: str, decision: str, *texts: str) -> Any:
    result = run_script(
        node,
        "ui_message_chat.mjs",
        "chat",
        server.base_url,
        server.api_key,
        agent,
        decision,
        *texts,
    )
    assert result["errors"] == [] and result["status"] == "ready"
    return result


def parts(message: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(p["type"], p.get("state")) for p in message["parts"] if p["type"] != "step-start"]


@pytest.mark.parametrize("decision", ["approve", "deny"])
def test_the_sdk_chat_approves_or_denies_a_trade(
    node: str, server: ServerHandle, decision: str
) -> None:
    result = sdk_chat(node, server, "trader", decision, "Buy 5 NVDA")
    assert result["finishReasons"] == ["tool-calls", "stop"]
    user, assistant = result["messages"]
    assert user["parts"] == [{"type": "text", "text": "Buy 5 NVDA"}]
    outcome = "output-available" if decision == "approve" else "output-denied"
    assert parts(assistant) == [
        ("reasoning", "done"),
        ("tool-get_stock_price", "output-available"),
        ("tool-place_trade", outcome),
        ("text", "done"),
    ]
    text = assistant["parts"][-1]["text"]
    if decision == "approve":
        assert text.startswith("Placed a **demo** order")
    else:
        assert "declined (the SDK says deny)" in text


def test_the_sdk_chat_without_a_decision_stays_waiting(node: str, server: ServerHandle) -> None:
    result = sdk_chat(node, server, "trader", "none", "Buy 5 NVDA")
    assert result["finishReasons"] == ["tool-calls"]
    (tool,) = [p for p in result["messages"][-1]["parts"] if p["type"] == "tool-place_trade"]
    assert tool["state"] == "approval-requested"
    assert tool["approval"]["requestReason"] == "Placing a trade needs a human's approval."


def test_the_server_reads_the_sdks_whole_history(node: str, server: ServerHandle) -> None:
    result = sdk_chat(node, server, "finance_agent", "none", "What is NVDA at?", "Thanks!")
    assert result["finishReasons"] == ["stop", "stop"]
    log = next(
        log
        for log in reversed(server.app.state.agentnb.runs.all())
        if log.dialect == "vercel" and log.request.message == "Thanks!"
    )
    roles = [m.role for m in log.request.history]
    assert roles == ["user", "assistant", "tool", "assistant", "tool", "assistant"]
    names = [c["function"]["name"] for m in log.request.history for c in m.tool_calls]
    assert names == ["get_stock_price", "calculator"]

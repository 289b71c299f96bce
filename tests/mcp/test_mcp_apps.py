"""MCP Apps, the kernel's side: a tool that declares a view (``app_server.py``, written with
the ``mcp`` SDK, its tools called by the built-in server's ``finance_agent``) is shown as its
view (the HTML read through ``resources/read``, with the hosts its resource declares, the
call's input and result); a tool only views may call is not the agent's; a CSP that allows
everything keeps only https hosts; a view of another type is said in words."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp_servers import run_calling, tools_of

import agentnb
from agentnb._app.mcp.mcp_apps import SHOWN_MIME, allowed_domains
from agentnb._display.static_copy import static_bundle
from agentnb.server import ServerHandle

tools = tools_of("app_server.py")


def called(server: ServerHandle, tools: agentnb.types.McpTools, name: str) -> agentnb.Run:
    """A run whose agent calls the tool ``apps__<name>``."""
    return run_calling(server, tools, f"apps__{name}", message=f"call {name}")


def view_of(run: agentnb.Run) -> dict[str, Any]:
    [call] = run.tool_calls
    assert call.status == "succeeded", call.error
    assert call.shown is not None and call.shown["mime"] == SHOWN_MIME, call.shown
    shown: dict[str, Any] = json.loads(call.shown["data"])
    return shown


def test_a_tool_only_views_may_call_is_not_the_agent_s(tools: agentnb.types.McpTools) -> None:
    assert sorted(t.name for t in tools) == [
        "apps__broken",
        "apps__probe",
        "apps__show_time",
        "apps__wander",
    ]


def test_a_tool_with_a_view_shows_it_with_the_call_s_input_and_result(
    server: ServerHandle, tools: agentnb.types.McpTools
) -> None:
    run = called(server, tools, "show_time")
    view = view_of(run)
    assert view["uri"] == "ui://apps/clock.html"
    assert view["tool"] == "apps__show_time"
    assert "Get server time" in view["html"]
    assert view["csp"] == {"connect": [], "resources": []}
    assert view["input"] == {"city": "NVDA"}
    assert view["result"]["content"] == [{"type": "text", "text": "12:00 in NVDA"}]
    assert view["result"]["structuredContent"] == {"city": "NVDA", "time": "12:00"}
    assert run.tool_calls[0].output == "12:00 in NVDA", "the agent reads the text"


def test_a_csp_that_allows_everything_keeps_only_https_hosts(
    server: ServerHandle, tools: agentnb.types.McpTools
) -> None:
    view = view_of(called(server, tools, "probe"))
    assert view["csp"] == {"connect": [], "resources": ["https://*.example.com"]}


@pytest.mark.parametrize(
    ("declared", "kept"),
    [
        (["*", "https:", "'self'", "'unsafe-eval'", "data:", "blob:"], []),
        (["http://127.0.0.1:8888", "https://a.example.com/path", "https://a b.com"], []),
        (["https://x.com; script-src *", 'https://x.com" onload="'], []),
        (
            ["https://API.example.com", "wss://live.example.com:8443", "https://*.cdn.net"],
            ["https://api.example.com", "wss://live.example.com:8443", "https://*.cdn.net"],
        ),
        (["https://*.*.example.com", "https://ex*.com"], []),
        ("https://api.example.com", []),
        (
            [f"https://h{i}.example.com" for i in range(40)],
            [f"https://h{i}.example.com" for i in range(16)],
        ),
    ],
)
def test_declared_hosts_are_kept_only_when_plain_secure_hosts(
    declared: object, kept: list[str]
) -> None:
    assert allowed_domains(declared) == kept


def test_a_view_of_another_type_is_said_in_words(
    server: ServerHandle, tools: agentnb.types.McpTools
) -> None:
    run = called(server, tools, "broken")
    [call] = run.tool_calls
    assert call.output == "broken in NVDA"
    assert call.shown == {
        "mime": "text/plain",
        "data": "The tool's view ui://apps/broken.html could not be shown: "
        "ValueError: it is text/html, not text/html;profile=mcp-app",
    }


def test_the_static_copy_shows_the_text_and_says_a_view_was_there(
    server: ServerHandle, tools: agentnb.types.McpTools
) -> None:
    run = called(server, tools, "show_time")
    copy = static_bundle([run])
    said = "An MCP App view (ui://apps/clock.html) shows this result in the live chat cell"
    for mime in ("text/html", "text/markdown"):
        text = copy[mime].replace("\\", "")  # markdown's escapes
        assert said in text, mime
        assert "12:00 in NVDA" in text, mime
        assert "Get server time" not in text, "never the view itself"

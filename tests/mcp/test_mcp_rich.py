"""An MCP tool's result in more than text (``rich_server.py``, written with the ``mcp`` SDK, its
tools called by the built-in server's ``finance_agent``): an image shows as the image in the
call's card and goes to the model as an image where the dialect takes images; a tabular
``structuredContent`` as a table, any other as a collapsible tree; resource links as links.
Bounded (an image bomb, 10^6 rows, 1,000 levels) and safe (markup where text goes)."""

from __future__ import annotations

import base64
import re
from typing import Any

import mcp.types as types
from mcp_servers import run_calling, tools_of

import agentnb
from agentnb._app.mcp.mcp_results import MAX_TREE_DEPTH, formed_result
from agentnb._core.client_tools import FormedResult, ToolResult
from agentnb._display.safe_html import safe_html
from agentnb.providers import anthropic
from agentnb.server import ServerHandle

tools = tools_of("rich_server.py")


def called(
    server: ServerHandle, tools: agentnb.types.McpTools, name: str, dialect: str = "openai"
) -> agentnb.Run:
    """A run whose agent calls the tool ``rich__<name>``."""
    return run_calling(server, tools, f"rich__{name}", message=f"call {name}", dialect=dialect)


def shown(run: agentnb.Run) -> dict[str, str]:
    [call] = run.tool_calls
    assert call.status == "succeeded", call.error
    assert call.shown is not None
    return call.shown


def test_an_image_shows_as_the_image_and_the_agent_reads_that_it_was_there(
    server: ServerHandle, tools: agentnb.types.McpTools
) -> None:
    run = called(server, tools, "chart")
    form = shown(run)
    assert form["mime"] == "image/png"
    assert base64.b64decode(form["data"]).startswith(b"\x89PNG")
    assert run.tool_calls[0].output == "a chart of NVDA\n[image/png (153 bytes), not text]"


def test_an_image_goes_to_the_model_where_the_dialect_takes_images(
    server: ServerHandle, tools: agentnb.types.McpTools
) -> None:
    """OpenAI Responses: an ``input_image`` part beside the text (the built-in server's agent
    says what it was given); Anthropic: an image block in the ``tool_result``."""
    run = called(server, tools, "chart", dialect="openai-responses")
    assert run.text.endswith("[an image]"), run.text
    result = ToolResult("c1", "rich__chart", "{}", "a chart", images=(("image/png", "AAAA"),))
    block = anthropic._tool_result(result)
    assert block["content"] == [
        {"type": "text", "text": "a chart"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
    ]


def test_an_image_bomb_is_said_in_words_and_never_sent(
    server: ServerHandle, tools: agentnb.types.McpTools
) -> None:
    run = called(server, tools, "bomb", dialect="openai-responses")
    form = shown(run)
    assert form["mime"] == "text/html"
    assert "100,000 × 100,000 pixels: more than a chat cell shows" in form["data"]
    assert "<img" not in form["data"]
    assert "[an image]" not in run.text


def test_tabular_structured_content_is_a_table(
    server: ServerHandle, tools: agentnb.types.McpTools
) -> None:
    form = shown(called(server, tools, "prices"))
    assert form["mime"] == "text/html"
    assert "<th>ticker</th><th>close</th>" in form["data"]
    assert "<td>NVDA</td><td>875.4</td>" in form["data"]
    assert safe_html(form["data"]) == form["data"], "the static copy keeps it as it is"


def test_a_million_rows_show_their_first_fifty(
    server: ServerHandle, tools: agentnb.types.McpTools
) -> None:
    form = shown(called(server, tools, "rows"))
    assert form["data"].count("<tr>") == 51  # the head and fifty rows
    assert "50 of 1,000,000 rows shown" in form["data"]


def test_other_structured_content_is_a_collapsible_tree(
    server: ServerHandle, tools: agentnb.types.McpTools
) -> None:
    form = shown(called(server, tools, "nested"))
    data = form["data"]
    assert data.startswith("<details open><summary>structured content {3 keys}</summary>")
    assert "<summary>quote {2 keys}</summary>" in data
    assert "<strong>close</strong>: <code>875.4</code>" in data
    assert safe_html(data) == data.replace("<details open>", '<details open="">')
    deep = shown(called(server, tools, "deep"))["data"]
    assert f"deeper than {MAX_TREE_DEPTH} levels: not shown" in deep
    assert deep.count("<details") == MAX_TREE_DEPTH


def test_resource_links_are_links_only_to_the_web(
    server: ServerHandle, tools: agentnb.types.McpTools
) -> None:
    data = shown(called(server, tools, "links"))["data"]
    assert '<a href="https://example.com/nvda">NVDA report</a>' in data
    assert "raw <code>file:///srv/reports/nvda.csv</code>" in data
    assert "javascript" not in safe_html(data).split("<code>")[0].split("href")[-1]
    assert 'href="javascript' not in data


def test_an_image_and_a_table_show_together(
    server: ServerHandle, tools: agentnb.types.McpTools
) -> None:
    data = shown(called(server, tools, "report"))["data"]
    assert data.startswith('<p><img src="data:image/png;base64,iVBOR')
    assert "<td>NVDA</td>" in data
    assert safe_html(data) == data


def test_markup_from_the_server_is_text(
    server: ServerHandle, tools: agentnb.types.McpTools
) -> None:
    data = shown(called(server, tools, "hostile"))["data"]
    assert "<script" not in data and "<img" not in data and "<b>" not in data
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in data
    assert 'href="https://example.com/&quot;onmouseover=&quot;alert(3)"' in data
    assert safe_html(data) == data.replace(
        '">&lt;b&gt;', '" target="_blank" rel="noopener noreferrer nofollow">&lt;b&gt;'
    )


def formed(structured: Any = None, *content: Any) -> FormedResult:
    """The forms of a result built here (the SDK's server will not write some of these)."""
    result = types.CallToolResult.model_construct(
        content=list(content), structured_content=structured, is_error=False
    )
    made = formed_result(result, "text", "tool")
    assert isinstance(made, FormedResult)
    return made


def test_a_thousand_levels_and_a_wide_tree_are_shown_within_bounds() -> None:
    tree: dict[str, Any] = {"leaf": 1}
    for _ in range(1_000):
        tree = {"next": tree}
    assert f"deeper than {MAX_TREE_DEPTH} levels" in formed(tree).shown["data"]  # type: ignore[index]
    wide = formed({"a": list(range(1_000_000)), "b": {"c": 1}}).shown
    assert wide is not None
    assert re.search(r"999,\d{3} more not shown", wide["data"])


def test_too_many_images_and_other_kinds_are_said_in_words() -> None:
    from rich_server import png

    image = types.ImageContent(data=png(4, 4), mime_type="image/png")
    made = formed(None, *[image] * 6)
    assert len(made.images) == 4
    assert made.shown is not None
    assert made.shown["data"].count("only the first 4 images are shown") == 2
    svg = types.ImageContent(data="PHN2Zz4=", mime_type="image/svg+xml")
    assert "not a kind shown here" in formed(None, svg).shown["data"]  # type: ignore[index]
    broken = types.ImageContent(data="not base64!", mime_type="image/png")
    assert "not base64" in formed(None, broken).shown["data"]  # type: ignore[index]

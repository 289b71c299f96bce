"""docs/context.md's lines that add the notebook's MCP server to Claude Code, Codex and Gemini
CLI: the Claude Code line is the server's repr, and the three name the same URL and token.
(Each line was run as printed against a served notebook with Claude Code 2.1.197, Codex
0.171.0 and Gemini CLI 0.61.0: ``claude mcp list`` and ``gemini mcp list`` said Connected,
``codex mcp get`` showed the URL over streamable_http with the token's variable.)"""

from __future__ import annotations

import re
from pathlib import Path

from agentnb._app.context.context_server import claude_code_line

PAGE = (Path(__file__).parents[2] / "docs" / "context.md").read_text()


def test_the_pages_client_lines_are_the_servers() -> None:
    claude = re.search(r"^claude mcp add .*$", PAGE, re.MULTILINE)
    assert claude is not None
    url, token = re.fullmatch(
        r'claude mcp add --transport http notebook (\S+) --header "Authorization: Bearer (\S+)"',
        claude.group(),
    ).groups()  # type: ignore[union-attr]
    assert claude.group() == claude_code_line(url, token)
    assert url.startswith("http://127.0.0.1:") and url.endswith("/mcp")
    assert f"\nexport NOTEBOOK_MCP_TOKEN={token}\n" in PAGE
    assert (
        f"\ncodex mcp add notebook --url {url} --bearer-token-env-var NOTEBOOK_MCP_TOKEN\n" in PAGE
    )
    assert (
        f'\ngemini mcp add --transport http --header "Authorization: Bearer {token}" '
        f"notebook {url}\n" in PAGE
    )

"""An MCP server written with the ``mcp`` SDK, over stdio, for the tests of
``agentnb.mcp_tools``: ``lookup`` reads (``readOnlyHint``), ``write_note`` changes a file
(``destructiveHint``: it asks first by default), ``fail`` raises, ``die`` ends the process in
the middle of its call, and ``grow`` adds a tool and says the list changed.

Run as ``python notes_server.py NOTES_FILE``: each note written is a line of NOTES_FILE, so a
test sees whether a call ran; the process's id is written to ``NOTES_FILE.pid``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

NOTES = Path(sys.argv[1])
server = MCPServer("notes")


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def lookup(key: str) -> str:
    """Look a key up in the notes."""
    return f"the note on {key} says: buy low"


@server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True))
def write_note(text: str) -> str:
    """Write a note (it replaces nothing: each note is a new line)."""
    with NOTES.open("a") as notes:
        notes.write(text + "\n")
    return f"wrote {text!r}"


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def fail(key: str) -> str:
    """A lookup that always fails."""
    raise ToolError(f"no note on {key}: the notebook of notes is closed")


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def die(key: str) -> str:
    """A lookup whose server ends in the middle of it."""
    os._exit(3)


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
async def grow(key: str, ctx: Context) -> str:
    """Add the tool ``count`` and tell the client the list changed."""

    def count(key: str) -> str:
        """Count the notes."""
        return f"{len(NOTES.read_text().splitlines()) if NOTES.exists() else 0} notes"

    server.add_tool(count, annotations=ToolAnnotations(read_only_hint=True))
    await ctx.session.send_tool_list_changed()
    return "added count"


if __name__ == "__main__":
    Path(f"{NOTES}.pid").write_text(str(os.getpid()))
    server.run("stdio")

"""agentnb as the MCP client the MCP conformance suite (``@modelcontextprotocol/conformance``)
drives: ``conformance client --command "python conformance_client.py"`` starts a server of a
scenario and runs this with its URL last. What a notebook does with a server's tools, this
does: ``mcp_tools(url=...)``, then each tool called as a run calls it, with the arguments
its schema asks for, and a form the server asks in the middle of a call accepted with no
field given (``elicit=``), so the form's defaults are what goes back (SEP-1034)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import agentnb

SAMPLE = {"number": 2, "integer": 3, "string": "text", "boolean": True}
"""A value of each JSON Schema type, for a tool's required arguments."""


def arguments_for(schema: dict[str, Any]) -> dict[str, Any]:
    """A value for each argument the tool's input schema requires."""
    fields = schema.get("properties") or {}
    return {
        name: SAMPLE.get(str(fields.get(name, {}).get("type")), "text")
        for name in schema.get("required") or []
    }


def main(url: str) -> None:
    with agentnb.mcp_tools(url=url, elicit=lambda _form: {}) as tools:
        for tool in tools:
            assert tool.function is not None and tool.user_loop is not None
            call = tool.function(**arguments_for(dict(tool.parameters)))
            said = asyncio.run_coroutine_threadsafe(call, tool.user_loop).result(60)
            print(f"{tool.name}: {said}")


if __name__ == "__main__":
    main(sys.argv[-1])

"""An MCP server over stdio written without the SDK, whose one tool ``deep`` answers with a
result nested 100,000 lists deep: JSON no reader takes (the ``mcp`` SDK's drops it), so the
client never sees an answer to its call."""

from __future__ import annotations

import json
import sys

DEPTH = 100_000


def send(message: dict[str, object]) -> None:
    sys.stdout.write(json.dumps({"jsonrpc": "2.0", **message}) + "\n")
    sys.stdout.flush()


for line in sys.stdin:
    message = json.loads(line)
    method, ident = message.get("method"), message.get("id")
    if method == "initialize":
        version = message["params"]["protocolVersion"]
        send({"id": ident, "result": {"protocolVersion": version, "capabilities": {"tools": {}},
              "serverInfo": {"name": "deep", "version": "1"}}})  # fmt: skip
    elif method == "tools/list":
        schema = {"type": "object", "properties": {}}
        send({"id": ident, "result": {"tools": [{"name": "deep", "inputSchema": schema}]}})
    elif method == "tools/call":
        nested = "[" * DEPTH + "]" * DEPTH
        sys.stdout.write(f'{{"jsonrpc": "2.0", "id": {json.dumps(ident)}, "result": {nested}}}\n')
        sys.stdout.flush()
    elif ident is not None:
        send({"id": ident, "error": {"code": -32601, "message": "no such method"}})

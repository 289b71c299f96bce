"""An ACP agent written without the SDK: newline-delimited JSON-RPC read and written by hand
(the wire as the protocol's schema gives it). ``RAW_AGENT_LOGIN=1`` makes it an agent that
needs a login: ``session/new`` answers "Authentication required" (-32000); its terminal login's
arguments are ``RAW_AGENT_LOGIN_ARGS`` (JSON), else ``["--login"]``."""

from __future__ import annotations

import json
import os
import sys

NEEDS_LOGIN = os.environ.get("RAW_AGENT_LOGIN") == "1"
LOGIN_ARGS = json.loads(os.environ.get("RAW_AGENT_LOGIN_ARGS") or '["--login"]')


def send(message: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def update(session: str, kind: str, text: str) -> None:
    content = {"type": "text", "text": text}
    params = {"sessionId": session, "update": {"sessionUpdate": kind, "content": content}}
    send({"jsonrpc": "2.0", "method": "session/update", "params": params})


def main() -> None:
    sessions = 0
    for line in sys.stdin:
        message = json.loads(line)
        method, rpc_id = message.get("method"), message.get("id")
        params = message.get("params") or {}
        if method == "initialize":
            methods = [
                {
                    "id": "api-key",
                    "name": "API key",
                    "description": "a key from the dashboard",
                    "type": "env_var",
                    "vars": [{"name": "RAW_AGENT_KEY"}],
                },
                {"id": "login", "name": "Log in", "type": "terminal", "args": LOGIN_ARGS},
            ]
            result = {
                "protocolVersion": 1,
                "agentCapabilities": {"loadSession": False},
                "authMethods": methods if NEEDS_LOGIN else [],
                "agentInfo": {"name": "raw-agent", "version": "0.0.1"},
            }
            send({"jsonrpc": "2.0", "id": rpc_id, "result": result})
        elif method == "session/new":
            if NEEDS_LOGIN:
                error = {"code": -32000, "message": "Authentication required"}
                send({"jsonrpc": "2.0", "id": rpc_id, "error": error})
                continue
            sessions += 1
            send({"jsonrpc": "2.0", "id": rpc_id, "result": {"sessionId": f"raw-{sessions}"}})
        elif method == "session/prompt":
            session = params["sessionId"]
            text = " ".join(b.get("text", "") for b in params["prompt"])
            update(session, "agent_thought_chunk", "reading the prompt")
            update(session, "agent_message_chunk", "raw: ")
            update(session, "agent_message_chunk", text)
            send({"jsonrpc": "2.0", "id": rpc_id, "result": {"stopReason": "end_turn"}})
        elif rpc_id is not None:
            error = {"code": -32601, "message": f"no method {method}"}
            send({"jsonrpc": "2.0", "id": rpc_id, "error": error})


if __name__ == "__main__":
    main()

"""The scripted agent (``scripted_agent.py``) served over the official SDK's HTTP/WebSocket
transport (``acp.http.create_asgi_app``) by uvicorn on 127.0.0.1, from ``.tools/acp-http``
(``tests/sdk_envs/acp-http.txt``): ``python served_agent.py PORT``. ``GET /ready`` answers
200 once it serves; the agent's endpoint is ``/acp`` (a new agent for each connection)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import uvicorn
from acp.http.asgi import create_asgi_app

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scripted_agent import ScriptedAgent

agent_app = create_asgi_app(lambda connection: ScriptedAgent())


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http" and scope["path"] == "/ready":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ready"})
        return
    await agent_app(scope, receive, send)


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")

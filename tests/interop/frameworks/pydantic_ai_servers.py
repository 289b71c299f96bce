"""A Pydantic AI agent with one tool (``add``), its model Pydantic AI's ``OpenAIChatModel``
pointed at the scripted model, served both ways Pydantic AI serves an agent. Run with the
``.tools/pydanticai`` venv's Python:

    python pydantic_ai_servers.py PORT MODEL_URL

AG-UI at ``/agui`` (``AGUIAdapter.dispatch_request`` with ``include_usage``), A2A at ``/``
(fasta2a's ``agent_to_a2a``); ``/ping`` answers once serving."""

from __future__ import annotations

import os
import sys
from types import FrameType

import uvicorn
from fasta2a.pydantic_ai import agent_to_a2a
from pydantic_ai import Agent
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider
from pydantic_ai.ui.ag_ui import AGUIAdapter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route


def add(a: int, b: int) -> int:
    """Adds two whole numbers."""
    return a + b


class Ending(uvicorn.Server):
    """Ends at the first SIGTERM: fasta2a's worker waits on a task Stop left running (its
    cancel does nothing), and uvicorn's shutdown on that worker, which the test is past."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        os._exit(0)


if __name__ == "__main__":
    port, model_url = int(sys.argv[1]), sys.argv[2]
    provider = OpenAIProvider(base_url=model_url, api_key="sk-scripted")
    model = OpenAIChatModel("m", provider=provider)
    agent = Agent(model, tools=[add], name="calc", instructions="You add numbers with add.")

    async def agui(request: Request) -> Response:
        return await AGUIAdapter.dispatch_request(request, agent=agent, include_usage=True)

    async def ping(request: Request) -> Response:
        return PlainTextResponse("ok")

    a2a = agent_to_a2a(agent, url=f"http://127.0.0.1:{port}")
    routes = [Route("/agui", agui, methods=["POST"]), Route("/ping", ping), Mount("/", a2a)]
    app = Starlette(routes=routes, lifespan=lambda app: a2a.router.lifespan_context(a2a))
    Ending(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")).run()

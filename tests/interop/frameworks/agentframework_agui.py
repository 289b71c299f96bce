"""A Microsoft Agent Framework agent with one tool (``add``) behind ``agent-framework-ag-ui``,
its model ``OpenAIChatCompletionClient`` pointed at the scripted model. Run with the
``.tools/agentframework`` venv's Python:

    python agentframework_agui.py PORT MODEL_URL

The AG-UI endpoint is ``/``; ``/health`` answers once serving. The endpoint needs an
authorization mode to start: ``single_user=True`` is the one for a person's own server. The
chat client reads no ``reasoning_content`` of its own: its ``response_parser`` hook does."""

from __future__ import annotations

import sys
from typing import Any

import uvicorn
from agent_framework import Agent, Content, tool
from agent_framework.ag_ui import add_agent_framework_fastapi_endpoint
from agent_framework.openai import OpenAIChatCompletionClient
from fastapi import FastAPI


@tool
def add(a: int, b: int) -> int:
    """Adds two whole numbers."""
    return a + b


def with_reasoning(delta: Any, contents: list[Content]) -> list[Content]:
    """The model's ``reasoning_content`` as the agent's reasoning."""
    reasoning = getattr(delta, "reasoning_content", None)
    return [Content.from_text_reasoning(text=reasoning), *contents] if reasoning else contents


if __name__ == "__main__":
    port, model_url = int(sys.argv[1]), sys.argv[2]
    client = OpenAIChatCompletionClient(
        model="m", api_key="sk-scripted", base_url=model_url, response_parser=with_reasoning
    )
    agent = Agent(
        client=client, name="calc", instructions="You add numbers with the add tool.", tools=[add]
    )
    app = FastAPI()
    add_agent_framework_fastapi_endpoint(app, agent, "/", single_user=True)
    app.add_api_route("/health", lambda: {"status": "ok"})
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")

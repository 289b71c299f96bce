"""A Strands agent with one tool (``add``) behind ``ag-ui-strands``, its model Strands'
``OpenAIModel`` pointed at the scripted model. Run with the ``.tools/strands`` venv's Python:

    python strands_agui.py PORT MODEL_URL

The AG-UI endpoint is ``/``; ``/ping`` answers once serving."""

from __future__ import annotations

import sys

import uvicorn
from ag_ui_strands import StrandsAgent, create_strands_app
from strands import Agent, tool
from strands.models.openai import OpenAIModel


@tool
def add(a: int, b: int) -> int:
    """Adds two whole numbers."""
    return a + b


if __name__ == "__main__":
    port, model_url = int(sys.argv[1]), sys.argv[2]
    model = OpenAIModel(client_args={"base_url": model_url, "api_key": "sk-scripted"}, model_id="m")
    agent = Agent(model=model, tools=[add], system_prompt="You add numbers with the add tool.")
    app = create_strands_app(StrandsAgent(agent, name="calc"), origins=["http://127.0.0.1"])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")

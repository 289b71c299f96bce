"""A Strands agent with one tool (``add``), its model Strands' ``OpenAIModel`` pointed at the
scripted model, served as Strands' docs serve one: behind ``ag-ui-strands`` at ``/``, and by
Strands' own ``A2AServer`` twice, at ``/a2a/legacy`` (its default stream: the answer as
working-status messages, then whole as an artifact) and at ``/a2a/compliant``
(``enable_a2a_compliant_streaming=True``: the answer as chunks of one artifact). Run with
the ``.tools/strands`` venv's Python:

    python strands_servers.py PORT MODEL_URL

``/ping`` (``create_strands_app``'s) answers once serving."""

from __future__ import annotations

import sys

import uvicorn
from ag_ui_strands import StrandsAgent, create_strands_app
from strands import Agent, tool
from strands.models.openai import OpenAIModel
from strands.multiagent.a2a import A2AServer


@tool
def add(a: int, b: int) -> int:
    """Adds two whole numbers."""
    return a + b


def calculator(model_url: str) -> Agent:
    model = OpenAIModel(client_args={"base_url": model_url, "api_key": "sk-scripted"}, model_id="m")
    return Agent(
        name="calc",
        description="Adds numbers.",
        model=model,
        tools=[add],
        system_prompt="You add numbers with the add tool.",
    )


if __name__ == "__main__":
    port, model_url = int(sys.argv[1]), sys.argv[2]
    app = create_strands_app(
        StrandsAgent(calculator(model_url), name="calc"), origins=["http://127.0.0.1"]
    )
    for mode, compliant in (("legacy", False), ("compliant", True)):
        a2a = A2AServer(
            agent_factory=lambda _context: calculator(model_url),
            http_url=f"http://127.0.0.1:{port}/a2a/{mode}",
            serve_at_root=True,
            enable_a2a_compliant_streaming=compliant,
        )
        app.mount(f"/a2a/{mode}", a2a.to_starlette_app())

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")

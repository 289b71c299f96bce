"""An ADK agent behind ``ag-ui-adk`` (ADK's AG-UI middleware), with the scripted model of
``adk_agents/scripted_llm.py``: no network, no key. Its ``add`` tool needs a person's
confirmation (``require_confirmation=True``), so ADK asks with ``adk_request_confirmation``.
Run with the ``.tools/google-adk`` venv's Python:

    python adk_agui.py PORT [AGENTS_DIR]

Routes: ``/`` (the confirmation as a tool call the client answers: ag-ui-adk's default) and
``/interrupts`` (``emit_interrupt_outcome=True``: a ``RUN_FINISHED`` interrupt resumed with
``resume``); ``/health``: 200 once serving.
"""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn
from ag_ui_adk import ADKAgent, add_adk_fastapi_endpoint
from fastapi import FastAPI
from google.adk.agents import LlmAgent
from google.adk.tools import FunctionTool


def add(a: int, b: int) -> int:
    """Adds two whole numbers."""
    return a + b


def middleware(*, interrupts: bool) -> ADKAgent:
    from scripted_llm import ScriptedLlm

    agent = LlmAgent(
        name="calc",
        model=ScriptedLlm(),
        instruction="You add numbers with the add tool.",
        tools=[FunctionTool(add, require_confirmation=True)],
    )
    return ADKAgent(
        adk_agent=agent,
        app_name="calc",
        user_id="notebook",
        use_in_memory_services=True,
        emit_interrupt_outcome=interrupts,
    )


if __name__ == "__main__":
    port = int(sys.argv[1])
    agents = sys.argv[2] if len(sys.argv) > 2 else str(Path(__file__).parent / "adk_agents")
    sys.path.insert(0, agents)
    app = FastAPI()
    add_adk_fastapi_endpoint(app, middleware(interrupts=False), path="/")
    add_adk_fastapi_endpoint(app, middleware(interrupts=True), path="/interrupts")
    app.add_api_route("/health", lambda: {"status": "ok"})
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")

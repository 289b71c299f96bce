"""An ADK agent whose ``add`` tool a person confirms first (``require_confirmation=True``:
ADK asks with ``adk_request_confirmation``), on the scripted model (``scripted_llm.py``)."""

from __future__ import annotations

from google.adk.agents import LlmAgent
from google.adk.tools import FunctionTool
from scripted_llm import ScriptedLlm  # beside the agents: ADK puts their folder on sys.path


def add(a: int, b: int) -> int:
    """Adds two whole numbers."""
    return a + b


root_agent = LlmAgent(
    name="confirm",
    model=ScriptedLlm(),
    instruction="You add numbers with the add tool, once a person confirms it.",
    tools=[FunctionTool(add, require_confirmation=True)],
)

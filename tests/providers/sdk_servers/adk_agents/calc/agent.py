"""An ADK agent with one tool, ``add``, and the scripted model (``scripted_llm.py``)."""

from __future__ import annotations

from google.adk.agents import LlmAgent
from scripted_llm import ScriptedLlm  # beside the agents: ADK puts their folder on sys.path


def add(a: int, b: int) -> int:
    """Adds two whole numbers."""
    return a + b


root_agent = LlmAgent(
    name="calc",
    model=ScriptedLlm(),
    instruction="You add numbers with the add tool.",
    tools=[add],
)

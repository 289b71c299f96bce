"""An ADK agent whose ``add`` is a long-running function tool (``LongRunningFunctionTool``):
ADK declares it to the model and pauses the run at its call; the notebook runs it and sends
the result back on the session. On the scripted model (``scripted_llm.py``)."""

from __future__ import annotations

from google.adk.agents import LlmAgent
from google.adk.tools import LongRunningFunctionTool
from scripted_llm import ScriptedLlm  # beside the agents: ADK puts their folder on sys.path


def add(a: int, b: int) -> None:
    """Adds two whole numbers in the notebook."""
    return None  # the result comes from the client, on the session


root_agent = LlmAgent(
    name="notebook",
    model=ScriptedLlm(),
    instruction="You add numbers with the add tool, which the notebook runs.",
    tools=[LongRunningFunctionTool(add)],
)

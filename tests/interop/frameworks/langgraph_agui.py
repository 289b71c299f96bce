"""A LangGraph agent with one tool (``add``), a ReAct graph (LangChain's ``create_agent``,
the current spelling of ``create_react_agent``) with a checkpointer for its threads, its
model ``langchain-openai``'s ``ChatOpenAI`` pointed at the scripted model, served as
``ag-ui-langgraph``'s README serves one: ``add_langgraph_fastapi_endpoint`` on a FastAPI app,
at ``/``. Run with the ``.tools/langgraphagui`` venv's Python:

    python langgraph_agui.py PORT MODEL_URL

``/health`` (the endpoint's own) answers once serving."""

from __future__ import annotations

import sys

import uvicorn
from ag_ui_langgraph import LangGraphAgent, add_langgraph_fastapi_endpoint
from fastapi import FastAPI
from langchain.agents import create_agent
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langgraph.checkpoint.memory import InMemorySaver


@tool
def add(a: int, b: int) -> int:
    """Adds two whole numbers."""
    return a + b


if __name__ == "__main__":
    port, model_url = int(sys.argv[1]), sys.argv[2]
    model = ChatOpenAI(model="m", base_url=model_url, api_key="sk-scripted", stream_usage=True)
    graph = create_agent(
        model,
        [add],
        system_prompt="You add numbers with the add tool.",
        checkpointer=InMemorySaver(),
    )
    app = FastAPI()
    add_langgraph_fastapi_endpoint(app, LangGraphAgent(name="calc", graph=graph), "/")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")

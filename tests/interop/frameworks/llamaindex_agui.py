"""A LlamaIndex AG-UI workflow (``llama-index-protocols-ag-ui``'s router) with one backend
tool (``add``), its model ``OpenAILike`` pointed at the scripted model. Run with the
``.tools/llamaindex`` venv's Python:

    python llamaindex_agui.py PORT MODEL_URL

The AG-UI endpoint is ``/run``; ``/health`` answers once serving."""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI
from llama_index.llms.openai_like import OpenAILike
from llama_index.protocols.ag_ui.router import get_ag_ui_workflow_router


def add(a: int, b: int) -> int:
    """Adds two whole numbers."""
    return a + b


if __name__ == "__main__":
    port, model_url = int(sys.argv[1]), sys.argv[2]
    llm = OpenAILike(
        model="m",
        api_base=model_url,
        api_key="sk-scripted",
        is_chat_model=True,
        is_function_calling_model=True,
    )
    app = FastAPI()
    app.include_router(get_ag_ui_workflow_router(llm=llm, backend_tools=[add]))
    app.add_api_route("/health", lambda: {"status": "ok"})
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")

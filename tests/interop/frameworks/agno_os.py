"""An Agno agent with one tool (``add``) in an AgentOS serving it over AG-UI (``/agui``) and
A2A (its card: ``/a2a/agents/calc/.well-known/agent-card.json``), its model ``OpenAILike``
pointed at the scripted model; its sessions in a SQLite file in the working directory.
Run with the ``.tools/agno`` venv's Python:

    python agno_os.py PORT MODEL_URL

``/health`` answers once serving."""

from __future__ import annotations

import sys

import uvicorn
from agno.agent import Agent
from agno.db.sqlite import SqliteDb
from agno.models.openai.like import OpenAILike
from agno.os import AgentOS
from agno.os.interfaces.a2a import A2A
from agno.os.interfaces.agui import AGUI


def add(a: int, b: int) -> int:
    """Adds two whole numbers."""
    return a + b


if __name__ == "__main__":
    port, model_url = int(sys.argv[1]), sys.argv[2]
    agent = Agent(
        id="calc",
        name="calc",
        model=OpenAILike(id="m", base_url=model_url, api_key="sk-scripted"),
        tools=[add],
        db=SqliteDb(db_file="agno.db"),
        add_history_to_context=True,
        instructions="You add numbers with the add tool.",
    )
    agent_os = AgentOS(agents=[agent], interfaces=[AGUI(agent=agent), A2A(agents=[agent])])
    uvicorn.run(agent_os.get_app(), host="127.0.0.1", port=port, log_level="warning")

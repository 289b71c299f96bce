"""The ADK agent of ``adk_agents/calc`` served over A2A by ADK's own ``to_a2a()`` (a2a-sdk
underneath), with its scripted model: no network, no key. Run with the ``.tools/google-adk``
venv's Python:

    python adk_a2a.py PORT [AGENTS_DIR]

AGENTS_DIR (default: ``adk_agents`` beside this file) holds the agent. The agent card is at ``/.well-known/agent-card.json``; JSON-RPC at the root.
"""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn
from google.adk.a2a.utils.agent_to_a2a import to_a2a

if __name__ == "__main__":
    port = int(sys.argv[1])
    agents = sys.argv[2] if len(sys.argv) > 2 else str(Path(__file__).parent / "adk_agents")
    sys.path.insert(0, agents)  # as ADK's loader does for an agents' folder
    from calc.agent import root_agent

    app = to_a2a(root_agent, host="127.0.0.1", port=port)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")

"""The demo agents of the built-in server: deterministic (the same input always gives the same
steps), offline, no model behind them.

What an agent is
    An object with the attributes of :class:`Agent` (``_agent_input.py``): its ``name`` (what
    a client asks for), the ``model`` it reports (a real model id prices its usage), a
    ``description``, its ``tools``, ``needs_approval`` / ``asks_questions`` (only dialects
    that can say "wait for a human" stream such an agent), ``check(request)`` (raise
    :class:`InputProblem` for an option it cannot use: a 422 at that option) and
    ``steps(request)``: a generator of whole steps (:mod:`agentnb.server._steps`: a
    ``Reasoning`` paragraph, ``ToolStart`` / ``ToolEnd`` or ``tool_call`` (which runs a tool
    of ``_tools.py``), the answer's ``Text``, then ``Finish``). The service cuts text into
    stream-sized chunks, paces them, counts tokens and renders the steps in every dialect;
    after an ``ApprovalRequest`` it sends the human's ``Decision`` back into the generator.
    An agent imports nothing of the service (``tests/test_layers.py``).

Adding one (a ``judge``, say)
    1. Write ``_judge_agent.py`` here with a class ``JudgeAgent(DemoAgent)`` shaped like the
       others: :class:`DemoAgent` holds the defaults (no tools, no approval, no question, any
       input), the class sets what differs (``_echo_agent.py`` is the smallest,
       ``_trader_agent.py`` waits for an approval, ``_research_team_agent.py`` delegates to
       sub-agents); a new tool goes in ``_tools.py``'s ``TOOLS``.
    2. Add ``JudgeAgent()`` to :data:`AGENTS` below. Every dialect serves it from then on,
       and ``GET /``, the OpenAI models and the LangGraph assistants list it.
    3. Test its steps in ``tests/server/test_server_agents.py`` and describe it in
       ``docs/server.md`` and in the agents paragraph of ``agentnb/server/__init__.py``.
"""

from __future__ import annotations

import difflib

from ._agent_input import Agent, AgentInput, ChatMessage, InputProblem
from ._echo_agent import EchoAgent
from ._finance_agent import FinanceAgent
from ._judge_agent import JudgeAgent
from ._notebook_agent import NotebookAgent
from ._planner_agent import PlannerAgent
from ._research_team_agent import ResearchTeamAgent
from ._structured_agent import StructuredAgent
from ._trader_agent import TraderAgent
from ._writer_agent import WriterAgent

__all__ = [
    "AGENTS",
    "Agent",
    "AgentInput",
    "ChatMessage",
    "InputProblem",
    "unknown_agent",
]


AGENTS: dict[str, Agent] = {
    agent.name: agent
    for agent in (
        FinanceAgent(),
        EchoAgent(),
        WriterAgent(),
        StructuredAgent(),
        TraderAgent(),
        PlannerAgent(),
        ResearchTeamAgent(),
        JudgeAgent(),
        NotebookAgent(),
    )
}
"""Every agent the server runs, by name (a new agent's instance goes here)."""


def unknown_agent(name: str) -> str:
    """What a 404 for agent ``name`` says: the closest agent's name first when there is one,
    then every agent of this server."""
    close = difflib.get_close_matches(name, AGENTS, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown agent {name!r}; {hint}this server has: {', '.join(sorted(AGENTS))}"

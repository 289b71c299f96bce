"""The ``echo`` demo agent: it answers with the user's message, unchanged (for tests)."""

from __future__ import annotations

from collections.abc import Iterator

from .._steps import Finish, Step, Text
from ._agent_input import AgentInput, DemoAgent

__all__ = ["EchoAgent"]


class EchoAgent(DemoAgent):
    name = "echo"
    model = "agentnb-echo"
    """The model it reports it ran: one genai-prices does not know (a private model,
    so its runs have no cost)."""
    description = "Answers with the user's message, unchanged (for tests)."

    def steps(self, request: AgentInput) -> Iterator[Step]:
        yield Text(request.message)
        followups = ("Say it again.", "Say it louder.") if request.followups else ()
        yield Finish(final_output=request.message, followups=followups)

"""The ``planner`` demo agent: it asks the human a free-form question before it answers.

Its ``ask_user`` call waits for a human (an :class:`~agentnb.server._steps.ApprovalRequest`
with a ``question``); the run pauses until the answer comes back through the dialect's own
channel (Operativus' ``/approvals`` extension carries ``answer``). Answered: the plan names the
destination given; denied: the answer says there is no plan without one.
"""

from __future__ import annotations

from collections.abc import Generator

from .._steps import Decision, Reasoning, Step, ToolDenied, ToolEnd
from ._agent_input import AgentInput, CallIds, DemoAgent, asked, final_answer

__all__ = ["QUESTION", "PlannerAgent"]

QUESTION = "Where would you like to go?"
MAX_SHOWN = 200
"""Characters of the human's answer the plan repeats."""


class PlannerAgent(DemoAgent):
    name = "planner"
    model = "o3-mini"
    """The model it reports it ran (a real id, so its runs are priced by genai-prices)."""
    description = "Plans a DEMO trip: asks where you want to go, then answers with a plan."
    tools: tuple[str, ...] = ("ask_user",)
    needs_approval = True
    asks_questions = True

    def steps(self, request: AgentInput) -> Generator[Step, Decision | None, None]:
        call_id = CallIds(request.run_id).next()
        yield Reasoning("I need a destination before I can plan, so I ask the user.")
        decision = yield from asked(call_id, "ask_user", {"question": QUESTION}, question=QUESTION)
        if decision is None or not decision.approved:
            reason = decision.reason if decision is not None else None
            yield ToolDenied(call_id, "ask_user", reason)
            answer = "I cannot plan a trip without a destination."
        else:
            destination = _destination(decision.answer)
            yield ToolEnd(call_id, "ask_user", {"answer": decision.answer}, None)
            answer = f"A **demo** plan for {destination}: arrive, explore for two days, return."
        yield from final_answer(answer)


def _destination(answer: object) -> str:
    """The human's answer, one line, at most :data:`MAX_SHOWN` characters."""
    text = " ".join(str(answer if answer is not None else "").split()) or "(no answer)"
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"

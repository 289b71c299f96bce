"""A question a tool asks a person while it runs (an MCP server's elicitation: a form to fill
in, or a link to open), and the reply.

A tool that asks (``ClientTool.asks``) gets, first, an :data:`Ask`: it hands the question
(a JSON form, as a person is shown it) to its run, which shows it (``ToolQuestionAsked``:
the chat cell's card, the terminal's prompt) and gets the reply through the run's
:class:`~agentnb._core.approvals.ApprovalGate`, the one place a person decides: a view's
buttons (``RunHandle.reply``), an approver that answers questions (:class:`QuestionAnswerer`:
the terminal's prompt), or, when nobody can answer (a caller waiting for the run's end),
declined, saying so.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .transcript import ToolCall

__all__ = ["ACTIONS", "Action", "Ask", "QuestionAnswerer", "QuestionReply", "nobody_could_answer"]

Action = Literal["accept", "decline", "cancel"]
ACTIONS: tuple[Action, ...] = ("accept", "decline", "cancel")


@dataclass(frozen=True)
class QuestionReply:
    """The reply to a question: ``accept`` (with the form's ``content``; a link's: the person
    will open it), ``decline`` or ``cancel`` (the person dismissed it)."""

    action: Action
    content: dict[str, Any] | None = None
    reason: str | None = None
    """Why, when nobody could answer (or the call ended first)."""
    by_user: bool = False
    """A person replied (a click, a prompt), not a policy."""


@dataclass(frozen=True)
class Ask:
    """What a tool that asks gets first: called with a question (the form as shown), asks a
    person and returns the reply; :attr:`progress` shows how the call is going meanwhile (an
    MCP server's progress notification) on its card and in the terminal."""

    question: Callable[[dict[str, Any]], Awaitable[QuestionReply]]
    progress: Callable[[str], None]

    async def __call__(self, question: dict[str, Any]) -> QuestionReply:
        return await self.question(question)


@runtime_checkable
class QuestionAnswerer(Protocol):
    """An approver that can also answer a question a call asks while it runs (the terminal's
    prompt): returns the reply, or None to leave it to a person elsewhere."""

    async def answer_question(self, call: ToolCall) -> QuestionReply | None: ...


def nobody_could_answer(why: str) -> str:
    """The reason given with a question declined because nobody could answer it."""
    return f"nobody could answer it: {why}"

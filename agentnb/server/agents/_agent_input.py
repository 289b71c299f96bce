"""What an agent is given and what it is: the input every dialect's request boils down to,
the agent protocol, and small helpers the demo agents share."""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .._steps import AnyStep, ApprovalRequest, Decision, Finish, Step, Text, ToolEnd, ToolStart
from .._tokens import count_tokens
from ._tools import ToolOutput, call_tool

__all__ = [
    "DEFAULT_TICKER",
    "Agent",
    "AgentInput",
    "CallIds",
    "ChatMessage",
    "DemoAgent",
    "InputProblem",
    "asked",
    "final_answer",
    "tickers_in",
    "tool_call",
]

MAX_TICKERS = 3
DEFAULT_TICKER = "NVDA"

_TICKERISH = re.compile(r"(?<![\w$])\$?([A-Z]{2,5})(?!\w)")
_NOT_TICKERS = frozenset(
    [
        "AI",
        "API",
        "CEO",
        "CFO",
        "EPS",
        "ETF",
        "EUR",
        "FAQ",
        "GDP",
        "IPO",
        "OK",
        "PM",
        "AM",
        "US",
        "USA",
        "USD",
        "UK",
        "EU",
        "ID",
        "JSON",
        "SQL",
        "PDF",
        "TL",
        "DR",
    ]
)


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One earlier message of the conversation, as the client sent it."""

    role: str
    content: str
    tool_calls: tuple[dict[str, Any], ...] = ()
    """An assistant message's calls, OpenAI-shaped: ``{id, type, function {name, arguments}}``."""
    tool_call_id: str | None = None
    """A ``tool`` message: the call whose result ``content`` holds (as JSON text)."""
    reasoning: str = ""
    """An assistant message's reasoning, where the dialect sends it back (UI messages)."""


@dataclass(frozen=True)
class AgentInput:
    """What a dialect's request boils down to."""

    message: str
    run_id: str = "run"
    history: tuple[ChatMessage, ...] = ()
    response_format: Mapping[str, Any] | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    followups: bool = False
    client_tools: tuple[Mapping[str, Any], ...] = ()
    """The tools the client declared (``{name, description, parameters}``), which it runs."""
    tool_results: tuple[ChatMessage, ...] = ()
    """The client's results of the calls left to it (``tool`` messages after the question)."""

    def prompt_tokens(self) -> int:
        return count_tokens(self.message, *(m.content for m in self.history))


class InputProblem(ValueError):
    """The input does not suit the agent. ``field`` names the offending option."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class Agent(Protocol):
    name: str
    model: str
    """The model the agent reports it ran (the demo runs no model: the id prices its usage)."""
    description: str
    tools: tuple[str, ...]
    needs_approval: bool
    """True when a tool call waits for a human (the agent yields :class:`ApprovalRequest`):
    only dialects that can express approval stream such an agent."""
    asks_questions: bool
    """True when an approval request carries a free-form question to answer: only
    dialects that can express one stream such an agent."""

    def check(self, request: AgentInput) -> None:
        """Raise :class:`InputProblem` for input the agent cannot use."""

    def steps(self, request: AgentInput) -> Iterator[AnyStep]:
        """The run, step by step; ends with :class:`Finish`. After an :class:`ApprovalRequest`
        the producer sends the :class:`Decision` into the generator."""


class DemoAgent:
    """What a demo agent is unless it says otherwise: no tools, no call that waits for a human,
    no question, any input taken. An agent subclasses it and sets what differs (its ``name``,
    ``model``, ``description`` and ``steps``, and any of these)."""

    tools: tuple[str, ...] = ()
    needs_approval = False
    asks_questions = False

    def check(self, request: AgentInput) -> None:
        return None


class CallIds:
    """Tool call ids of one run: ``call_<run>_<n>``."""

    def __init__(self, run_id: str) -> None:
        self.prefix = f"call_{run_id.removeprefix('run_')[:8]}"
        self.count = 0

    def next(self) -> str:
        self.count += 1
        return f"{self.prefix}_{self.count}"


def tool_call(
    ids: CallIds, name: str, arguments: dict[str, Any]
) -> Generator[Step, Any, tuple[ToolOutput | None, str | None]]:
    """Start the call, run the tool, end the call: ``(output, error)``."""
    call_id = ids.next()
    yield ToolStart(call_id, name, arguments)
    output, error = call_tool(name, arguments)
    yield ToolEnd(call_id, name, output, error)
    return output, error


def asked(
    call_id: str,
    name: str,
    arguments: dict[str, Any],
    *,
    reason: str | None = None,
    question: str | None = None,
) -> Generator[Step, Decision | None, Decision | None]:
    """Start the call and wait for a human's decision on it (None when none came)."""
    yield ToolStart(call_id, name, arguments)
    return (yield ApprovalRequest(call_id, name, f"approval_{call_id}", reason, question))


def final_answer(text: str) -> Iterator[Step]:
    """Say the answer and end the run with it."""
    yield Text(text)
    yield Finish(final_output=text)


def tickers_in(message: str) -> list[str]:
    """Ticker-like words of ``message`` (at most three; NVDA when there are none)."""
    found: list[str] = []
    for match in _TICKERISH.finditer(message):
        word = match.group(1)
        if word not in _NOT_TICKERS and word not in found:
            found.append(word)
    return found[:MAX_TICKERS] or [DEFAULT_TICKER]

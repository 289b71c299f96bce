"""The dialect-neutral steps an agent run produces; every dialect renders them its own way."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "APPROVAL_STEPS",
    "AnyStep",
    "ApprovalRequest",
    "Decision",
    "Failure",
    "Finish",
    "Nested",
    "Paused",
    "Reasoning",
    "Resumed",
    "Step",
    "SubAgent",
    "Text",
    "TokenUsage",
    "ToolDenied",
    "ToolEnd",
    "ToolStart",
    "flattened",
    "run_wide_id",
]


@dataclass(frozen=True, slots=True)
class TokenUsage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def as_snake(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }

    def as_camel(self) -> dict[str, int]:
        return {
            "promptTokens": self.prompt_tokens,
            "completionTokens": self.completion_tokens,
            "totalTokens": self.total_tokens,
        }


@dataclass(frozen=True, slots=True)
class Reasoning:
    """A piece of the agent's reasoning text."""

    text: str


@dataclass(frozen=True, slots=True)
class Text:
    """A piece of the answer (markdown, or JSON for structured output)."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolStart:
    call_id: str
    name: str
    arguments: dict[str, Any]
    delegate: str | None = None
    """The sub-agent this call runs (agent-as-tool); its steps follow as :class:`Nested`."""
    client: bool = False
    """A call of a tool the client declared, left for the client to run: no :class:`ToolEnd`
    follows; the response ends, and the result comes with the client's next request."""


@dataclass(frozen=True, slots=True)
class ToolEnd:
    call_id: str
    name: str
    output: dict[str, Any] | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """The agent runs this call (already started with :class:`ToolStart`) only once a human
    approves it: the producer pauses the run and sends the :class:`Decision` back."""

    call_id: str
    name: str
    approval_id: str
    reason: str | None = None
    question: str | None = None
    """A free-form question for the human (only dialects with ``questions`` express it)."""


@dataclass(frozen=True, slots=True)
class Decision:
    """A human's answer to an :class:`ApprovalRequest` (what the agent receives)."""

    call_id: str
    approved: bool
    reason: str | None = None
    answer: Any = None
    """The human's answer to the request's ``question``, if one was given."""


@dataclass(frozen=True, slots=True)
class Paused:
    """The run waits for decisions on these calls: the response that is streaming ends here."""

    call_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Resumed:
    """The decisions arrived: the response that carries the rest of the run begins here."""

    decisions: tuple[Decision, ...]


@dataclass(frozen=True, slots=True)
class ToolDenied:
    """A call that was not run because the human denied it."""

    call_id: str
    name: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Finish:
    """The run completed. The producer fills in usage and execution time."""

    final_output: Any = None
    followups: tuple[str, ...] = ()
    usage: TokenUsage = field(default_factory=TokenUsage)
    execution_time: float = 0.0


@dataclass(frozen=True, slots=True)
class Failure:
    """The run failed (or a fault asked for an in-stream error)."""

    message: str
    code: str = "STREAM_ERROR"
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class SubAgent:
    """Where a sub-agent works: the agent-as-tool calls that led to it, from the top down."""

    path: tuple[str, ...]
    """The delegating calls' ids, each in its own agent's id space (the last one started
    this sub-agent): SeekrFlow's ``toolCallPath`` of the sub-agent's text."""
    name: str
    """The sub-agent."""
    parent: str
    """The agent that delegated to it."""
    tool: str
    """The name of the call that started it (SeekrFlow's ``sourceToolName``)."""
    model: str | None = None
    """The model the sub-agent reports it ran."""

    @property
    def depth(self) -> int:
        return len(self.path)

    def call_path(self, call_id: str) -> tuple[str, ...]:
        """The path of one of this sub-agent's own calls."""
        return (*self.path, call_id)


@dataclass(frozen=True, slots=True)
class SubAgentDone:
    """The sub-agent has finished (before the call that ran it returns). The producer fills
    in what it spent: its own steps' tokens (a sub-agent it delegated to reports its own),
    which the run's usage counts too."""

    usage: TokenUsage = field(default_factory=TokenUsage)
    model: str | None = None
    """The model the sub-agent reports it ran."""


NestedStep = Reasoning | Text | ToolStart | ToolEnd | SubAgentDone


@dataclass(frozen=True, slots=True)
class Nested:
    """A step a sub-agent made inside the call that delegated to it (not the run's answer)."""

    where: SubAgent
    step: NestedStep


Step = (
    Reasoning
    | Text
    | ToolStart
    | ToolEnd
    | ToolDenied
    | ApprovalRequest
    | Paused
    | Resumed
    | Finish
    | Failure
)
AnyStep = Step | Nested
"""What a run's log holds: the top agent's steps and its sub-agents' (:class:`Nested`)."""
APPROVAL_STEPS = (ApprovalRequest, Paused, Resumed, ToolDenied)
"""Steps only agents that need approval make; dialects that cannot express approval never
stream such an agent (its runs are refused there), so their renderers skip these."""


def run_wide_id(path: tuple[str, ...]) -> str:
    """One id for a call anywhere in the tree: its path joined with ``/`` (as agentnb's
    SeekrFlow reader keys nested calls), unique even when sub-agents reuse their ids."""
    return "/".join(path)


def flattened(step: AnyStep) -> Step | None:
    """A step as a dialect that cannot nest shows it: a sub-agent's calls become calls of the
    run (run-wide ids), its text and reasoning are left out (its answer is its call's output)."""
    if not isinstance(step, Nested):
        return step
    inner = step.step
    if isinstance(inner, ToolStart | ToolEnd):
        return replace(inner, call_id=run_wide_id(step.where.call_path(inner.call_id)))
    return None

"""The normalized events of an agent run.

Every dialect's frames are translated into these types, a pydantic discriminated union on the
literal ``type`` field. Events hold data only; :class:`agentnb.Run` folds them into state.

``seq`` and ``received_at`` are stamped by the client as each event arrives, so adapters
construct events without them. The events of nearly every frame are built and stamped at half
the cost of pydantic's way by :func:`text_delta`, :func:`reasoning_delta`,
:func:`attributed_delta` and :func:`stamp` (at the end of this module; not in ``__all__``:
they are the adapters' and the client's, not a user's, as is ``CallEvent``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

__all__ = [
    "CustomEvent",
    "Event",
    "ReasoningDelta",
    "RunCompleted",
    "RunFailed",
    "RunPaused",
    "RunStarted",
    "StateDelta",
    "StateSnapshot",
    "StepReset",
    "StepStarted",
    "TextDelta",
    "ToolApprovalRequested",
    "ToolApprovalResponded",
    "ToolCallDelta",
    "ToolCallDenied",
    "ToolCallFinished",
    "ToolCallProgress",
    "ToolCallStarted",
    "ToolQuestionAnswered",
    "ToolQuestionAsked",
    "UnknownEvent",
    "Usage",
    "event_adapter",
]


class Usage(BaseModel):
    """Token counts for one run (or one sub-agent's call), as far as the platform reports
    them, and its cost when the platform reports that too."""

    model_config = ConfigDict(frozen=True)

    prompt_tokens: int | None = None
    """Tokens in the prompt (input), cached ones included, or None when the platform does not
    say."""
    completion_tokens: int | None = None
    """Tokens generated (output), reasoning ones included, or None when the platform does not
    say."""
    total_tokens: int | None = None
    """Prompt plus completion tokens, or None when unknown."""
    cached_tokens: int | None = None
    """The prompt tokens read from the platform's prompt cache (billed at the cache price),
    or None when the platform does not say."""
    reasoning_tokens: int | None = None
    """The completion tokens spent reasoning (billed as output), or None when the platform
    does not say."""
    cost: float | None = None
    """What the run cost in USD, as the platform itself reports it (OpenRouter's and LiteLLM's
    usage ``cost``); it wins over a cost agentnb computes. None when the platform does not
    say."""
    refused: str | None = None
    """The figures the platform reported outside their sane range (token counts are whole
    numbers from 0 to 10^12, a cost is 0 to 10^6 USD), which are not figures of this usage
    and price nothing, or None when there were none."""

    def merged(self, other: Usage | None) -> Usage:
        """Fill this usage's unknown figures from ``other``; a total is derived when it can be."""
        if other is None:
            return self._with_total()
        mine = self.model_dump(exclude_none=True)
        return Usage(**{**other.model_dump(exclude_none=True), **mine})._with_total()

    def plus(self, other: Usage | None) -> Usage:
        """The sum of two usages (two model calls of one run): each figure known in either
        is added; a figure unknown in both stays unknown."""
        if other is None:
            return self
        mine, theirs = self.model_dump(), other.model_dump()
        refused = "; ".join(note for note in (self.refused, other.refused) if note)
        return Usage(
            **{
                name: theirs[name]
                if mine[name] is None
                else mine[name]
                if theirs[name] is None
                else mine[name] + theirs[name]
                for name in mine
                if name != "refused"
            },
            refused=refused or None,
        )

    def _with_total(self) -> Usage:
        if (
            self.total_tokens is None
            and self.prompt_tokens is not None
            and self.completion_tokens is not None
        ):
            return self.model_copy(
                update={"total_tokens": self.prompt_tokens + self.completion_tokens}
            )
        return self


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seq: int = 0
    """Position of the event in its run, counting from 0; stamped by the client."""
    received_at: float = 0.0
    """Unix time in seconds at which the client received the frame; stamped by the client."""


class RunStarted(_Event):
    """The platform accepted the run. May arrive more than once (e.g. after a resume)."""

    type: Literal["run_started"] = "run_started"
    run_id: str | None = None
    """The platform's id for this run, when it gives one."""
    thread_id: str | None = None
    """The conversation this run belongs to (thread id, session id), when known."""
    model: str | None = None
    """The model that runs, as the platform names it, when the stream says at the start."""
    extras: dict[str, Any] | None = None
    """What the dialect says of the run beside what every run has, by name (an ACP
    session's ``mode`` and its settings in effect, ``config``): the run's ``extras``."""


class ReasoningDelta(_Event):
    """A piece of the agent's reasoning ("thinking") text."""

    type: Literal["reasoning_delta"] = "reasoning_delta"
    delta: str
    """Text to append to the reasoning."""
    parent_call_id: str | None = None
    """Set when a sub-agent reasons inside a tool call (agent-as-tool, a subgraph): the call
    it belongs to. None for the top agent."""
    agent: str | None = None
    """The agent reasoning, when the platform names it."""


class TextDelta(_Event):
    """A piece of the answer text (markdown)."""

    type: Literal["text_delta"] = "text_delta"
    delta: str
    """Text to append to the answer."""
    parent_call_id: str | None = None
    """Set when a sub-agent streams this text inside a tool call: it belongs to that call,
    not to the run's answer. None for the top agent."""
    agent: str | None = None
    """The agent writing, when the platform names it."""


class ToolCallStarted(_Event):
    """The agent began calling a tool."""

    type: Literal["tool_call_started"] = "tool_call_started"
    call_id: str
    """Identifies the call within the run; later deltas and the result name it."""
    name: str
    """The tool's name."""
    arguments: Any = None
    """The arguments as parsed JSON when already known, else None (they may stream in deltas)."""
    parent_call_id: str | None = None
    """The call inside which a sub-agent made this call (a nested call); None at the top."""
    agent: str | None = None
    """The agent making the call, when the platform names it."""


class ToolCallDelta(_Event):
    """A piece of a tool call's JSON arguments, streamed as text."""

    type: Literal["tool_call_delta"] = "tool_call_delta"
    call_id: str
    """The call these arguments belong to."""
    arguments_delta: str
    """Text to append to the call's arguments JSON."""


class ToolCallFinished(_Event):
    """A tool call ended, with its output or its error."""

    type: Literal["tool_call_finished"] = "tool_call_finished"
    call_id: str
    """The call that ended."""
    output: Any = None
    """What the tool returned (parsed JSON where the platform sent JSON, else text)."""
    error: str | None = None
    """The error message when the call failed; None when it succeeded."""
    arguments: Any = None
    """The final arguments, when the platform repeats them here (else None)."""
    usage: Usage | None = None
    """Tokens a sub-agent spent inside this call (its own model calls; the calls it made
    carry theirs), where the platform reports it."""
    model: str | None = None
    """The model the sub-agent inside this call ran, where the platform names it; it prices
    the call's ``usage``."""
    ran_by: Literal["client"] | None = None
    """``"client"`` when a notebook function ran the call (a client tool); None: the platform."""
    shown: dict[str, str] | None = None
    """What a notebook function returned as a person sees it in the notebook, where it has a
    form beside its text (a figure, an image, a table's HTML): ``{"mime", "data"}`` (an
    image's data in base64; a form too large to show is said in ``text/plain``). The agent
    gets ``output``; this is for the chat cell and its static copy."""


class ToolCallProgress(_Event):
    """An interim output of a call that is still running (the AI SDK's ``preliminary``
    output); a later progress or the :class:`ToolCallFinished` replaces it."""

    type: Literal["tool_call_progress"] = "tool_call_progress"
    call_id: str
    """The call still running."""
    output: Any = None
    """The interim output (parsed JSON where the platform sent JSON)."""
    ran_by: Literal["client"] | None = None
    """``"client"``: a notebook function runs the call now (a client tool)."""


class ToolCallDenied(_Event):
    """The call was not executed because a human (or a policy) denied it."""

    type: Literal["tool_call_denied"] = "tool_call_denied"
    call_id: str
    """The denied call."""
    reason: str | None = None
    """Why it was denied, when known."""


class ToolApprovalRequested(_Event):
    """The platform will run this tool call only once a human approves it.

    The call waits (status ``awaiting_approval``); the run pauses at the next
    :class:`RunPaused` until every such call is decided."""

    type: Literal["tool_approval_requested"] = "tool_approval_requested"
    call_id: str
    """The call that needs approval; its name and arguments came with its start."""
    approval_id: str | None = None
    """The platform's id for this request (the AI SDK's ``approvalId``), when it has one."""
    reason: str | None = None
    """Why the platform asks, when it says."""
    name: str = ""
    """The tool's name, when this request is the first the run hears of the call."""
    arguments: Any = None
    """The call's arguments, when this request is the first the run hears of the call."""
    question: str | None = None
    """A free-form question the agent asks a human (an interrupt's prompt, A2A's
    ``input-required``): the human replies with ``RunHandle.answer(call_id, text)`` (or
    ``approve(call_id, answer=...)`` for a JSON answer). None for a plain yes/no approval."""
    for_run: str | None = None
    """What approving this call "for this run" would allow with it (``"reads of the
    notebook"``: the later ones in the run then pass without asking), when the client offers
    that; None: the call is decided alone."""
    agent_option: str | None = None
    """The agent's own words for that choice, when the agent, not agentnb, decides what it
    covers and how long it keeps it (an ACP agent's ``allow_always`` option: "Yes, and don't
    ask again for commands that start with `touch`", "Always Allow"): shown on the choice
    instead of "Allow for this run". None: the choice, if offered, is agentnb's own."""


class ToolApprovalResponded(_Event):
    """A decision on a call awaiting approval: sent by the client with the next request, or
    echoed by the platform."""

    type: Literal["tool_approval_responded"] = "tool_approval_responded"
    call_id: str
    """The decided call."""
    approved: bool
    """True: the tool may run; False: it must not."""
    reason: str | None = None
    """The reason given with the decision, if any."""
    answer: Any = None
    """The human's answer to the call's ``question``, when it asked one."""
    decided_by: Literal["user", "policy", "server"] = "server"
    """Who decided: ``user`` (a click, ``handle.approve``, a prompt) or ``policy`` (the
    user's ``approve=``) for the decisions agentnb sends; ``server`` for a decision the
    stream carried (a platform's own approval, an echo): never shown as the user's."""


class ToolQuestionAsked(_Event):
    """A running tool call asks a person a question (an MCP server's elicitation): a form to
    fill in, or a link to open. It waits for :class:`ToolQuestionAnswered`; the call goes on
    running meanwhile (``call.asks`` holds the question)."""

    type: Literal["tool_question_asked"] = "tool_question_asked"
    call_id: str
    """The call that asks."""
    question: dict[str, Any]
    """The question as a person is shown it (``agentnb._app.mcp.mcp_form.shown_form``): ``server``,
    ``message``, ``mode`` (``form`` or ``url``), ``fields`` and ``hidden`` (a form's), ``url``
    and ``host`` (a link's). The server's text: untrusted."""


class ToolQuestionAnswered(_Event):
    """The reply to the question a running call asked (:class:`ToolQuestionAsked`). What a
    person typed into a form goes to the tool only: the run keeps the action, not the
    content."""

    type: Literal["tool_question_answered"] = "tool_question_answered"
    call_id: str
    action: Literal["accept", "decline", "cancel"]
    reason: str | None = None
    """Why, when the reply was not a person's (nobody could answer, the call ended)."""
    decided_by: Literal["user", "policy"] = "user"


class StateSnapshot(_Event):
    """The agent's whole shared state (AG-UI ``STATE_SNAPSHOT``, LangGraph ``values``);
    replaces :attr:`agentnb.Run.state`."""

    type: Literal["state_snapshot"] = "state_snapshot"
    state: Any = None
    """The state as JSON."""


class StateDelta(_Event):
    """A change to the agent's shared state as RFC 6902 JSON Patch operations (AG-UI
    ``STATE_DELTA``), applied to :attr:`agentnb.Run.state`."""

    type: Literal["state_delta"] = "state_delta"
    patch: list[Any]
    """The JSON Patch operations, in order."""


class CustomEvent(_Event):
    """An application-defined event the chat cell does not draw (AG-UI ``CUSTOM``, LangGraph
    ``custom`` stream mode, A2A metadata), kept on :attr:`agentnb.Run.custom_events`."""

    type: Literal["custom"] = "custom"
    name: str
    """The event's name (the stream mode or the agent's own name for it)."""
    value: Any = None
    """Its payload as JSON."""


class StepStarted(_Event):
    """The agent began a new step (the AI SDK's ``start-step``): a :class:`StepReset`
    discards back to here."""

    type: Literal["step_started"] = "step_started"


class StepReset(_Event):
    """Discard everything received since the last :class:`StepStarted` (the AI SDK's
    ``reset-step``): the step's text, reasoning and tool calls; the step starts over."""

    type: Literal["step_reset"] = "step_reset"


class RunPaused(_Event):
    """The platform paused the run until a human decides on the tool calls awaiting approval.

    Not an end: once every such call is decided the client sends the decisions and the same
    run goes on (see :meth:`agentnb.types.RunHandle.approve`)."""

    type: Literal["run_paused"] = "run_paused"
    reason: str | None = None
    """What the platform said about the pause, if anything."""
    usage: Usage | None = None
    """Token usage so far, where the platform reports it at the pause."""


class RunCompleted(_Event):
    """The run finished successfully. No events follow."""

    type: Literal["run_completed"] = "run_completed"
    usage: Usage | None = None
    """Token usage, where the platform reports it in the stream."""
    execution_time: float | None = None
    """Seconds the platform says the run took, where reported."""
    followups: list[str] = Field(default_factory=list)
    """Suggested follow-up questions, where the platform sends them."""
    final_output: Any = None
    """The platform's final output object, where it sends one apart from the text."""
    finish_reason: str | None = None
    """Why the model stopped, where the platform says (``stop``, ``length``,
    ``content-filter``, ``tool-calls``, ...). ``interrupted`` (the AI SDK: the model's stream
    ended without a completion signal) ends the run ``interrupted``."""
    model: str | None = None
    """The model that ran, as the platform names it (an OpenAI chunk's ``model``, a run
    record's, a message's metadata), where the stream says; it prices the run."""


class RunFailed(_Event):
    """The platform reported an error inside the stream. No events follow."""

    type: Literal["run_failed"] = "run_failed"
    message: str
    """The platform's error message."""
    code: str | None = None
    """The platform's error code (e.g. ``CAPACITY_ERROR``), when it gives one."""
    retry_after: float | None = None
    """Seconds after which a retry may succeed, when the platform says."""
    retryable: bool = False
    """True for transient errors (capacity, rate limits) that a new request may not hit."""


class UnknownEvent(_Event):
    """A frame the dialect's adapter did not recognise, kept verbatim so nothing is lost."""

    type: Literal["unknown"] = "unknown"
    event: str
    """The SSE event name (``message`` when the frame had none)."""
    data: str
    """The frame's data, unparsed."""
    id: str | None = None
    """The SSE last event id in force for the frame."""


CallEvent = (
    ToolCallStarted
    | ToolCallDelta
    | ToolCallProgress
    | ToolCallFinished
    | ToolCallDenied
    | ToolApprovalRequested
    | ToolApprovalResponded
    | ToolQuestionAsked
    | ToolQuestionAnswered
)
"""The events of a tool call (what a run folds into its calls: ``_core.call_fold``)."""

Event = Annotated[
    RunStarted
    | ReasoningDelta
    | TextDelta
    | CallEvent
    | StateSnapshot
    | StateDelta
    | CustomEvent
    | StepStarted
    | StepReset
    | RunPaused
    | RunCompleted
    | RunFailed
    | UnknownEvent,
    Field(discriminator="type"),
]
"""Any agentnb event; ``event.type`` tells which."""

event_adapter: TypeAdapter[Event] = TypeAdapter(Event)
"""Validates or serializes any :data:`Event` (``event_adapter.validate_python(d)``)."""


# ---- fast builders ------------------------------------------------------------------------
# The very event the constructor would build, its state set directly from values validation
# keeps as they are (other values still go through pydantic).

_Delta = TypeVar("_Delta", TextDelta, ReasoningDelta)
_new_object = object.__new__
_set_dict = object.__setattr__
_slots = vars(BaseModel)  # pydantic keeps a model's state in these slots beside its __dict__
_set_fields_set = _slots["__pydantic_fields_set__"].__set__
_set_extra = _slots["__pydantic_extra__"].__set__
_set_private = _slots["__pydantic_private__"].__set__
_STAMPED = ("seq", "received_at")


def _assembled(cls: type[_Delta], fields: dict[str, Any], fields_set: set[str]) -> _Delta:
    """The ``cls`` instance pydantic's validator would make of these (validated) fields, the
    ``fields_set`` given by the caller: its state set directly."""
    event = _new_object(cls)
    _set_dict(event, "__dict__", fields)
    _set_fields_set(event, fields_set)
    _set_extra(event, None)  # extra="forbid": none
    _set_private(event, None)  # no private attributes
    return event


# Each field's default, as validation leaves it (copied, then the given fields set over it).
_TEXT_DEFAULTS = dict(TextDelta(delta="").__dict__)
_REASONING_DEFAULTS = dict(ReasoningDelta(delta="").__dict__)


def text_delta(delta: str) -> TextDelta:
    """``TextDelta(delta=delta)``, the same event at half the cost."""
    if type(delta) is not str:  # validation turns a str subclass into a str, refuses others
        return TextDelta(delta=delta)
    fields = _TEXT_DEFAULTS.copy()
    fields["delta"] = delta
    return _assembled(TextDelta, fields, {"delta"})


def reasoning_delta(delta: str) -> ReasoningDelta:
    """``ReasoningDelta(delta=delta)``, the same event at half the cost."""
    if type(delta) is not str:
        return ReasoningDelta(delta=delta)
    fields = _REASONING_DEFAULTS.copy()
    fields["delta"] = delta
    return _assembled(ReasoningDelta, fields, {"delta"})


def attributed_delta(
    cls: type[_Delta], delta: str, parent_call_id: str | None, agent: str | None
) -> _Delta:
    """``cls(delta=delta, parent_call_id=parent_call_id, agent=agent)`` (a text or reasoning
    delta), the same event at half the cost."""
    if not (type(delta) is str and _kept_as_is(parent_call_id) and _kept_as_is(agent)):
        return cls(delta=delta, parent_call_id=parent_call_id, agent=agent)
    fields = (_TEXT_DEFAULTS if cls is TextDelta else _REASONING_DEFAULTS).copy()
    fields.update(delta=delta, parent_call_id=parent_call_id, agent=agent)
    return _assembled(cls, fields, {"delta", "parent_call_id", "agent"})


def _kept_as_is(value: object) -> bool:
    """Whether validation as ``str | None`` keeps ``value`` as it is."""
    return value is None or type(value) is str


def stamp(event: Event, seq: int, received_at: float) -> None:
    """``event.seq = seq; event.received_at = received_at``, without pydantic's ``__setattr__``
    (which, for these fields of a model without assignment validation, does just this)."""
    fields = event.__dict__
    fields["seq"] = seq
    fields["received_at"] = received_at
    event.__pydantic_fields_set__.update(_STAMPED)

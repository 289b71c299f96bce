"""AG-UI (``ag-ui-protocol`` 1.0), as pydantic-ai, LangGraph, CrewAI, Mastra, Google ADK and
CopilotKit serve it. The server keeps nothing, so each run posts the thread's whole
conversation and shared state; an ``interrupt`` outcome pauses the run and a new run of the
thread resumes it. What maps to what: docs/providers.md, ``ag-ui``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import reduce
from typing import Any, ClassVar

from .._core.approvals import ApprovalDecision
from .._core.client_tools import ToolResult
from .._core.exceptions import ConfigurationError
from .._core.request import RunRequest
from .._core.run import Run
from ..events import (
    CustomEvent,
    Event,
    ReasoningDelta,
    RunCompleted,
    RunPaused,
    RunStarted,
    StateDelta,
    StateSnapshot,
    TextDelta,
    ToolApprovalRequested,
    ToolCallDelta,
    ToolCallDenied,
    ToolCallFinished,
    ToolCallStarted,
    Usage,
    attributed_delta,
)
from ..sse import ServerSentEvent
from ._base import HttpRequest, Translator
from ._client_threads import ClientThreadProvider, ClientThreads
from ._frames import (
    as_dict,
    failure,
    first_str,
    json_or_text,
    local_id,
    model_name,
    parse_json,
    parse_usage,
    reported_failure,
    str_list,
)
from ._frames import unknown as keep_unknown
from ._openai_history import TurnHistory
from ._options import carried, decision_value
from ._paths import fill_agent

__all__ = ["AGUI", "AGUITranslator"]

_Obj = dict[str, Any]


def agui_messages(messages: Sequence[_Obj]) -> list[_Obj]:
    """Chat Completions-shaped messages (what the turn history gathers) as AG-UI messages:
    each with an id, ``toolCalls`` and ``toolCallId`` in camelCase."""
    out: list[_Obj] = []
    for message in messages:
        converted: _Obj = {"id": local_id("msg"), "role": message["role"]}
        if message.get("content") is not None:
            converted["content"] = message["content"]
        if message.get("tool_calls"):
            converted["toolCalls"] = message["tool_calls"]
        if message.get("tool_call_id"):
            converted["toolCallId"] = message["tool_call_id"]
        out.append(converted)
    return out


class AGUI(ClientThreadProvider):
    """``POST {base}{path}`` with a ``RunAgentInput``; AG-UI events back.

    Options: ``path`` (below ``base_url``; default ``""``, the endpoint itself; ``/{agent}``
    on a multi-agent server, ``{agent}`` replaced by the agent name),
    ``state`` (the initial shared state of a new thread), ``context`` (AG-UI's list, sent as
    it is), ``forwarded_props`` (a dict merged into ``forwardedProps``). The run option
    ``tools=`` fills ``tools``.
    """

    name: ClassVar[str] = "ag-ui"
    title: ClassVar[str] = "AG-UI"
    carries: ClassVar[frozenset[str] | None] = carried(
        "metadata", "followups", "response_format", "tools"
    )
    supports_approvals = True
    supports_answers = True

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.path = str(options.get("path", ""))
        self.initial_state = options.get("state")
        self.context = list(options.get("context") or [])
        self.forwarded_props = dict(options.get("forwarded_props") or {})
        self.threads = ClientThreads("thread", _user_message)

    @classmethod
    def option_names(cls) -> Sequence[str]:
        return ("path", "state", "context", "forwarded_props")

    def state(self, thread_id: str) -> Any:
        """The shared state a thread's next run sends (the agent's last)."""
        return self.threads.state(thread_id, self.initial_state)

    def stream_http_request(self, request: RunRequest) -> HttpRequest:
        return self._run_input(request, [], {})

    def approval_request(
        self, request: RunRequest, translator: Translator, decisions: Sequence[ApprovalDecision]
    ) -> HttpRequest:
        if not isinstance(translator, AGUITranslator):
            raise ConfigurationError("the AG-UI dialect resumes only its own runs")
        answered = agui_messages(translator.history.messages(pending=True))
        resume = [_resume_entry(translator.interrupts.get(d.call_id), d) for d in decisions]
        translator.denied.update(d.call_id for d in decisions if not d.approved)
        return self._run_input(request, answered, {"resume": resume, "state": translator.state})

    def tool_results_request(
        self, request: RunRequest, translator: Translator, results: Sequence[ToolResult]
    ) -> HttpRequest:
        """The next run of the thread: its messages end with the assistant's tool calls and a
        ``tool`` message for each result."""
        if not isinstance(translator, AGUITranslator):
            raise ConfigurationError("the AG-UI dialect continues only its own runs")
        for result in results:
            translator.history.result(result.call_id, output=result.text)
        translator.done = False
        answered = agui_messages(translator.history.messages())
        return self._run_input(request, answered, {"state": translator.state})

    def _run_input(self, request: RunRequest, answered: list[_Obj], extra: _Obj) -> HttpRequest:
        """The one body builder: a thread's run, and the runs that resume or continue it
        (``answered``: the paused run's messages so far)."""
        thread_id, messages = self.threads.conversation(request)
        forwarded = dict(self.forwarded_props)
        if request.metadata:
            forwarded["metadata"] = dict(request.metadata)
        if request.model_settings.as_dict():
            forwarded["modelSettings"] = request.model_settings.as_dict()
        if request.response_format is not None:
            forwarded["responseFormat"] = request.response_format
        if request.followups:
            forwarded["followups"] = True
        body: _Obj = {
            "threadId": thread_id,
            "runId": local_id("run"),
            "messages": [*messages, *answered],
            "state": self.state(thread_id),
            "tools": [t.declaration() for t in request.tools],
            "context": self.context,
            "forwardedProps": forwarded,
            **extra,
        }
        body = request.with_extra(body)
        path = fill_agent(self.path, request.agent)
        return HttpRequest("POST", path, json=body, headers={"Accept": "text/event-stream"})

    def translator(self, request: RunRequest) -> Translator:
        return AGUITranslator(request.thread_id, self.state(request.thread_id or ""))

    def answer(self, translator: Translator) -> tuple[list[_Obj], Any] | None:
        if not isinstance(translator, AGUITranslator):
            return None
        return agui_messages(translator.history.messages()), translator.state


def _user_message(request: RunRequest) -> _Obj:
    return {"id": local_id("msg"), "role": "user", "content": request.message}


def _resume_entry(interrupt: Interrupt | None, decision: ApprovalDecision) -> _Obj:
    """One ``resume`` entry: a tool call's approval as ``{approved, reason}``; a question's
    answer as the payload itself (declined: ``cancelled``)."""
    interrupt_id = interrupt.interrupt_id if interrupt else decision.call_id
    is_question = interrupt is not None and interrupt.is_question
    if is_question and decision.answer is None and not decision.approved:
        return {"interruptId": interrupt_id, "status": "cancelled"}
    payload = decision_value(decision, is_question=is_question)
    return {"interruptId": interrupt_id, "status": "resolved", "payload": payload}


# ---- the answer: AG-UI events as agentnb events ---------------------------------------------
_MARKERS = frozenset(
    {
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_END",
        "REASONING_START",
        "REASONING_END",
        "REASONING_MESSAGE_START",
        "REASONING_MESSAGE_END",
        "REASONING_ENCRYPTED_VALUE",
        "THINKING_START",
        "THINKING_END",
        "THINKING_TEXT_MESSAGE_START",
        "THINKING_TEXT_MESSAGE_END",
        "TOOL_CALL_END",
        "STEP_STARTED",
        "STEP_FINISHED",
        "SUBAGENT_FINISHED",
    }
)
"""Recognised events that carry nothing agentnb shows."""

_KEPT_AS_CUSTOM = {
    "RAW": "raw",
    "ACTIVITY_SNAPSHOT": "activity_snapshot",
    "ACTIVITY_DELTA": "activity_delta",
    "SUBAGENT_ERROR": "subagent_error",
}
"""Recognised events kept on the run as custom events (the chat cell does not draw them)."""


QUESTION_REASON = "input_required"
"""The reason of an interrupt asking for a free-form answer, on the call that asks or on none
(pydantic-ai's approvals say ``tool_call``)."""


@dataclass(frozen=True)
class Interrupt:
    """What a paused run waits for: one entry of ``outcome.interrupts``."""

    interrupt_id: str
    call_id: str
    """The tool call it is about, else the interrupt's own id."""
    reason: str
    message: str | None
    is_question: bool
    """Not a tool call to approve: the answer is free-form."""
    name: str | None = None
    """The call's name and the arguments it will run with, when the interrupt says them
    (Google ADK's confirmation); else the streamed call's."""
    arguments: Any = None


ADK_CONFIRMATION = "adk_request_confirmation"
"""The call Google ADK makes to have a tool call confirmed: ``ag-ui-adk`` streams it as a tool
call whose arguments hold the call (``originalFunctionCall``); it is read as that call's
approval, answered by a ``resume`` entry for its own id."""


def _confirmation(call_id: str, arguments: str) -> Interrupt | None:
    """The approval an ``adk_request_confirmation`` call (``call_id``) asks, or None."""
    asked = as_dict(json_or_text(arguments)) or {}
    original = as_dict(asked.get("originalFunctionCall")) or {}
    original_id, name = first_str(original, "id"), first_str(original, "name")
    if not original_id or name is None:
        return None
    hint = first_str(as_dict(asked.get("toolConfirmation")) or {}, "hint")
    return Interrupt(call_id, original_id, "confirmation", hint, False, name, original.get("args"))


@dataclass
class _Subagent:
    name: str
    parent_call_id: str | None


@dataclass
class _Calls:
    names: dict[str, str] = field(default_factory=dict)
    arguments: dict[str, list[str]] = field(default_factory=dict)
    answered: set[str] = field(default_factory=set)


class AGUITranslator(Translator):
    """One run's AG-UI events (and, after a pause, the runs that resume it)."""

    def __init__(self, thread_id: str | None, state: Any = None) -> None:
        self.thread_id = thread_id
        self._sent_state: Any = state
        self._run: Run | None = None
        self._state_given = False
        """Whether this stream gave the run a state (a snapshot, or the state it was sent)."""
        self.history = TurnHistory()
        self.interrupts: dict[str, Interrupt] = {}
        """The interrupts of the last pause, by call id."""
        self.denied: set[str] = set()
        """Calls a human denied: their result is the denial the agent was told."""
        self._calls = _Calls()
        self._confirmations_asked: set[str] = set()
        self._subagents: dict[str, _Subagent] = {}
        self._roles: dict[str, str] = {}
        # Microsoft Agent Framework sends usage as ``CUSTOM`` ``usage`` events, each the run's
        # so far, and none on ``RUN_FINISHED``: the last one is the run's.
        self._usage_so_far: Usage | None = None

    def follow(self, run: Run) -> None:
        self._run = run

    @property
    def state(self) -> Any:
        """The shared state as the agent last gave it (sent back with the next run): the
        run's, which applied its deltas, once this stream gave it one; else the state sent."""
        if self._state_given and self._run is not None:
            return self._run.state
        return self._sent_state

    def translate(self, sse: ServerSentEvent) -> list[Event]:
        event = as_dict(parse_json(sse.data))
        kind = first_str(event or {}, "type")
        if event is None or kind is None:
            return [keep_unknown(sse)]
        if kind in _MARKERS:
            if kind == "TEXT_MESSAGE_START":
                self._message_started(event)
            return []
        if kind in _KEPT_AS_CUSTOM:
            return [CustomEvent(name=_KEPT_AS_CUSTOM[kind], value=_without_type(event))]
        handler = self._HANDLERS.get(kind)
        if handler is None:
            return [keep_unknown(sse)]
        return handler(self, event)

    # ---- run -------------------------------------------------------------------------------
    def _run_started(self, event: _Obj) -> list[Event]:
        self.run_id = first_str(event, "runId") or self.run_id
        self.thread_id = first_str(event, "threadId") or self.thread_id
        return [RunStarted(run_id=self.run_id, thread_id=self.thread_id)]

    def _run_finished(self, event: _Obj) -> list[Event]:
        outcome = as_dict(event.get("outcome")) or {}
        kind = outcome.get("type", "success")
        if kind == "interrupt":
            return self._paused(outcome.get("interrupts"))
        if confirmations := self._open_confirmations():  # ag-ui-adk without interrupts
            return self._paused(
                [{"id": c, "toolCallId": c, "reason": "confirmation"} for c in confirmations]
            )
        self.done = True
        if kind == "cancelled":
            return [failure("the agent cancelled the run", "cancelled")]
        return [
            RunCompleted(
                usage=_total_usage(event.get("usage")) or self._usage_so_far,
                model=_usage_model(event.get("usage")),
                final_output=event.get("result"),
                followups=_followups(event),
            )
        ]

    def _run_error(self, event: _Obj) -> list[Event]:
        self.done = True
        return [reported_failure(event, ("message",))]

    def _paused(self, entries: Any) -> list[Event]:
        self.interrupts = {}
        events: list[Event] = []
        for entry in entries if isinstance(entries, list) else []:
            interrupt = self._adk_confirmation(as_dict(entry)) or _interrupt(as_dict(entry))
            if interrupt is None:
                continue
            self.interrupts[interrupt.call_id] = interrupt
            events.append(self._approval_requested(interrupt))
        if not events:
            self.done = True
            return [failure("the agent paused on an interrupt without an id", "bad_interrupt")]
        return [*events, RunPaused()]

    def _open_confirmations(self) -> list[str]:
        """ADK's confirmation calls of this run not yet asked of a person."""
        asked = self._confirmations_asked
        return [c for c, n in self._calls.names.items() if n == ADK_CONFIRMATION and c not in asked]

    def _adk_confirmation(self, entry: _Obj | None) -> Interrupt | None:
        """The approval an interrupt on ADK's confirmation call (or that call) asks."""
        call_id = first_str(entry or {}, "toolCallId", "id")
        if call_id is None or self._calls.names.get(call_id) != ADK_CONFIRMATION:
            return None
        self._confirmations_asked.add(call_id)
        return _confirmation(call_id, "".join(self._calls.arguments.get(call_id, [])))

    def _approval_requested(self, interrupt: Interrupt) -> ToolApprovalRequested:
        call_id = interrupt.call_id
        streamed = "".join(self._calls.arguments.get(call_id, []))
        arguments = json_or_text(streamed) if streamed else None
        return ToolApprovalRequested(
            call_id=call_id,
            approval_id=interrupt.interrupt_id,
            name=interrupt.name or self._calls.names.get(call_id, interrupt.reason),
            arguments=interrupt.arguments if interrupt.name else arguments,
            reason=interrupt.message,
            question=interrupt.message or interrupt.reason if interrupt.is_question else None,
        )

    # ---- text and reasoning -------------------------------------------------------------------
    def _message_started(self, event: _Obj) -> list[Event]:
        message_id, role = first_str(event, "messageId"), first_str(event, "role")
        if message_id and role:
            self._roles[message_id] = role
        return []

    def _text(self, event: _Obj) -> list[Event]:
        delta = event.get("delta")
        if not isinstance(delta, str) or not delta:
            return []
        role = self._roles.get(first_str(event, "messageId") or "", "assistant")
        if role not in ("assistant", "developer", "system"):
            return [CustomEvent(name=f"{role}_message", value=_without_type(event))]
        parent, agent = self._attribution(event)
        if parent is None:
            self.history.content(delta)
        return [attributed_delta(TextDelta, delta, parent, agent)]

    def _reasoning(self, event: _Obj) -> list[Event]:
        delta = event.get("delta")
        if not isinstance(delta, str) or not delta:
            return []
        parent, agent = self._attribution(event)
        return [attributed_delta(ReasoningDelta, delta, parent, agent)]

    # ---- tool calls ------------------------------------------------------------------------
    def _tool_start(self, event: _Obj) -> list[Event]:
        call_id = first_str(event, "toolCallId")
        if call_id is None:
            return []
        name = first_str(event, "toolCallName") or ""
        self._calls.names[call_id] = name
        self._calls.arguments.setdefault(call_id, [])
        parent, agent = self._attribution(event)
        if parent is None:
            self.history.call_started(call_id, name)
        if name == ADK_CONFIRMATION:
            return []  # shown as the approval of the call it names, at the pause
        return [ToolCallStarted(call_id=call_id, name=name, parent_call_id=parent, agent=agent)]

    def _tool_args(self, event: _Obj) -> list[Event]:
        call_id, delta = first_str(event, "toolCallId"), event.get("delta")
        if call_id is None or not isinstance(delta, str) or not delta:
            return []
        self._calls.arguments.setdefault(call_id, []).append(delta)
        self.history.call_arguments(call_id, delta)
        if self._calls.names.get(call_id) == ADK_CONFIRMATION:
            return []
        return [ToolCallDelta(call_id=call_id, arguments_delta=delta)]

    def _tool_chunk(self, event: _Obj) -> list[Event]:
        """A call in chunks: the first names it; later ones (no id) continue the last call."""
        call_id = first_str(event, "toolCallId") or next(reversed(self._calls.names), None)
        if call_id is None:
            return []
        event = {**event, "toolCallId": call_id}
        started = [] if call_id in self._calls.names else self._tool_start(event)
        return [*started, *self._tool_args(event)]

    def _tool_result(self, event: _Obj) -> list[Event]:
        call_id = first_str(event, "toolCallId")
        if call_id is None:
            return []
        output = json_or_text(event.get("content"))
        self._calls.answered.add(call_id)
        self.interrupts.pop(call_id, None)
        self.history.result(call_id, output=output)
        if self._calls.names.get(call_id) == ADK_CONFIRMATION:
            return []
        if call_id in self.denied:
            return [ToolCallDenied(call_id=call_id, reason=_text_of(output))]
        return [ToolCallFinished(call_id=call_id, output=output)]

    def _messages_snapshot(self, event: _Obj) -> list[Event]:
        """What calls were left without: their arguments (ag-ui-langgraph streams none for a
        call its model sent whole) and results (LlamaIndex sends a result only here)."""
        unanswered = self._calls.names.keys() - self._calls.answered
        events: list[Event] = []
        for message in filter(None, map(as_dict, _entries(event.get("messages")))):
            for call in filter(None, map(as_dict, _entries(message.get("toolCalls")))):
                call_id, function = first_str(call, "id"), as_dict(call.get("function")) or {}
                if call_id in self._calls.names and not self._calls.arguments.get(call_id):
                    events += self._tool_args(
                        {"toolCallId": call_id, "delta": function.get("arguments")}
                    )
            if message.get("role") == "tool" and first_str(message, "toolCallId") in unanswered:
                events += self._tool_result(message)
        return events

    # ---- state, custom events, sub-agents -------------------------------------------------------
    def _state_snapshot(self, event: _Obj) -> list[Event]:
        self._state_given = True
        return [StateSnapshot(state=event.get("snapshot"))]

    def _state_delta(self, event: _Obj) -> list[Event]:
        """A delta, applied once, by the run. AG-UI's first delta may change the state the
        run was sent: the run is given that state first, as a snapshot, unless it holds it."""
        patch = event.get("delta")
        if not isinstance(patch, list):
            return [CustomEvent(name="state_delta_rejected", value=_without_type(event))]
        events: list[Event] = [StateDelta(patch=patch)]
        held = None if self._run is None else self._run.state
        if not self._state_given and held is not self._sent_state:
            events.insert(0, StateSnapshot(state=self._sent_state))
        self._state_given = True
        return events

    def _custom(self, event: _Obj) -> list[Event]:
        name = first_str(event, "name") or "custom"
        if name == "usage" and (usage := parse_usage(event.get("value"))):
            self._usage_so_far = usage
            return []
        return [CustomEvent(name=name, value=event.get("value"))]

    def _subagent_started(self, event: _Obj) -> list[Event]:
        run_id = first_str(event, "subagentRunId")
        if run_id is not None:
            parent = self._subagents.get(first_str(event, "parentSubagentRunId") or "")
            name = first_str(event, "name") or run_id
            call = first_str(event, "parentToolCallId") or (parent and parent.parent_call_id)
            self._subagents[run_id] = _Subagent(name, call or None)
        return []

    def _attribution(self, event: _Obj) -> tuple[str | None, str | None]:
        """The call that started the sub-agent this event belongs to, and its name."""
        subagent = self._subagents.get(first_str(event, "subagentRunId") or "")
        return (None, None) if subagent is None else (subagent.parent_call_id, subagent.name)

    _HANDLERS: ClassVar[dict[str, Callable[..., list[Event]]]] = {
        "RUN_STARTED": _run_started,
        "TEXT_MESSAGE_START": _message_started,
        "TEXT_MESSAGE_CONTENT": _text,
        "TEXT_MESSAGE_CHUNK": _text,
        "REASONING_MESSAGE_CONTENT": _reasoning,
        "REASONING_MESSAGE_CHUNK": _reasoning,
        "THINKING_TEXT_MESSAGE_CONTENT": _reasoning,
        "TOOL_CALL_START": _tool_start,
        "TOOL_CALL_ARGS": _tool_args,
        "TOOL_CALL_CHUNK": _tool_chunk,
        "TOOL_CALL_RESULT": _tool_result,
        "STATE_SNAPSHOT": _state_snapshot,
        "STATE_DELTA": _state_delta,
        "MESSAGES_SNAPSHOT": _messages_snapshot,
        "CUSTOM": _custom,
        "SUBAGENT_STARTED": _subagent_started,
        "RUN_FINISHED": _run_finished,
        "RUN_ERROR": _run_error,
    }
    """What each frame kind is translated by (made once, not per run)."""


def _interrupt(entry: _Obj | None) -> Interrupt | None:
    interrupt_id = first_str(entry or {}, "id")
    if entry is None or interrupt_id is None:
        return None
    call_id = first_str(entry, "toolCallId")
    reason = first_str(entry, "reason") or "input"
    return Interrupt(
        interrupt_id=interrupt_id,
        call_id=call_id or interrupt_id,
        reason=reason,
        message=first_str(entry, "message"),
        is_question=call_id is None or reason == QUESTION_REASON,
    )


def _entries(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _total_usage(value: Any) -> Usage | None:
    """``usage`` is a list of per-model ``TokenUsage`` entries: their sum."""
    entries = [u for u in map(parse_usage, _entries(value)) if u]
    return reduce(Usage.plus, entries).merged(None) if entries else None


def _usage_model(value: Any) -> str | None:
    """The model of the ``TokenUsage`` entries when they name one and the same model (a run
    over several models has no one model to price it by)."""
    models = {model_name(entry.get("model")) for entry in _entries(value) if as_dict(entry)}
    return models.pop() if len(models) == 1 else None


def _text_of(output: Any) -> str | None:
    return output if isinstance(output, str) else None


def _without_type(event: _Obj) -> _Obj:
    return {k: v for k, v in event.items() if k != "type"}


def _followups(event: _Obj) -> list[str]:
    """Follow-up questions in ``metadata.followups`` (agentnb's server puts them there: the
    event's field for extra information)."""
    return str_list((as_dict(event.get("metadata")) or {}).get("followups"))

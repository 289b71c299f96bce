"""AG-UI, the Agent-User Interaction protocol (``ag-ui-protocol`` 1.0), as pydantic-ai
(``AGUIAdapter``), LangGraph (``ag-ui-langgraph``), CrewAI, Mastra, Google ADK and
CopilotKit back ends serve it.

``base_url`` is the agent's endpoint, the URL a user is given: a run is ``POST {base_url}``
exactly as given (the SDKs mount one agent per URL), or, on a server with several agents
under one base (agentnb's built-in ``/ag-ui/{agent}``), ``POST {base_url}{path}`` with option
``path="/{agent}"``, the agent name in place of ``{agent}``. The body is a ``RunAgentInput``:
``threadId``, a fresh ``runId``, the whole conversation as AG-UI ``messages`` (the server
keeps nothing: the provider keeps each thread's messages client-side, tool calls and results
included), the thread's last shared ``state``, ``tools``, ``context`` and ``forwardedProps``
(option ``forwarded_props``, plus agentnb's ``metadata``, ``modelSettings``,
``responseFormat`` and ``followups``, which agentnb's built-in server reads and others may).
The answer is an SSE stream of AG-UI events (see :mod:`agentnb.providers._agui_events`).

Human in the loop: a run that ends with an ``interrupt`` outcome pauses; each interrupt is a
call awaiting approval (a tool call, or a free-form question: an ``input_required`` interrupt,
on the call that asks it, or one that names no tool call).
Decisions go back as AG-UI defines resuming: a new run of the same thread whose ``resume``
entries answer the interrupts (``status`` ``resolved`` with ``payload`` ``{approved,
reason}``, or the answer given to a question; ``cancelled`` for a question declined) and whose
messages include the paused run's assistant message with its pending tool calls.

AG-UI has no operation to cancel a run on the server, nor to stream a running one again:
Stop closes the connection (the SDKs stop the agent when the client goes away).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from .._core.approvals import ApprovalDecision
from .._core.exceptions import ConfigurationError
from .._core.request import RunRequest
from ..events import RunCompleted
from ._agui_events import AGUITranslator, Interrupt
from ._base import HttpRequest, Provider, SendJson, Translator
from ._client_threads import ClientThreads
from ._frames import local_id
from ._options import carried

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


class AGUI(Provider):
    """``POST {base}{path}`` with a ``RunAgentInput``; AG-UI events back.

    Options: ``path`` (below ``base_url``; default ``""``, the endpoint itself; ``/{agent}``
    on a multi-agent server, ``{agent}`` replaced by the agent name),
    ``state`` (the initial shared state of a new thread), ``tools`` and ``context`` (AG-UI's
    lists, sent as they are), ``forwarded_props`` (a dict merged into ``forwardedProps``).
    """

    name: ClassVar[str] = "ag-ui"
    title: ClassVar[str] = "AG-UI"
    carries: ClassVar[frozenset[str] | None] = carried("metadata", "followups", "response_format")
    supports_approvals = True
    supports_answers = True

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.path = str(options.get("path", ""))
        self.initial_state = options.get("state")
        self.tools = list(options.get("tools") or [])
        self.context = list(options.get("context") or [])
        self.forwarded_props = dict(options.get("forwarded_props") or {})
        self._threads = ClientThreads("thread", _user_message)
        self._states: dict[str, Any] = {}

    @classmethod
    def option_names(cls) -> Sequence[str]:
        return ("path", "state", "tools", "context", "forwarded_props")

    async def prepare(self, request: RunRequest, send: SendJson) -> RunRequest:
        return self._threads.with_thread(request)

    def history(self, thread_id: str) -> list[_Obj]:
        """The AG-UI messages kept for a thread (a copy)."""
        return self._threads.history(thread_id)

    def state(self, thread_id: str) -> Any:
        """The shared state a thread's next run sends (the agent's last)."""
        return self._states.get(thread_id, self.initial_state)

    def stream_request(self, request: RunRequest) -> HttpRequest:
        thread_id = self._threads.thread_id(request)
        messages = [*self._threads.messages(thread_id), self._threads.asking(thread_id, request)]
        return self._run_input(request, thread_id, messages, {})

    def approval_request(
        self, request: RunRequest, translator: Translator, decisions: Sequence[ApprovalDecision]
    ) -> HttpRequest:
        if not isinstance(translator, AGUITranslator):
            raise ConfigurationError("the AG-UI dialect resumes only its own runs")
        thread_id = self._threads.thread_id(request)
        messages = [
            *self._threads.messages(thread_id),
            self._threads.asking(thread_id, request),
            *agui_messages(translator.history.messages(pending=True)),
        ]
        resume = [_resume_entry(translator.interrupts.get(d.call_id), d) for d in decisions]
        translator.denied.update(d.call_id for d in decisions if not d.approved)
        extra = {"resume": resume, "state": translator.state}
        return self._run_input(request, thread_id, messages, extra)

    def _run_input(
        self, request: RunRequest, thread_id: str, messages: list[_Obj], extra: _Obj
    ) -> HttpRequest:
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
            "messages": messages,
            "state": self.state(thread_id),
            "tools": self.tools,
            "context": self.context,
            "forwardedProps": forwarded,
            **extra,
        }
        body.update(request.extra)
        path = self.path.replace("{agent}", request.agent)
        return HttpRequest("POST", path, json=body, headers={"Accept": "text/event-stream"})

    def translator(self, request: RunRequest) -> Translator:
        return AGUITranslator(request.thread_id, self.state(request.thread_id or ""))

    async def finalize(
        self,
        request: RunRequest,
        translator: Translator,
        completed: RunCompleted,
        send: SendJson,
    ) -> RunCompleted:
        if request.thread_id and isinstance(translator, AGUITranslator):
            self._threads.finish(request, agui_messages(translator.history.messages()))
            self._states[request.thread_id] = translator.state
        return completed


def _user_message(request: RunRequest) -> _Obj:
    return {"id": local_id("msg"), "role": "user", "content": request.message}


def _resume_entry(interrupt: Interrupt | None, decision: ApprovalDecision) -> _Obj:
    """One ``resume`` entry: a tool call's approval as ``{approved, reason}``; a question's
    answer as the payload itself (declined: ``cancelled``)."""
    interrupt_id = interrupt.interrupt_id if interrupt else decision.call_id
    if interrupt is not None and interrupt.is_question:
        if decision.answer is not None:
            return {"interruptId": interrupt_id, "status": "resolved", "payload": decision.answer}
        if not decision.approved:
            return {"interruptId": interrupt_id, "status": "cancelled"}
    payload: _Obj = {"approved": decision.approved}
    if decision.reason:
        payload["reason"] = decision.reason
    return {"interruptId": interrupt_id, "status": "resolved", "payload": payload}

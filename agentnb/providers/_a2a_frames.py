"""A2A stream frames (one JSON-RPC response each, in A2A 1.0's or 0.3's wire form) as
agentnb events: the task is the run, artifacts' text the answer, working notes reasoning,
``input-required`` / ``auth-required`` a pause on a question.

Google ADK's A2A (``to_a2a()``) marks its parts in their metadata:
a text part with ``adk_thought`` is the model's thinking, a data part with ``adk_type``
``function_call`` / ``function_response`` a tool call (``{id, name, args}``) or its result
(``{id, name, response}``); its status metadata carries each model call's
``adk_usage_metadata``. It also sends the answer twice, as a working note and then as the
artifact: a note is held until the next frame shows it was not the answer.

Agno's A2A marks the tools it runs in a working status's metadata: ``agno_event_type``
``tool_call_started`` / ``tool_call_completed`` with ``tool_call_id``, ``tool_name`` and
``tool_args`` (a JSON string); the result is not sent.
"""

from __future__ import annotations

from typing import Any

from ..events import (
    CustomEvent,
    Event,
    RunCompleted,
    RunPaused,
    RunStarted,
    ToolApprovalRequested,
    ToolCallDenied,
    ToolCallFinished,
    ToolCallStarted,
    Usage,
    reasoning_delta,
    text_delta,
)
from ..sse import ServerSentEvent
from ._base import Translator
from ._frames import (
    as_dict,
    failure,
    first_str,
    model_name,
    parse_json,
    parse_usage,
    str_list,
    unknown,
)
from .adk import function_result

__all__ = ["A2ATranslator", "jsonrpc_failure", "state_name", "stream_result"]

_Obj = dict[str, Any]

_V1_KINDS = {
    "task": "task",
    "message": "message",
    "statusUpdate": "status-update",
    "artifactUpdate": "artifact-update",
}

JSONRPC_ERROR_NAMES = {
    -32700: "parse_error",
    -32600: "invalid_request",
    -32601: "method_not_found",
    -32602: "invalid_params",
    -32603: "internal_error",
    -32001: "task_not_found",
    -32002: "task_not_cancelable",
    -32003: "push_notification_not_supported",
    -32004: "unsupported_operation",
    -32005: "content_type_not_supported",
    -32006: "invalid_agent_response",
    -32007: "authenticated_extended_card_not_configured",
    -32009: "version_not_supported",
}
"""JSON-RPC's own codes and A2A's (specification section 8), by name."""

_PAUSED = {"input-required", "auth-required"}
_FAILED = {"failed": "failed", "rejected": "rejected", "canceled": "cancelled"}


def state_name(state: Any) -> str | None:
    """A task state in A2A 0.3's spelling (``input-required``), from either wire form."""
    if not isinstance(state, str):
        return None
    return state.removeprefix("TASK_STATE_").lower().replace("_", "-")


def stream_result(result: Any) -> tuple[str, _Obj] | None:
    """``(kind, object)`` of one stream result, in either wire form; None when it is neither."""
    obj = as_dict(result)
    if obj is None:
        return None
    kind = first_str(obj, "kind")
    if kind is not None and kind in _V1_KINDS.values():
        return kind, obj
    for key, name in _V1_KINDS.items():
        inner = as_dict(obj.get(key))
        if inner is not None:
            return name, inner
    return None


def jsonrpc_failure(error: Any) -> Event:
    """The RunFailed for a JSON-RPC ``error`` object."""
    obj = as_dict(error) or {}
    code = obj.get("code")
    name = JSONRPC_ERROR_NAMES.get(code) if isinstance(code, int) else None
    message = first_str(obj, "message") or "the A2A server answered with an error"
    return failure(message, name or code)


def _parts(parts: Any) -> list[_Obj]:
    return [part for part in parts if isinstance(part, dict)] if isinstance(parts, list) else []


def _is_thought(part: _Obj) -> bool:
    return (as_dict(part.get("metadata")) or {}).get("adk_thought") is True


def _text_of(parts: Any, *, thoughts: bool = False) -> str:
    """The text of the parts that are not thoughts (``thoughts``: of those that are)."""
    return "".join(
        part["text"]
        for part in _parts(parts)
        if isinstance(part.get("text"), str) and _is_thought(part) == thoughts
    )


def _message_text(message: Any) -> str:
    return _text_of((as_dict(message) or {}).get("parts"))


def _other_parts(parts: Any) -> list[_Obj]:
    return [part for part in _parts(parts) if not isinstance(part.get("text"), str)]


def _adk_tool_event(part: _Obj) -> Event | None:
    """A tool call or result in ADK's data part, else None."""
    kind = (as_dict(part.get("metadata")) or {}).get("adk_type")
    data = as_dict(part.get("data")) or {}
    call_id, name = first_str(data, "id"), first_str(data, "name")
    if not call_id or name is None:
        return None
    if kind == "function_call":
        return ToolCallStarted(call_id=call_id, name=name, arguments=data.get("args"))
    if kind != "function_response":
        return None
    output, error = function_result(data.get("response"))
    return ToolCallFinished(call_id=call_id, output=output, error=error)


def _agno_tool_event(metadata: _Obj) -> list[Event]:
    """A tool call Agno ran, from its status metadata; none for other metadata."""
    kind, call_id = metadata.get("agno_event_type"), first_str(metadata, "tool_call_id")
    if not call_id:
        return []
    if kind == "tool_call_started":
        name, arguments = first_str(metadata, "tool_name") or "", metadata.get("tool_args")
        parsed = parse_json(arguments) if isinstance(arguments, str) else arguments
        return [ToolCallStarted(call_id=call_id, name=name, arguments=parsed)]
    return [ToolCallFinished(call_id=call_id)] if kind == "tool_call_completed" else []


def _approval_part(message: _Obj) -> _Obj | None:
    for part in _other_parts(message.get("parts")):
        approval = as_dict((as_dict(part.get("data")) or {}).get("approval"))
        if approval is not None and first_str(approval, "callId"):
            return approval
    return None


class A2ATranslator(Translator):
    """One A2A run (a task and the messages sent to it)."""

    def __init__(self, task_id: str | None = None, context_id: str | None = None) -> None:
        self.task_id = task_id
        self.context_id = context_id
        self.state: str | None = None
        """The task's last state (0.3 spelling)."""
        self.question_id: str | None = None
        """The approval id of the question the task paused on."""
        self.answer: str | None = None
        """The answer sent to that question (set by the provider)."""
        self.approving: str | None = None
        """The tool call (agentnb's server) the task paused to have approved."""
        self._started = False
        self._artifact_text: dict[str, str] = {}
        self._last_artifact: str | None = None
        self._notes = 0
        self._held = ""
        """A working note not shown yet: it may be the answer the artifact repeats."""
        self._usage: Usage | None = None

    def translate(self, sse: ServerSentEvent) -> list[Event]:
        body = as_dict(parse_json(sse.data))
        if body is None:
            return [unknown(sse)]
        if "error" in body:
            self.done = True
            return [jsonrpc_failure(body["error"])]
        found = stream_result(body.get("result"))
        if found is None:
            return [unknown(sse)]
        kind, obj = found
        held = self._shown_note() if kind != "artifact-update" else []
        return [*held, *self._result(kind, obj)]

    def _result(self, kind: str, obj: _Obj) -> list[Event]:
        if kind == "task":
            return self._task(obj)
        if kind == "status-update":
            metadata = as_dict(obj.get("metadata")) or {}
            return [*self._started_once(obj), *self._status(obj.get("status"), metadata)]
        if kind == "artifact-update":
            return [*self._started_once(obj), *self._artifact(obj)]
        return self._message(obj)

    # ---- the task ---------------------------------------------------------------------------
    def _started_once(self, obj: _Obj) -> list[Event]:
        task_id = first_str(obj, "taskId", "id") or self.task_id
        context_id = first_str(obj, "contextId") or self.context_id
        if self._started and (task_id, context_id) == (self.task_id, self.context_id):
            return []
        self._started, self.task_id, self.context_id = True, task_id, context_id
        return [RunStarted(run_id=task_id, thread_id=context_id)]

    def _task(self, task: _Obj) -> list[Event]:
        """A task snapshot: the run's ids, artifact text not seen yet (a resubscription
        starts with the task as it stands), and its status."""
        events = self._started_once(task)
        artifacts = task.get("artifacts")
        for artifact in artifacts if isinstance(artifacts, list) else []:
            events.extend(self._artifact_snapshot(as_dict(artifact) or {}))
        status = as_dict(task.get("status")) or {}
        if state_name(status.get("state")) in ("submitted", "working", None):
            self.state = state_name(status.get("state")) or self.state
            return events
        return [*events, *self._status(status)]

    def _status(self, value: Any, metadata: _Obj | None = None) -> list[Event]:
        status = as_dict(value) or {}
        metadata = metadata or {}
        state = state_name(status.get("state"))
        self.state = state or self.state
        events = self._answered() if state not in _PAUSED else []
        text = _message_text(status.get("message"))
        self._add_usage(metadata.get("adk_usage_metadata"))
        if state in ("submitted", "working"):
            message = as_dict(status.get("message")) or {}
            thought = _text_of(message.get("parts"), thoughts=True)
            notes = [*self._note(thought, {}), *self._note(text, metadata, hold=True)]
            return [*events, *notes, *self._progress(message), *_agno_tool_event(metadata)]
        if state == "completed":
            self.done = True
            answer: list[Event] = [text_delta(text)] if text else []
            usage = parse_usage(metadata.get("usage"))
            completed = RunCompleted(
                finish_reason="completed",
                usage=usage.merged(self._usage) if usage else self._usage,
                model=model_name(metadata.get("model")),
                followups=str_list(metadata.get("followups")),
                final_output=metadata.get("finalOutput"),
            )
            return [*events, *answer, completed]
        if state in _PAUSED:
            return self._paused(state, text, as_dict(status.get("message")) or {})
        if state in _FAILED:
            self.done = True
            default = f"the A2A task ended {state}"
            return [*events, failure(text or default, metadata.get("code") or _FAILED[state])]
        return [*events, CustomEvent(name="a2a.status", value=status)]

    def _note(self, text: str, metadata: _Obj, *, hold: bool = False) -> list[Event]:
        """A progress note; agentnb's server marks streamed reasoning (``agentnbDelta``),
        which is kept verbatim, while other agents' notes go one a line, each held
        (``hold``) until the next frame."""
        if not text:
            return []
        if metadata.get("agentnbDelta") is True:
            self._notes += 1
            return [reasoning_delta(text)]
        if hold:
            self._held = text
            return []
        self._notes += 1
        return [reasoning_delta(text if self._notes == 1 else f"\n{text}")]

    def _shown_note(self, answer: str | None = None) -> list[Event]:
        """The held note as reasoning, unless it is ``answer``, the artifact's text so far
        (ADK's working note that the artifact repeats: the answer is shown once)."""
        held, said = self._held.strip(), (answer or "").strip()
        if said and held != said and held.startswith(said):
            return []  # the artifact's first chunks: it may yet be the whole note
        note, self._held = self._held, ""
        return [] if said and held == said else self._note(note, {})

    def _add_usage(self, value: Any) -> None:
        usage = parse_usage(value)
        if usage is not None:
            self._usage = usage.plus(self._usage)

    def _progress(self, message: _Obj) -> list[Event]:
        """Data parts of a working status: agentnb's server shows the tools its agent runs
        as ``toolCall`` / ``toolResult`` (an extension); other data is kept."""
        events: list[Event] = []
        for part in _other_parts(message.get("parts")):
            data = as_dict(part.get("data")) or {}
            call, result = as_dict(data.get("toolCall")), as_dict(data.get("toolResult"))
            if (adk := _adk_tool_event(part)) is not None:
                events.append(adk)
            elif call is not None and first_str(call, "id", "name") is not None:
                call_id = first_str(call, "id") or ""
                name = first_str(call, "name") or ""
                events.append(
                    ToolCallStarted(call_id=call_id, name=name, arguments=call.get("arguments"))
                )
            elif (denied := as_dict(data.get("toolDenied"))) and first_str(denied, "id"):
                call_id = first_str(denied, "id") or ""
                events.append(ToolCallDenied(call_id=call_id, reason=first_str(denied, "reason")))
            elif result is not None and first_str(result, "id") is not None:
                error = first_str(result, "error")
                events.append(
                    ToolCallFinished(
                        call_id=first_str(result, "id") or "",
                        output=result.get("output"),
                        error=error,
                    )
                )
            else:
                events.append(CustomEvent(name="a2a.status", value=part))
        return events

    def _answered(self) -> list[Event]:
        """The question the task paused on, closed with the answer once the task goes on."""
        if self.question_id is None or self.answer is None:
            return []
        call_id, output = self.question_id, self.answer
        self.question_id = self.answer = None
        return [ToolCallFinished(call_id=call_id, output=output)]

    def _paused(self, state: str, text: str, message: _Obj) -> list[Event]:
        approval = _approval_part(message)
        if approval is not None:  # agentnb's server: a tool call awaiting approval
            self.approving = first_str(approval, "callId")
            request = ToolApprovalRequested(
                call_id=self.approving or "",
                approval_id=first_str(approval, "approvalId"),
                name=first_str(approval, "name") or "",
                reason=text or None,
            )
            return [request, RunPaused(reason=state)]
        self.question_id = f"{self.task_id or 'task'}:{state}"
        question = text or f"the agent needs {state.removesuffix('-required')}"
        request = ToolApprovalRequested(
            call_id=self.question_id,
            approval_id=self.question_id,
            name=state,
            reason=text or None,
            question=question,
        )
        return [request, RunPaused(reason=state)]

    # ---- artifacts and messages ---------------------------------------------------------------
    def _artifact(self, update: _Obj) -> list[Event]:
        artifact = as_dict(update.get("artifact")) or {}
        answer, events = self._artifact_events(artifact, appended=update.get("append") is True)
        return [*self._shown_note(answer=answer), *events]

    def _artifact_snapshot(self, artifact: _Obj) -> list[Event]:
        return self._artifact_events(artifact, appended=False)[1]

    def _artifact_events(self, artifact: _Obj, *, appended: bool) -> tuple[str, list[Event]]:
        """An artifact's text so far, and what of it is new. Without ``append`` an artifact
        already seen is replaced (A2A): sent again whole (fasta2a's last frame, a snapshot after
        a cut), only what follows the text shown is shown."""
        artifact_id = first_str(artifact, "artifactId") or "artifact"
        text = _text_of(artifact.get("parts"))
        seen = self._artifact_text.get(artifact_id)
        whole = (seen or "") + text if appended else text
        self._artifact_text[artifact_id] = whole
        if not appended and seen is not None and text.startswith(seen):
            return whole, self._text(artifact_id, text[len(seen) :])
        return whole, [*self._text(artifact_id, text), *self._kept_parts(artifact)]

    def _text(self, artifact_id: str, text: str) -> list[Event]:
        if not text:
            return []
        separator = "\n\n" if self._last_artifact not in (None, artifact_id) else ""
        self._last_artifact = artifact_id
        return [text_delta(separator + text)]

    def _kept_parts(self, artifact: _Obj) -> list[Event]:
        others = _other_parts(artifact.get("parts"))
        if not others:
            return []
        value = {
            "artifactId": artifact.get("artifactId"),
            "name": artifact.get("name"),
            "parts": others,
        }
        return [CustomEvent(name="a2a.artifact", value=value)]

    def _message(self, message: _Obj) -> list[Event]:
        """A message result: the agent answered without a task (the run ends), or a message
        in a task's stream (its text is part of the answer)."""
        events = self._started_once(message)
        text = _message_text(message)
        if text:
            events.extend(self._text(first_str(message, "messageId") or "message", text))
        events.extend(self._kept_parts(message))
        if first_str(message, "taskId") is None:
            self.done = True
            events.append(RunCompleted(finish_reason="message"))
        return events

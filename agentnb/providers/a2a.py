"""A2A, the Agent2Agent protocol over JSON-RPC 2.0, as the ``a2a-sdk`` server, Google ADK and
pydantic-ai's ``to_a2a()`` (fasta2a) serve it.

``base_url`` is the agent's JSON-RPC endpoint: the ``url`` of its agent card
(``/.well-known/agent-card.json``; A2A 1.0 cards list it under ``supportedInterfaces``).
A run is ``POST {base_url}{path}`` with a JSON-RPC request: A2A 1.0's
``SendStreamingMessage`` (``a2a-sdk`` 1.x; header ``A2A-Version: 1.0``), or, with option
``version="0.3"``, A2A 0.3's ``message/stream`` (``a2a-sdk`` 0.3, fasta2a). The answer is SSE
whose every frame is one JSON-RPC response (see :mod:`agentnb.providers._a2a_frames`).

Ids: the task is the run (task id = run id); its context id is the thread, sent with the next
message of a thread so the agent keeps the conversation (the server keeps the history).

Human in the loop: a task in ``input-required`` or ``auth-required`` pauses the run on a
question; the answer goes back as a new message to the same task and context
(``decision.answer``; approved without an answer: ``yes``; denied: the reason, or ``no``).
agentnb's server asks about a tool call (a data part ``approval`` naming it); the decision
then also goes as a data part ``decision`` ``{callId, approved, reason}``.

The platform's own task: Stop sends ``CancelTask`` (``tasks/cancel``); a running task is
streamed again with ``SubscribeToTask`` (``tasks/resubscribe``), which is also how a cut
stream resumes (A2A streams carry no event ids); ``GetTask`` (``tasks/get``) reads a task's
status for ``remote_runs``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from .._core.approvals import ApprovalDecision
from .._core.exceptions import ConfigurationError
from .._core.request import RunRequest
from ._a2a_frames import A2ATranslator, state_name, stream_result
from ._base import HttpRequest, Provider, RemoteRun, RunRef, Translator
from ._frames import as_dict, first_str, local_id
from ._options import carried, metadata_with_followups

__all__ = ["A2A", "A2ATranslator"]

_Obj = dict[str, Any]

_METHODS = {
    "1.0": {
        "stream": "SendStreamingMessage",
        "get": "GetTask",
        "cancel": "CancelTask",
        "subscribe": "SubscribeToTask",
    },
    "0.3": {
        "stream": "message/stream",
        "get": "tasks/get",
        "cancel": "tasks/cancel",
        "subscribe": "tasks/resubscribe",
    },
}

_RUN_STATUS = {
    "submitted": "running",
    "working": "running",
    "input-required": "paused",
    "auth-required": "paused",
    "completed": "completed",
    "failed": "failed",
    "rejected": "failed",
    "canceled": "cancelled",
}


class A2A(Provider):
    """JSON-RPC ``SendStreamingMessage`` (or 0.3's ``message/stream``) over SSE.

    Options: ``path`` (the JSON-RPC endpoint below ``base_url``; default ``/{agent}``, one
    agent per URL as agentnb's server mounts them, ``{agent}`` replaced by the agent name;
    ``path=""`` when ``base_url`` is an agent card's ``url`` itself, as the ``a2a-sdk`` serves
    one agent), ``version`` (``"1.0"``, the default, or ``"0.3"``).
    """

    name: ClassVar[str] = "a2a"
    title: ClassVar[str] = "A2A"
    carries: ClassVar[frozenset[str] | None] = carried(
        "metadata", "followups", "response_format", settings=()
    )
    resume_mode = "cursor"
    status_batch_size = 1
    json_answers = True
    supports_answers = True
    supports_approvals = True

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.path = str(options.get("path", "/{agent}"))
        self.version = str(options.get("version", "1.0"))
        if self.version not in _METHODS:
            raise ConfigurationError(
                f"A2A version {self.version!r} is not spoken; use one of {sorted(_METHODS)}"
            )

    @classmethod
    def option_names(cls) -> Sequence[str]:
        return ("path", "version")

    # ---- JSON-RPC ---------------------------------------------------------------------------
    def _rpc(self, agent: str, method: str, params: _Obj, *, stream: bool) -> HttpRequest:
        headers = {"A2A-Version": self.version}
        if stream:
            headers["Accept"] = "text/event-stream"
        body = {
            "jsonrpc": "2.0",
            "id": local_id("rpc"),
            "method": _METHODS[self.version][method],
            "params": params,
        }
        path = self.path.replace("{agent}", agent)
        return HttpRequest("POST", path, json=body, headers=headers)

    def _message(
        self, text: str, *, context_id: str | None, task_id: str | None, extra: _Obj
    ) -> _Obj:
        message: _Obj
        if self.version == "0.3":
            message = {"kind": "message", "role": "user", "parts": [{"kind": "text", "text": text}]}
        else:
            message = {"role": "ROLE_USER", "parts": [{"text": text}]}
        message["messageId"] = local_id("msg")
        if context_id:
            message["contextId"] = context_id
        if task_id:
            message["taskId"] = task_id
        return {"message": message, **extra}

    # ---- runs -------------------------------------------------------------------------------
    def stream_request(self, request: RunRequest) -> HttpRequest:
        params = self._message(
            request.message, context_id=request.thread_id, task_id=None, extra=request.extra
        )
        metadata: _Obj = dict(metadata_with_followups(request))
        if request.response_format is not None:
            metadata["responseFormat"] = request.response_format  # agentnb's server reads it
        if metadata:
            params["metadata"] = metadata
        return self._rpc(request.agent, "stream", params, stream=True)

    def translator(self, request: RunRequest) -> Translator:
        return A2ATranslator(context_id=request.thread_id)

    def resume_request(
        self, request: RunRequest, last_event_id: str | None, translator: Translator
    ) -> HttpRequest | None:
        """A cut stream goes on by subscribing to its task again (no event ids in A2A)."""
        if not isinstance(translator, A2ATranslator) or not translator.task_id:
            return None
        sent = self._rpc(request.agent, "subscribe", {"id": translator.task_id}, stream=True)
        if not last_event_id:
            return sent
        headers = {**sent.headers, "Last-Event-ID": last_event_id}  # where a server keeps ids
        return HttpRequest(sent.method, sent.path, json=sent.json, headers=headers)

    def approval_request(
        self, request: RunRequest, translator: Translator, decisions: Sequence[ApprovalDecision]
    ) -> HttpRequest:
        if not isinstance(translator, A2ATranslator):
            raise ConfigurationError("the A2A dialect answers only its own tasks")
        wanted = translator.approving or translator.question_id
        [decision, *_] = [d for d in decisions if d.call_id == wanted] or [*decisions]
        text = _answer_text(decision)
        parts: list[_Obj] = []
        if translator.approving is not None:  # agentnb's server names the call it asked about
            approved = {"callId": decision.call_id, "approved": decision.approved}
            data = {"decision": {**approved, "reason": decision.reason}}
            parts.append(
                {"kind": "data", "data": data} if self.version == "0.3" else {"data": data}
            )
            translator.approving = None
        else:
            translator.answer = text
        params = self._message(
            text, context_id=translator.context_id, task_id=translator.task_id, extra={}
        )
        params["message"]["parts"].extend(parts)
        return self._rpc(request.agent, "stream", params, stream=True)

    # ---- the platform's own task ----------------------------------------------------------------
    def cancel_request(self, ref: RunRef) -> HttpRequest:
        return self._rpc(ref.agent, "cancel", {"id": ref.run_id}, stream=False)

    def attach_request(self, ref: RunRef, last_event_id: str | None) -> HttpRequest:
        return self._rpc(ref.agent, "subscribe", {"id": ref.run_id}, stream=True)

    def run_status_request(self, agent: str, run_ids: Sequence[str]) -> HttpRequest | None:
        """``GetTask`` for one task (A2A reads one task per call: ``status_batch_size`` 1)."""
        if len(run_ids) != 1:
            return None
        return self._rpc(agent, "get", {"id": run_ids[0]}, stream=False)

    def parse_runs(self, body: Any) -> list[RemoteRun]:
        """The task of a ``GetTask`` answer; none for a JSON-RPC error (no such task)."""
        found = stream_result({"task": (as_dict(body) or {}).get("result")})
        if found is None or found[0] != "task":
            return []
        return [_remote_run(found[1])]


def _answer_text(decision: ApprovalDecision) -> str:
    if decision.answer is not None:
        return decision.answer if isinstance(decision.answer, str) else str(decision.answer)
    if decision.approved:
        return "yes"
    return decision.reason or "no"


def _remote_run(task: _Obj) -> RemoteRun:
    status = as_dict(task.get("status")) or {}
    state = state_name(status.get("state")) or "unknown"
    return RemoteRun(
        run_id=first_str(task, "id") or "",
        agent=None,
        thread_id=first_str(task, "contextId"),
        status=_RUN_STATUS.get(state, state),
        finished_at=first_str(status, "timestamp") if state in ("completed", "failed") else None,
        raw=task,
    )

"""Operativus: data-only frames whose event type is inside the JSON (``data`` may hold JSON
again). Usage is not in the stream: it is read from the run's status once the stream ends.
Approvals are agentnb's extension (``APPROVAL_REQUIRED`` / ``PAUSED``), spoken by its server."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from .._core.approvals import ApprovalDecision
from .._core.exceptions import ProtocolError
from .._core.request import RunRequest
from ..events import (
    Event,
    RunCompleted,
    RunPaused,
    RunStarted,
    ToolApprovalRequested,
    reasoning_delta,
    text_delta,
)
from ..sse import ServerSentEvent
from ._base import HttpRequest, Provider, RemoteRun, SendJson, Translator
from ._frames import (
    as_dict,
    completed_with,
    first_str,
    json_or_text,
    listed_runs,
    model_name,
    parse_json,
    parse_usage,
    reported_failure,
    str_list,
)
from ._frames import unknown as keep_unknown
from ._options import carried
from ._paths import segment
from ._status_batch import StatusBatches
from ._toolframes import ToolFrames

__all__ = ["Operativus", "OperativusTranslator"]

_FOLLOWUP_KEYS = ("followups", "followUps", "followupQuestions", "suggestions", "questions")


def _followups(data: Any) -> list[str]:
    value = json_or_text(data)
    if isinstance(value, list):
        return str_list(value)
    obj = as_dict(value)
    if obj is None:
        return []
    for key in _FOLLOWUP_KEYS:
        if key in obj:
            return str_list(obj[key])
    return []


class OperativusTranslator(Translator):
    """One run's ``AgentStreamEvent`` frames."""

    def __init__(self, session_id: str | None) -> None:
        self.session_id = session_id
        self._tools = ToolFrames()

    def translate(self, sse: ServerSentEvent) -> list[Event]:
        frame = parse_json(sse.data)
        name = first_str(frame, "event", "type") if isinstance(frame, dict) else None
        if name is None:
            return [keep_unknown(sse)]
        handler = self._HANDLERS.get(name.upper())
        events = handler(self, frame.get("data")) if handler is not None else None
        return [keep_unknown(sse)] if events is None else events

    def _start(self, data: Any) -> list[Event]:
        info = as_dict(json_or_text(data)) or {}
        self.run_id = first_str(info, "runId", "run_id") or self.run_id
        self.session_id = first_str(info, "sessionId", "session_id") or self.session_id
        return [
            RunStarted(
                run_id=self.run_id, thread_id=self.session_id, model=model_name(info.get("model"))
            )
        ]

    def _reasoning(self, data: Any) -> list[Event] | None:
        return [reasoning_delta(data)] if isinstance(data, str) else None

    def _content(self, data: Any) -> list[Event] | None:
        return [text_delta(data)] if isinstance(data, str) else None

    def _tool_start(self, data: Any) -> list[Event] | None:
        payload = as_dict(json_or_text(data))
        return None if payload is None else self._tools.started(payload)

    def _tool_end(self, data: Any) -> list[Event] | None:
        payload = as_dict(json_or_text(data))
        if payload is None:
            return None
        if payload.get("denied") is True:
            return self._tools.denied(payload)
        return self._tools.finished(payload)

    def _approval_required(self, data: Any) -> list[Event] | None:
        payload = as_dict(json_or_text(data))
        call_id = first_str(payload, "id", "toolCallId") if payload is not None else None
        if payload is None or call_id is None:
            return None
        return [
            ToolApprovalRequested(
                call_id=call_id,
                approval_id=first_str(payload, "approvalId"),
                reason=first_str(payload, "reason"),
                name=first_str(payload, "name") or "",
                arguments=payload.get("arguments"),
                question=_question(payload.get("question")),
            )
        ]

    def _paused(self, data: Any) -> list[Event]:
        info = as_dict(json_or_text(data)) or {}
        self.run_id = first_str(info, "runId", "run_id") or self.run_id
        return [RunPaused(reason=first_str(info, "reason") or "tool calls await approval")]

    def _stop(self, data: Any) -> list[Event]:
        self.done = True
        info = as_dict(json_or_text(data)) or {}
        return [
            RunCompleted(
                followups=_followups(data),
                usage=parse_usage(info.get("usage")),
                model=model_name(info.get("model")),
            )
        ]

    def _error(self, data: Any) -> list[Event]:
        self.done = True
        return [reported_failure(json_or_text(data))]

    _HANDLERS: ClassVar[dict[str, Callable[..., list[Event] | None]]] = {
        "START": _start,
        "REASONING_DELTA": _reasoning,
        "CONTENT_DELTA": _content,
        "TOOL_START": _tool_start,
        "TOOL_END": _tool_end,
        "APPROVAL_REQUIRED": _approval_required,
        "PAUSED": _paused,
        "STOP": _stop,
        "ERROR": _error,
    }
    """What each frame kind is translated by (made once, not per run)."""


class Operativus(Provider):
    """Operativus' ``POST /api/agents/{agentId}/runs/stream``.

    Option ``model`` sets ``options.model``. Temperature and max tokens go into ``options``
    (the documented overrides); a response format and metadata go into ``responseFormat`` and
    ``metadata`` (not in Operativus' docs: servers that lack them ignore them); ``extra``
    fields are merged into the body.
    """

    name: ClassVar[str] = "operativus"
    title: ClassVar[str] = "Operativus"
    carries: ClassVar[frozenset[str] | None] = carried(
        "followups",
        "media",
        "user_id",
        "org_id",
        "response_format",
        "metadata",
        settings=("temperature", "max_tokens"),
    )
    supports_approvals = True
    supports_answers = True

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        model = options.get("model")
        self.model = None if model is None else str(model)
        self._statuses = StatusBatches(
            self.run_status_request, self.parse_runs, limit=self.status_batch_size
        )

    @classmethod
    def option_names(cls) -> Sequence[str]:
        return ("model",)

    def requested_model(self, request: RunRequest) -> str | None:
        return self.model or super().requested_model(request)

    def _agent_path(self, agent: str) -> str:
        return f"/api/agents/{segment(agent, 'agent name')}"

    def stream_http_request(self, request: RunRequest) -> HttpRequest:
        body: dict[str, Any] = {"message": request.message}
        optional = {
            "sessionId": request.thread_id,
            "userId": request.user_id,
            "orgId": request.org_id,
        }
        body.update({key: value for key, value in optional.items() if value})
        body["generateFollowups"] = request.followups
        if request.media:
            body["media"] = [m.model_dump() for m in request.media]
        options = self._options(request)
        if options:
            body["options"] = options
        if request.response_format is not None:
            body["responseFormat"] = request.response_format
        if request.metadata:
            body["metadata"] = dict(request.metadata)
        body = request.with_extra(body)
        path = self._agent_path(request.agent) + "/runs/stream"
        return HttpRequest("POST", path, json=body, headers={"Accept": "text/event-stream"})

    def _options(self, request: RunRequest) -> dict[str, Any]:
        settings = request.model_settings
        options: dict[str, Any] = {}
        if self.model:
            options["model"] = self.model
        if settings.temperature is not None:
            options["temperature"] = settings.temperature
        if settings.max_tokens is not None:
            options["maxTokens"] = settings.max_tokens
        return options

    def translator(self, request: RunRequest) -> Translator:
        return OperativusTranslator(request.thread_id)

    def approval_request(
        self, request: RunRequest, translator: Translator, decisions: Sequence[ApprovalDecision]
    ) -> HttpRequest | None:
        run_id = getattr(translator, "run_id", None)
        if not isinstance(run_id, str):
            raise ProtocolError(
                "Operativus paused the run without its run id (no runId in START or PAUSED), "
                "so the decisions cannot be sent"
            )
        path = f"{self._agent_path(request.agent)}/runs/{segment(run_id, 'run id')}/approvals"
        body = {"decisions": [_decision(d) for d in decisions]}
        return HttpRequest("POST", path, json=body, headers={"Accept": "text/event-stream"})

    async def finalize(
        self, request: RunRequest, translator: Translator, completed: RunCompleted, send: SendJson
    ) -> RunCompleted:
        run_id = getattr(translator, "run_id", None)
        if not isinstance(run_id, str) or completed.usage is not None:
            return completed
        status = await self._statuses.fetch(request.agent, run_id, send)
        if status is None:
            return completed
        return completed_with(completed, status.usage, status.model)

    def run_status_request(self, agent: str, run_ids: Sequence[str]) -> HttpRequest | None:
        """One run: ``/runs/{runId}/status``; several: the batch endpoint (≤ 100 ids)."""
        if len(run_ids) == 1:
            path = f"{self._agent_path(agent)}/runs/{segment(run_ids[0], 'run id')}/status"
            return HttpRequest("GET", path)
        path = f"{self._agent_path(agent)}/runs/status"
        return HttpRequest("GET", path, params={"runIds": ",".join(run_ids)})

    def parse_runs(self, body: Any) -> list[RemoteRun]:
        return listed_runs(body, self.named)


def _question(value: Any) -> str | None:
    """The agent's question, when it is text (anything else is no question)."""
    return value if isinstance(value, str) else None


def _decision(decision: ApprovalDecision) -> dict[str, Any]:
    body: dict[str, Any] = {
        "toolCallId": decision.call_id,
        "approved": decision.approved,
        "reason": decision.reason,
    }
    if decision.answer is not None:
        body["answer"] = decision.answer
    return body

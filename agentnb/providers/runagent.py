"""run-agent.ai: named SSE events ``start``, ``chunk``, ``error``, ``done``.

A cut stream resumes by ``Last-Event-ID`` when the server sent event ids, else by the
documented cursor: the same request with ``parameters.resume_from_index`` set to the number
of chunks received and the run's ``session_id``. Chunks are indexed, so one seen twice after
a resume is skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from .._core.request import RunRequest
from ..events import Event, RunCompleted, RunStarted, reasoning_delta, text_delta
from ..sse import ServerSentEvent
from ._base import HttpRequest, Provider, Translator
from ._frames import first_number, first_str, model_name, parse_json, reported_failure, str_list
from ._frames import parse_usage as read_usage
from ._frames import unknown as keep_unknown
from ._options import carried
from ._paths import segment
from ._toolframes import ToolFrames

__all__ = ["RunAgent", "RunAgentTranslator"]

_Payload = dict[str, Any]


def _index(payload: _Payload) -> int | None:
    value = payload.get("index")
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


class RunAgentTranslator(Translator):
    """One run's frames; ``cursor`` is the index of the next chunk expected."""

    def __init__(self, session_id: str | None) -> None:
        self.session_id = session_id
        self.started = False
        self._next_index = 0
        self._tools = ToolFrames()

    @property
    def cursor(self) -> int | None:
        return self._next_index

    def translate(self, sse: ServerSentEvent) -> list[Event]:
        payload = parse_json(sse.data)
        if not isinstance(payload, dict):
            return [keep_unknown(sse)]
        name = sse.event
        if name == "message" and isinstance(payload.get("content"), str):
            name = "chunk"  # the docs' own example reads any frame with content as a chunk
        handler = self._HANDLERS.get(name)
        events = handler(self, payload) if handler is not None else None
        return [keep_unknown(sse)] if events is None else events

    def _start(self, payload: _Payload) -> list[Event]:
        self.started = True
        self.session_id = first_str(payload, "session_id", "sessionId") or self.session_id
        self.run_id = first_str(payload, "run_id", "runId") or self.run_id
        return [RunStarted(run_id=self.run_id, thread_id=self.session_id)]

    def _chunk(self, payload: _Payload) -> list[Event] | None:
        content = payload.get("content")
        if not isinstance(content, str):
            return None
        index = _index(payload)
        if index is not None and index < self._next_index:
            return []  # replayed after a resume: already applied
        self._next_index = (index if index is not None else self._next_index) + 1
        return [text_delta(content)]

    def _reasoning(self, payload: _Payload) -> list[Event] | None:
        text = first_str(payload, "content", "reasoning", "text", "delta")
        return None if text is None else [reasoning_delta(text)]

    def _error(self, payload: _Payload) -> list[Event]:
        self.done = True
        return [reported_failure(payload, ("error", "message"))]

    def _done(self, payload: _Payload) -> list[Event]:
        self.done = True
        return [
            RunCompleted(
                usage=read_usage(payload.get("usage")),
                model=model_name(payload.get("model")),
                execution_time=first_number(payload, "execution_time", "executionTime"),
                final_output=payload.get("output"),
                followups=str_list(payload.get("followups")),
            )
        ]

    _HANDLERS: ClassVar[dict[str, Callable[..., list[Event] | None]]] = {
        "start": _start,
        "chunk": _chunk,
        "reasoning": _reasoning,
        "error": _error,
        "done": _done,
        "tool_call": lambda self, frame: self._tools.started(frame),
        "tool_start": lambda self, frame: self._tools.started(frame),
        "tool_result": lambda self, frame: self._tools.finished(frame),
        "tool_end": lambda self, frame: self._tools.finished(frame),
    }
    """What each frame kind is translated by (made once, not per run)."""


class RunAgent(Provider):
    """run-agent.ai's ``POST /v1/agents/{agent_id}/stream``.

    ``parameters`` (free-form "additional parameters") carries the model settings, the
    metadata's keys, ``response_format`` and ``followups``; ``extra`` fields are merged into the
    body (an ``extra["parameters"]`` dict into ``parameters``).
    """

    name: ClassVar[str] = "runagent"
    title: ClassVar[str] = "run-agent.ai"
    carries: ClassVar[frozenset[str] | None] = carried("response_format", "metadata", "followups")
    default_base_url: ClassVar[str | None] = "https://api.run-agent.ai"
    resume_mode = "cursor"

    def _body(self, request: RunRequest, session_id: str | None) -> dict[str, Any]:
        parameters: dict[str, Any] = {**request.metadata, **request.model_settings.as_dict()}
        if request.response_format is not None:
            parameters["response_format"] = request.response_format
        if request.followups:
            parameters["followups"] = True
        extra = dict(request.extra)
        extra_parameters = extra.pop("parameters", None)
        if isinstance(extra_parameters, dict):
            parameters.update(extra_parameters)
        body: dict[str, Any] = {"query": request.message, "parameters": parameters}
        if session_id:
            body["session_id"] = session_id
        body.update(extra)
        return body

    def stream_http_request(self, request: RunRequest) -> HttpRequest:
        path = f"/v1/agents/{segment(request.agent, 'agent name')}/stream"
        body = self._body(request, request.thread_id)
        return HttpRequest("POST", path, json=body, headers={"Accept": "text/event-stream"})

    def resume_request(
        self, request: RunRequest, last_event_id: str | None, translator: Translator
    ) -> HttpRequest | None:
        """``Last-Event-ID`` when the server gave ids (it replays every kind of frame);
        else the chunk cursor, once the ``start`` frame has named the run's session."""
        first = self.stream_http_request(request)
        if last_event_id:
            return first.after(last_event_id)
        if not isinstance(translator, RunAgentTranslator):
            return None
        if not translator.started or not translator.session_id:
            return None  # without the start frame "the session's latest run" may be another
        body = self._body(request, translator.session_id)
        body["parameters"]["resume_from_index"] = translator.cursor
        return HttpRequest(first.method, first.path, json=body, headers=first.headers)

    def translator(self, request: RunRequest) -> Translator:
        return RunAgentTranslator(request.thread_id)

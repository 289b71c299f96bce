"""runtools.ai: ``POST /v1/run`` with ``X-API-Key``; the run and thread ids come as the
``X-Run-ID`` and ``X-Thread-ID`` response headers.

Its event names "may vary by execution mode", so frames are read generically: the kind comes
from the SSE event name, or from a ``type``/``event`` key in the JSON, in any of the usual
spellings (``thinking``/``reasoning``, ``text``/``delta``/``token``/``content``,
``tool_call``/``tool_result``, ``error``, ``complete``/``done``/``end``). Anything else is kept
as an ``UnknownEvent``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from .._core.request import RunRequest
from ..events import Event, RunCompleted, RunStarted, reasoning_delta, text_delta
from ..sse import ServerSentEvent
from ._base import HttpRequest, Provider, Translator
from ._frames import (
    INVALID,
    as_dict,
    first_number,
    first_str,
    is_done_marker,
    model_name,
    parse_json,
    parse_usage,
    reported_failure,
    str_list,
)
from ._frames import unknown as keep_unknown
from ._options import carried, metadata_with_followups
from ._toolframes import ToolFrames

__all__ = ["RunTools", "RunToolsTranslator"]

_KINDS: dict[str, tuple[str, ...]] = {
    "start": ("start", "started", "run_start", "run_started", "run_created"),
    "reasoning": ("thinking", "reasoning", "reasoning_delta", "thought", "thinking_delta"),
    "text": (
        "text",
        "delta",
        "token",
        "content",
        "text_delta",
        "content_delta",
        "message_delta",
        "chunk",
        "output_text_delta",
    ),
    "tool_start": ("tool_call", "tool_start", "tool_use", "tool_call_start", "tool_calls"),
    "tool_end": ("tool_result", "tool_end", "tool_output", "tool_response", "tool_call_result"),
    "error": ("error", "run_error", "failed", "run_failed"),
    "complete": ("complete", "completed", "done", "end", "finish", "finished", "run_completed"),
}
_KIND_OF = {name: kind for kind, names in _KINDS.items() for name in names}
_TEXT_KEYS = ("delta", "content", "text", "token", "chunk", "data")


def _kind(name: str) -> str | None:
    return _KIND_OF.get(name.strip().lower().replace("-", "_").replace(".", "_"))


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted and value:
            return value
    return None


def _payload_and_kind(sse: ServerSentEvent) -> tuple[Any, str | None]:
    payload = parse_json(sse.data)
    obj = as_dict(payload)
    if sse.event != "message":
        return (sse.data if payload is INVALID else payload), _kind(sse.event)
    if obj is None:
        return payload, None
    named = first_str(obj, "type", "event")
    if named is not None:
        return obj, _kind(named)
    if first_str(obj, "delta", "content", "text", "token") is not None:
        return obj, "text"
    return obj, None


def _body(payload: dict[str, Any]) -> dict[str, Any]:
    """A frame's fields, looking inside a ``data`` object wrapper when there is one."""
    inner = as_dict(payload.get("data"))
    return inner if inner is not None else payload


class RunToolsTranslator(Translator):
    """Generic frames for one run."""

    def __init__(self, thread_id: str | None) -> None:
        self.thread_id = thread_id
        self._tools = ToolFrames()

    def on_response(self, headers: Mapping[str, str]) -> list[Event]:
        run_id = _header(headers, "X-Run-ID")
        thread_id = _header(headers, "X-Thread-ID")
        if run_id is None and thread_id is None:
            return []
        self.run_id = run_id or self.run_id
        self.thread_id = thread_id or self.thread_id
        return [RunStarted(run_id=self.run_id, thread_id=self.thread_id)]

    def translate(self, sse: ServerSentEvent) -> list[Event]:
        if is_done_marker(sse):
            return [] if self.done else self._complete({})
        payload, kind = _payload_and_kind(sse)
        handler = self._HANDLERS.get(kind) if kind is not None else None
        events = handler(self, payload) if handler is not None else None
        return [keep_unknown(sse)] if events is None else events

    def _delta_text(self, payload: Any) -> str | None:
        if isinstance(payload, str):
            return payload
        obj = as_dict(payload)
        if obj is None:
            return None
        return first_str(obj, *_TEXT_KEYS) or first_str(_body(obj), *_TEXT_KEYS)

    def _start(self, payload: Any) -> list[Event] | None:
        obj = as_dict(payload)
        if obj is None:
            return None
        body = _body(obj)
        self.run_id = first_str(body, "runId", "run_id", "id") or self.run_id
        self.thread_id = first_str(body, "threadId", "thread_id") or self.thread_id
        return [RunStarted(run_id=self.run_id, thread_id=self.thread_id)]

    def _reasoning(self, payload: Any) -> list[Event] | None:
        text = self._delta_text(payload)
        return None if text is None else [reasoning_delta(text)]

    def _text(self, payload: Any) -> list[Event] | None:
        text = self._delta_text(payload)
        return None if text is None else [text_delta(text)]

    def _tool_start(self, payload: Any) -> list[Event] | None:
        obj = as_dict(payload)
        return None if obj is None else self._tools.started(_body(obj))

    def _tool_end(self, payload: Any) -> list[Event] | None:
        obj = as_dict(payload)
        return None if obj is None else self._tools.finished(_body(obj))

    def _error(self, payload: Any) -> list[Event]:
        self.done = True
        obj = as_dict(payload)
        if obj is not None and "error" not in obj:
            payload = {"code": obj.get("code"), **_body(obj)}
        return [reported_failure(payload, ("error", "message", "detail"))]

    def _complete(self, payload: Any) -> list[Event]:
        self.done = True
        obj = as_dict(payload) or {}
        body = _body(obj)
        usage = parse_usage(body.get("usage")) or parse_usage(obj.get("usage"))
        final = next((body[k] for k in ("result", "output") if body.get(k) is not None), None)
        return [
            RunCompleted(
                usage=usage,
                model=model_name(body.get("model")) or model_name(obj.get("model")),
                execution_time=first_number(body, "execution_time", "executionTime", "duration"),
                followups=str_list(body.get("followups")),
                final_output=final,
            )
        ]

    _HANDLERS: ClassVar[dict[str, Callable[..., list[Event] | None]]] = {
        "start": _start,
        "reasoning": _reasoning,
        "text": _text,
        "tool_start": _tool_start,
        "tool_end": _tool_end,
        "error": _error,
        "complete": _complete,
    }
    """What each frame kind is translated by (made once, not per run)."""


class RunTools(Provider):
    """runtools.ai's ``POST /v1/run`` (SSE). Model settings go into ``config`` (camelCase
    keys), with ``responseFormat``; ``extra`` fields are merged into the body."""

    name: ClassVar[str] = "runtools"
    title: ClassVar[str] = "runtools.ai"
    carries: ClassVar[frozenset[str] | None] = carried("response_format", "metadata", "followups")
    default_base_url: ClassVar[str | None] = "https://api.runtools.ai"
    auth_scheme = "x-api-key"

    def stream_http_request(self, request: RunRequest) -> HttpRequest:
        body: dict[str, Any] = {"agent": request.agent, "prompt": request.message, "stream": True}
        if request.thread_id:
            body["threadId"] = request.thread_id
        config = _camel_settings(request)
        if config:
            body["config"] = config
        metadata = metadata_with_followups(request)
        if metadata:
            body["metadata"] = metadata
        body = request.with_extra(body)
        return HttpRequest("POST", "/v1/run", json=body, headers={"Accept": "text/event-stream"})

    def translator(self, request: RunRequest) -> Translator:
        return RunToolsTranslator(request.thread_id)


def _camel_settings(request: RunRequest) -> dict[str, Any]:
    names = {
        "temperature": "temperature",
        "top_p": "topP",
        "frequency_penalty": "frequencyPenalty",
        "presence_penalty": "presencePenalty",
        "max_tokens": "maxTokens",
    }
    config = {names[key]: value for key, value in request.model_settings.as_dict().items()}
    if request.response_format is not None:
        config["responseFormat"] = request.response_format
    return config

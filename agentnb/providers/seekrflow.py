"""SeekrFlow (flow.seekr.com): agent runs on threads.

The run request carries no message, so :meth:`SeekrFlow.prepare` creates a thread when none is
given and puts the user's message on it; then the run is streamed. ``seekrflow`` reads the
legacy ``streaming_chunk`` frames, ``seekrflow-vercel`` the Vercel UI message frames of
``/runs/stream/vercel``. Usage is not in either stream: it is read from the thread's run list
after the stream ends.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from .._core.exceptions import ProtocolError
from .._core.request import RunRequest
from ..events import (
    Event,
    RunCompleted,
    RunStarted,
    ToolCallFinished,
    ToolCallStarted,
    reasoning_delta,
    text_delta,
)
from ..sse import ServerSentEvent
from ._base import HttpRequest, Provider, RemoteRun, RunRef, RunsPage, SendJson, Translator
from ._frames import (
    as_dict,
    completed_with,
    first_str,
    is_done_marker,
    listed_runs,
    parse_json,
    quoted,
    reported_failure,
    str_list,
)
from ._frames import parse_usage as read_usage
from ._frames import unknown as keep_unknown
from ._options import carried, metadata_with_followups
from ._paths import segment
from ._uimessage import UIMessageTranslator

__all__ = ["SeekrFlow", "SeekrFlowTranslator", "SeekrFlowVercel"]

_Chunk = dict[str, Any]
_STRUCTURAL = frozenset(
    {"node_header", "part_start_event", "final_result_event", "user_prompt", "tool_call_part_delta"}
)
"""Inner chunks that describe the agent graph's progress; the transcript needs none of them
(``tool_call_part_delta`` repeats arguments that ``streaming_tool_request`` carries whole)."""


def _thread_path(thread_id: str) -> str:
    return f"/v1/threads/{segment(thread_id, 'thread id')}"


class SeekrFlowTranslator(Translator):
    """Legacy frames: ``{"type": "streaming_chunk", "data": {...}, "meta_data": {...}}``."""

    def __init__(self, thread_id: str | None) -> None:
        self.thread_id = thread_id
        self._announced = False

    def on_response(self, headers: Mapping[str, str]) -> list[Event]:
        if self._announced:
            return []
        self._announced = True
        return [RunStarted(thread_id=self.thread_id)]

    def translate(self, sse: ServerSentEvent) -> list[Event]:
        if is_done_marker(sse):
            return [] if self.done else self._complete(None)
        frame = as_dict(parse_json(sse.data))
        if frame is None:
            return [keep_unknown(sse)]
        if first_str(frame, "type") == "error" or frame.get("error") is not None:
            return self._error(frame)
        chunk = as_dict(frame.get("data"))
        kind = first_str(chunk, "type") if chunk is not None else None
        if chunk is None or kind is None:
            return [keep_unknown(sse)]
        events = self._run_id_from(frame, chunk)
        if kind in _STRUCTURAL:
            return events
        handler = self._HANDLERS.get(kind)
        found = handler(self, chunk) if handler is not None else None
        return events + ([keep_unknown(sse)] if found is None else found)

    def _run_id_from(self, frame: _Chunk, chunk: _Chunk) -> list[Event]:
        if self.run_id is not None:
            return []
        for meta in (as_dict(frame.get("meta_data")), as_dict(chunk.get("meta_data"))):
            run_id = first_str(meta, "run_id", "runId") if meta else None
            if run_id:
                self.run_id = run_id
                return [RunStarted(run_id=run_id, thread_id=self.thread_id)]
        return []

    def _text(self, chunk: _Chunk) -> list[Event] | None:
        text = first_str(chunk, "text", "content", "delta")
        return None if text is None else [text_delta(text)]

    def _reasoning(self, chunk: _Chunk) -> list[Event] | None:
        text = first_str(chunk, "reasoning", "text", "content")
        return None if text is None else [reasoning_delta(text)]

    def _tool_request(self, chunk: _Chunk) -> list[Event] | None:
        call_id = first_str(chunk, "tool_id")
        if call_id is None:
            return None
        name = first_str(chunk, "tool_name") or ""
        return [ToolCallStarted(call_id=call_id, name=name, arguments=chunk.get("tool_args"))]

    def _tool_response(self, chunk: _Chunk) -> list[Event] | None:
        call_id = first_str(chunk, "tool_id")
        if call_id is None:
            return None
        output = chunk.get("tool_output")
        meta = as_dict(chunk.get("meta_data")) or {}
        if meta.get("is_error") is True:
            detail = as_dict(output) or {}
            error = first_str(detail, "error", "message") or str(output)
            return [ToolCallFinished(call_id=call_id, error=error)]
        return [ToolCallFinished(call_id=call_id, output=output)]

    def _end(self, chunk: _Chunk) -> list[Event]:
        meta = as_dict(chunk.get("meta_data")) or {}
        return self._complete(chunk.get("final_output"), str_list(meta.get("followups")))

    def _complete(self, final_output: Any, followups: list[str] | None = None) -> list[Event]:
        self.done = True
        return [RunCompleted(final_output=final_output, followups=followups or [])]

    def _inner_error(self, chunk: _Chunk) -> list[Event]:
        self.done = True
        return [reported_failure(chunk, ("message", "error", "detail"))]

    def _error(self, frame: _Chunk) -> list[Event]:
        self.done = True
        return [reported_failure(frame, ("error", "message", "detail"))]

    _HANDLERS: ClassVar[dict[str, Callable[..., list[Event] | None]]] = {
        "text_delta": _text,
        "stream_reasoning": _reasoning,
        "streaming_tool_request": _tool_request,
        "streaming_tool_response": _tool_response,
        "end_node": _end,
        "error": _inner_error,
    }
    """What each frame kind is translated by (made once, not per run)."""


class _SeekrFlowVercelTranslator(UIMessageTranslator):
    """The UI message stream, with the thread announced as the response arrives."""

    def __init__(self, thread_id: str | None) -> None:
        super().__init__(thread_id=thread_id)
        self._announced = False

    def on_response(self, headers: Mapping[str, str]) -> list[Event]:
        events = super().on_response(headers)
        if self._announced:
            return events
        self._announced = True
        return [*events, RunStarted(thread_id=self._thread_id)]


class SeekrFlow(Provider):
    """SeekrFlow's legacy stream (``/v1/threads/{id}/runs/stream``)."""

    name: ClassVar[str] = "seekrflow"
    title: ClassVar[str] = "SeekrFlow"
    carries: ClassVar[frozenset[str] | None] = carried(
        "response_format", "metadata", "team_id", "followups"
    )
    default_base_url: ClassVar[str | None] = "https://flow.seekr.com"
    attach_replays_run = True  # the platform streams data-only frames: a cut attaches again
    stream_suffix: ClassVar[str] = "/runs/stream"

    def _headers(self, request: RunRequest) -> dict[str, str]:
        return {"x-team-id": request.team_id} if request.team_id else {}

    async def prepare(self, request: RunRequest, send: SendJson) -> RunRequest:
        headers = self._headers(request)
        thread_id = request.thread_id
        if not thread_id:
            created = await send(HttpRequest("POST", "/v1/threads", json={}, headers=headers))
            thread_id = first_str(as_dict(created) or {}, "id")
            if not thread_id:
                raise ProtocolError(
                    f"{self.named}: POST /v1/threads answered without a thread id: "
                    f"{quoted(created)}"
                )
        message = {"role": "user", "content": request.message}
        path = f"{_thread_path(thread_id)}/messages"
        await send(HttpRequest("POST", path, json=message, headers=headers))
        return request.model_copy(update={"thread_id": thread_id})

    def stream_http_request(self, request: RunRequest) -> HttpRequest:
        body: dict[str, Any] = {"agent_id": request.agent}
        settings = request.model_settings.as_dict()
        if settings:
            body["model_settings"] = settings
        if request.response_format is not None:
            body["response_format"] = {"json_schema": request.response_format}
        metadata = metadata_with_followups(request)
        if metadata:
            body["metadata"] = metadata
        body = request.with_extra(body)
        path = _thread_path(request.thread_id or "") + self.stream_suffix
        headers = {"Accept": "text/event-stream", **self._headers(request)}
        return HttpRequest("POST", path, json=body, headers=headers)

    def translator(self, request: RunRequest) -> Translator:
        return SeekrFlowTranslator(request.thread_id)

    def cancel_request(self, ref: RunRef) -> HttpRequest | None:
        """``POST /v1/threads/{thread}/runs/{run}/cancel`` with the agent, as the ``seekrai``
        SDK's ``cancel`` sends it (the run stops on the platform, not only the stream)."""
        if not ref.thread_id:
            return None
        path = f"{_thread_path(ref.thread_id)}/runs/{segment(ref.run_id, 'run id')}/cancel"
        return HttpRequest("POST", path, json={"agent_id": ref.agent})

    def attach_request(self, ref: RunRef, last_event_id: str | None) -> HttpRequest | None:
        """``GET /v1/threads/{thread}/runs/{run}/attach``: the stream of a run still going
        (the ``seekrai`` SDK's ``attach``), after ``Last-Event-ID`` when one was received."""
        if not ref.thread_id:
            return None
        path = f"{_thread_path(ref.thread_id)}/runs/{segment(ref.run_id, 'run id')}/attach"
        headers = {"Accept": "text/event-stream"}
        attach = HttpRequest("GET", path, headers=headers, replays_run=not last_event_id)
        return attach.after(last_event_id)

    def retrieve_run_request(self, ref: RunRef) -> HttpRequest | None:
        """``GET /v1/threads/{thread}/runs/{run}``: one run object (the ``seekrai`` SDK's
        ``runs.retrieve``)."""
        if not ref.thread_id:
            return None
        return HttpRequest(
            "GET", f"{_thread_path(ref.thread_id)}/runs/{segment(ref.run_id, 'run id')}"
        )

    async def finalize(
        self, request: RunRequest, translator: Translator, completed: RunCompleted, send: SendJson
    ) -> RunCompleted:
        if not request.thread_id:
            return completed
        latest = self.list_runs_request(RunsPage(request.thread_id, limit=5))
        runs = self.parse_runs(await send(latest))
        run_id = translator.run_id
        mine = [r for r in runs if r.run_id == run_id] if run_id else runs[:1]
        if not mine:
            return completed
        return completed_with(completed, read_usage(mine[0].raw.get("usage")), mine[0].model)

    def list_runs_request(self, page: RunsPage) -> HttpRequest:
        params = {"limit": str(page.limit), "offset": str(page.offset), "order": page.order}
        return HttpRequest("GET", f"{_thread_path(page.thread_id)}/runs", params=params)

    def parse_runs(self, body: Any) -> list[RemoteRun]:
        return listed_runs(body, self.named)


class SeekrFlowVercel(SeekrFlow):
    """SeekrFlow's current stream (``/runs/stream/vercel``, Vercel UI message frames)."""

    name: ClassVar[str] = "seekrflow-vercel"
    title: ClassVar[str] = "SeekrFlow (Vercel stream)"
    stream_suffix: ClassVar[str] = "/runs/stream/vercel"

    def translator(self, request: RunRequest) -> Translator:
        return _SeekrFlowVercelTranslator(request.thread_id)

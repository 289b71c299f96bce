"""The OpenAI Responses API (``POST /responses``): OpenAI, Azure AI Foundry and compatible
servers. The server keeps the conversation (``previous_response_id`` or ``conversation``), so
a retry forks a chain of responses; approvals and the client's tool results go back as a new
response continuing the run. Details: docs/responses.md."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from .._core.approvals import ApprovalDecision
from .._core.client_tools import ToolResult
from .._core.exceptions import ConfigurationError, HTTPStatusError
from .._core.request import RunRequest
from ._base import HttpRequest, RemoteRun, RunRef, Translator
from ._frames import as_dict, first_number, first_str, model_name, parse_usage
from ._options import carried, metadata_with_followups
from ._paths import segment
from ._response_stream import ResponsesTranslator, response_status
from .openai import OpenAIAPI, image_url, schema_name

__all__ = ["OpenAIResponses", "ResponsesTranslator"]

_Obj = dict[str, Any]
_STREAM = {"Accept": "text/event-stream"}
DEVUI_KEY = "entity_id"
DEVUI_REFUSAL = "Missing entity_id in metadata"
"""Microsoft Agent Framework's DevUI's words for a response that does not name its agent."""
CONVERSATION_PREFIX = "conv"
"""Thread ids that name a conversation (OpenAI's ``conv_...``); others are response ids."""


def _input(request: RunRequest) -> str | list[_Obj]:
    if not request.media:
        return request.message
    content = [{"type": "input_text", "text": request.message}]
    content.extend({"type": "input_image", "image_url": image_url(m)} for m in request.media)
    return [{"type": "message", "role": "user", "content": content}]


def _function_call(result: ToolResult) -> _Obj:
    return {
        "type": "function_call",
        "call_id": result.call_id,
        "name": result.name,
        "arguments": result.arguments,
    }


def _as_items(given: str | list[_Obj]) -> list[_Obj]:
    return (
        [{"type": "message", "role": "user", "content": given}] if isinstance(given, str) else given
    )


class OpenAIResponses(OpenAIAPI):
    """``POST {base}/responses`` with ``stream: true``.

    Options: ``instructions`` (the system prompt of every run), ``background`` (run as a
    background response, which survives a cut and can be attached to and cancelled; implies
    ``store``), ``store`` (keep responses on the server; the server's default when unset),
    ``agent_metadata`` (a metadata key the agent's name is sent under, for a server that
    routes a response to its agent by metadata). Microsoft Agent Framework's DevUI needs no
    option: its refusal of a response that does not name the agent (:meth:`refused`) names
    it in ``metadata.entity_id`` from then on.
    """

    name: ClassVar[str] = "openai-responses"
    title: ClassVar[str] = "OpenAI Responses"
    carries: ClassVar[frozenset[str] | None] = carried(
        "response_format", "metadata", "followups", "media", "tools",
        settings=("temperature", "top_p", "max_tokens"),
    )  # fmt: skip
    default_base_url: ClassVar[str | None] = "https://api.openai.com/v1"
    resume_mode = "cursor"
    status_batch_size = 1
    supports_approvals = True

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        instructions = options.get("instructions")
        self.instructions = None if instructions is None else str(instructions)
        self.background = bool(options.get("background", False))
        store = options.get("store")
        self.store = None if store is None else bool(store)
        agent_metadata = options.get("agent_metadata")
        self.agent_metadata = None if agent_metadata is None else str(agent_metadata)
        self.routed_by: str | None = None
        """The metadata key a server's refusal said names the agent (DevUI's ``entity_id``)."""
        if self.background and self.store is False:
            raise ConfigurationError(
                "OpenAI Responses: background=True needs the response stored; drop store=False"
            )

    @classmethod
    def option_names(cls) -> Sequence[str]:
        return ("instructions", "background", "store", "agent_metadata")

    # ---- runs -----------------------------------------------------------------------------
    def _body(self, request: RunRequest, thread_id: str | None, given: Any) -> _Obj:
        """The one body builder: a run's first response and the responses that continue it."""
        body: _Obj = {"model": request.agent, "input": given, "stream": True}
        if self.instructions is not None:
            body["instructions"] = self.instructions
        if self.background:
            body["background"] = True
        if self.store is not None or self.background:
            body["store"] = True if self.background else self.store
        if thread_id and thread_id.startswith(CONVERSATION_PREFIX):
            body["conversation"] = thread_id
        elif thread_id:
            body["previous_response_id"] = thread_id
        settings = request.model_settings.as_dict()
        if "max_tokens" in settings:
            settings["max_output_tokens"] = settings.pop("max_tokens")
        body.update(settings)
        if request.response_format is not None:
            schema = request.response_format
            body["text"] = {
                "format": {"type": "json_schema", "name": schema_name(schema), "schema": schema}
            }
        if request.tools:
            body["tools"] = [{"type": "function", **t.declaration()} for t in request.tools]
        metadata = metadata_with_followups(request)
        for key in (self.agent_metadata, self.routed_by):
            if key:
                metadata.setdefault(key, request.agent)
        if metadata:
            body["metadata"] = metadata
        return request.with_extra(body)

    def stream_http_request(self, request: RunRequest) -> HttpRequest:
        body = self._body(request, request.thread_id, _input(request))
        return HttpRequest("POST", "/responses", json=body, headers=_STREAM)

    def refused(
        self, request: RunRequest, sent: HttpRequest, error: HTTPStatusError
    ) -> HttpRequest | None:
        """DevUI's 400 ``Missing entity_id in metadata``: ``sent`` again with the agent's
        name there, as every later request of this connection names it. Sending it to every
        Responses server instead would store a key of agentnb's on OpenAI's responses and take
        one of the 16 metadata entries it allows."""
        body = sent.json
        if error.status_code != 400 or DEVUI_REFUSAL not in error.body:
            return None
        if not isinstance(body, dict) or DEVUI_KEY in (as_dict(body.get("metadata")) or {}):
            return None
        self.routed_by = DEVUI_KEY
        metadata = {**(as_dict(body.get("metadata")) or {}), DEVUI_KEY: request.agent}
        return dataclasses.replace(sent, json={**body, "metadata": metadata})

    def cannot_fork(self, thread_id: str | None) -> str | None:
        """A chain of responses forks by itself: a retry's ``previous_response_id`` is the
        response before the turn it replaces (its request's ``thread_id``). A conversation
        keeps every item it was given, so it cannot."""
        if thread_id and thread_id.startswith(CONVERSATION_PREFIX):
            return (
                f"an OpenAI conversation ({thread_id}) keeps every item it was given and "
                f"cannot start again from before a turn"
            )
        return None

    def translator(self, request: RunRequest) -> Translator:
        return ResponsesTranslator(request.thread_id)

    def resume_request(
        self, request: RunRequest, last_event_id: str | None, translator: Translator
    ) -> HttpRequest | None:
        """The response streamed again after the last sequence number applied."""
        if not isinstance(translator, ResponsesTranslator) or not translator.run_id:
            return None
        params = {"stream": "true"}
        if translator.cursor is not None:
            params["starting_after"] = str(translator.cursor)
        return HttpRequest("GET", _response_path(translator.run_id), params=params, headers=_STREAM)

    def approval_request(
        self, request: RunRequest, translator: Translator, decisions: Sequence[ApprovalDecision]
    ) -> HttpRequest:
        """A new response continuing the paused one, its input the decisions."""
        if not isinstance(translator, ResponsesTranslator) or not translator.run_id:
            raise ConfigurationError("the OpenAI Responses dialect answers only its own runs")
        awaiting = translator.awaiting_approval
        answers: list[_Obj] = []
        for decision in decisions:
            if decision.call_id not in awaiting:
                continue
            answer: _Obj = {
                "type": "mcp_approval_response",
                "approval_request_id": decision.call_id,
                "approve": decision.approved,
            }
            if decision.reason:
                answer["reason"] = decision.reason
            answers.append(answer)
        thread = translator.thread_id
        continued = thread if thread and thread.startswith(CONVERSATION_PREFIX) else None
        body = self._body(request, continued or translator.run_id, answers)
        body["input"] = answers  # not the first request's own input, given in ``extra``
        translator.next_response()
        return HttpRequest("POST", "/responses", json=body, headers=_STREAM)

    def tool_results_request(
        self, request: RunRequest, translator: Translator, results: Sequence[ToolResult]
    ) -> HttpRequest:
        """A new response continuing the last one, its input ``function_call_output`` items;
        a server told not to store responses (``store=False``) is sent the whole input."""
        if not isinstance(translator, ResponsesTranslator) or not translator.run_id:
            raise ConfigurationError("the OpenAI Responses dialect continues only its own runs")
        outputs = [
            {"type": "function_call_output", "call_id": r.call_id, "output": _output(r)}
            for r in results
        ]
        translator.next_response()
        previous = translator.thread_id
        if not (previous and previous.startswith(CONVERSATION_PREFIX)):
            previous = translator.run_id
        given: list[_Obj] = outputs
        if self.store is False:  # nothing to continue: the whole input again
            translator.sent_items += [_function_call(r) for r in results] + outputs
            previous, given = request.thread_id, _as_items(_input(request)) + translator.sent_items
        body = self._body(request, previous, given)
        body["input"] = given  # not the first request's own input, given in ``extra``
        return HttpRequest("POST", "/responses", json=body, headers=_STREAM)

    # ---- the platform's own response --------------------------------------------------------
    def cancel_request(self, ref: RunRef) -> HttpRequest | None:
        """``POST /responses/{id}/cancel`` for a background response, the only kind the API
        cancels (OpenAI's reference: "Only responses created with the background parameter
        set to true can be cancelled"; others answer 404). A foreground response is
        generated for its stream: closing the stream is its Stop, and nothing is sent."""
        if not self.background:
            return None
        return HttpRequest("POST", _response_path(ref.run_id) + "/cancel")

    def attach_request(self, ref: RunRef, last_event_id: str | None) -> HttpRequest:
        return HttpRequest(
            "GET",
            _response_path(ref.run_id),
            params={"stream": "true"},
            headers=_STREAM,
            replays_run=True,
        )

    def retrieve_run_request(self, ref: RunRef) -> HttpRequest:
        return HttpRequest("GET", _response_path(ref.run_id))

    def run_status_request(self, agent: str, run_ids: Sequence[str]) -> HttpRequest | None:
        """``GET /responses/{id}`` for one response (``status_batch_size`` 1)."""
        if len(run_ids) != 1:
            return None
        return HttpRequest("GET", _response_path(run_ids[0]))

    def parse_runs(self, body: Any) -> list[RemoteRun]:
        response = as_dict(body)
        if response is None or not first_str(response, "id"):
            return []
        return [_remote_run(response)]


def _response_path(response_id: str) -> str:
    return f"/responses/{segment(response_id, 'response id')}"


def _iso(value: float | None) -> str | None:
    if value is None:
        return None
    return datetime.fromtimestamp(value, UTC).isoformat().replace("+00:00", "Z")


def _remote_run(response: _Obj) -> RemoteRun:
    usage = parse_usage(response.get("usage"))
    conversation = as_dict(response.get("conversation")) or {}
    return RemoteRun(
        run_id=first_str(response, "id") or "",
        agent=first_str(response, "model"),
        model=model_name(response.get("model")),
        thread_id=first_str(conversation, "id") or first_str(response, "id"),
        status=response_status(response),
        created_at=_iso(first_number(response, "created_at")),
        finished_at=_iso(first_number(response, "completed_at")),
        prompt_tokens=usage.prompt_tokens if usage else None,
        completion_tokens=usage.completion_tokens if usage else None,
        total_tokens=usage.total_tokens if usage else None,
        raw=response,
        usage=usage,
    )


def _output(result: ToolResult) -> str | list[_Obj]:
    """A result as a ``function_call_output``'s output: its text, and its images beside it
    (an MCP tool's), as ``input_image`` parts."""
    if not result.images:
        return result.text
    images = [
        {"type": "input_image", "image_url": f"data:{mime};base64,{data}"}
        for mime, data in result.images
    ]
    return [{"type": "input_text", "text": result.text}, *images]

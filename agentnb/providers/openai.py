"""OpenAI-compatible Chat Completions (OpenAI, vLLM, Ollama, LM Studio, LiteLLM ...).

Chat Completions is stateless: the client keeps each thread's messages, whole turns with
their ``tool_calls`` and ``tool`` results, and sends them with every run. A server that runs
its tools itself (agentnb's built-in one) reports them in ``provider_specific_fields``, where
OpenAI clients leave them alone and a LiteLLM proxy relays them. Details:
docs/providers.md, ``openai``."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, ClassVar

from .._core.client_tools import ToolResult
from .._core.exceptions import ConfigurationError
from .._core.request import Media, RunRequest
from ..events import (
    Event,
    RunCompleted,
    RunStarted,
    ToolCallDelta,
    ToolCallFinished,
    ToolCallStarted,
    Usage,
    reasoning_delta,
    text_delta,
)
from ..sse import ServerSentEvent
from ._base import HttpRequest, Provider, RemoteAgent, Translator
from ._client_threads import ClientThreadProvider, ClientThreads
from ._frames import (
    as_dict,
    first_str,
    is_done_marker,
    json_or_text,
    listed_models,
    model_name,
    parse_json,
    parse_usage,
    reported_failure,
    str_list,
)
from ._frames import unknown as keep_unknown
from ._openai_history import TurnHistory
from ._options import carried, metadata_with_followups

__all__ = ["OpenAI", "OpenAIAPI", "OpenAITranslator", "image_url", "schema_name"]

_Obj = dict[str, Any]


class OpenAITranslator(Translator):
    """``chat.completion.chunk`` frames of one run (choice 0), ended by ``[DONE]``."""

    def __init__(self, thread_id: str | None) -> None:
        self.thread_id = thread_id
        self._calls: dict[int, str] = {}
        """Call ids by the ``index`` their deltas carry."""
        self._steps = 0
        self._usage: Usage | None = None
        self._followups: list[str] = []
        self._finish_reason: str | None = None
        self._model: str | None = None
        """The model the chunks name (every chunk carries it; the last one counts)."""
        self.history = TurnHistory()
        """The run's turns as Chat Completions messages (what the next request sends)."""

    @property
    def text(self) -> str:
        """The answer text read so far."""
        return self.history.text

    def next_step(self) -> None:
        """The client's tool results went out: the agent's next step streams as a new
        completion (its calls numbered from 0 again)."""
        self.done = False
        self._steps += 1
        self._calls.clear()
        self._finish_reason = self._usage = None

    def translate(self, sse: ServerSentEvent) -> list[Event]:
        if is_done_marker(sse):
            return [] if self.done else self._complete()
        chunk = as_dict(parse_json(sse.data))
        if chunk is None:
            return [keep_unknown(sse)]
        if chunk.get("error") is not None:
            return self._error(chunk["error"])
        events: list[Event] = []
        recognized = False
        self._model = model_name(chunk.get("model")) or self._model
        chunk_id = first_str(chunk, "id")
        if chunk_id and self.run_id is None:
            self.run_id = chunk_id
            events.append(RunStarted(run_id=chunk_id, thread_id=self.thread_id, model=self._model))
        usage = parse_usage(chunk.get("usage"))
        if usage is not None:
            self._usage = usage
            recognized = True
        choices = chunk.get("choices")
        if isinstance(choices, list):
            recognized = True
            for choice in choices:
                events.extend(self._choice(as_dict(choice)))
        if not recognized and not events:
            return [keep_unknown(sse)]
        return events

    def _choice(self, choice: _Obj | None) -> list[Event]:
        if choice is None or choice.get("index", 0) != 0:
            return []  # n > 1 would interleave answers; the run follows the first choice
        delta = as_dict(choice.get("delta")) or as_dict(choice.get("message")) or {}
        if delta.get("role") == "tool":
            return self._tool_result(delta)
        events: list[Event] = []
        extension = as_dict(delta.get("provider_specific_fields")) or {}
        outcome = as_dict(extension.get("agentnb_tool_result"))
        if outcome is not None:
            events.extend(self._agentnb_tool_result(outcome))
        followups = str_list(extension.get("agentnb_followups"))
        if followups:
            self._followups = followups
        reasoning = first_str(delta, "reasoning_content", "reasoning")
        if reasoning:
            events.append(reasoning_delta(reasoning))
        content = delta.get("content")
        if isinstance(content, str) and content:
            self.history.content(content)
            events.append(text_delta(content))
        # the calls the server ran, then those a plain model leaves for the client to run
        for tool_calls in (extension.get("agentnb_tool_calls"), delta.get("tool_calls")):
            if isinstance(tool_calls, list):
                for position, item in enumerate(tool_calls):
                    events.extend(self._tool_delta(as_dict(item), position))
        reason = first_str(choice, "finish_reason")
        if reason:
            self._finish_reason = reason
            self.history.turn_ended()
        return events

    def _tool_delta(self, item: _Obj | None, position: int) -> list[Event]:
        if item is None:
            return []
        index = item.get("index", position)
        if not isinstance(index, int) or isinstance(index, bool):
            index = position
        function = as_dict(item.get("function")) or {}
        piece = function.get("arguments")
        events: list[Event] = []
        call_id = self._calls.get(index)
        if call_id is None:
            made_up = f"call_{index}" if not self._steps else f"call_{self._steps}_{index}"
            call_id = self._calls[index] = first_str(item, "id") or made_up
            name = first_str(function, "name") or ""
            self.history.call_started(call_id, name)
            events.append(ToolCallStarted(call_id=call_id, name=name))
        if isinstance(piece, str) and piece:
            self.history.call_arguments(call_id, piece)
            events.append(ToolCallDelta(call_id=call_id, arguments_delta=piece))
        elif isinstance(piece, dict):  # a few servers send the arguments already parsed
            self.history.call_arguments(call_id, json.dumps(piece), whole=True)
            events.append(ToolCallStarted(call_id=call_id, name="", arguments=piece))
        return events

    def _tool_result(self, delta: _Obj) -> list[Event]:
        call_id = first_str(delta, "tool_call_id")
        if call_id is None:
            return []
        output = json_or_text(delta.get("content"))
        self.history.result(call_id, output=output)
        return [ToolCallFinished(call_id=call_id, output=output)]

    def _agentnb_tool_result(self, outcome: _Obj) -> list[Event]:
        call_id = first_str(outcome, "id")
        index = outcome.get("index")
        if call_id not in self._calls.values() and type(index) is int:
            call_id = self._calls.get(index, call_id)
        if call_id is None:
            return []
        error = outcome.get("error")
        if isinstance(error, str):
            self.history.result(call_id, error=error)
            return [ToolCallFinished(call_id=call_id, error=error)]
        self.history.result(call_id, output=outcome.get("output"))
        return [ToolCallFinished(call_id=call_id, output=outcome.get("output"))]

    def _error(self, error: Any) -> list[Event]:
        self.done = True
        return [reported_failure(error, ("message",), ("code", "type"))]

    def _complete(self) -> list[Event]:
        """The end. Calls still open stay so: the run marks them ``no_result``."""
        self.done = True
        completed = RunCompleted(
            usage=self._usage,
            followups=self._followups,
            finish_reason=self._finish_reason,
            model=self._model,
        )
        return [completed]


def image_url(media: Media) -> str:
    """An image as OpenAI's APIs take it: its URL, or its base64 data as a ``data:`` URL."""
    if media.data.startswith(("http://", "https://", "data:")):
        return media.data
    return f"data:{media.type};base64,{media.data}"


def schema_name(schema: dict[str, Any]) -> str:
    """A JSON schema's ``title`` as OpenAI's ``json_schema.name`` allows it."""
    title = schema.get("title")
    name = re.sub(r"[^A-Za-z0-9_-]", "_", title)[:64] if isinstance(title, str) else ""
    return name or "response"


def _user_message(request: RunRequest) -> _Obj:
    if not request.media:
        return {"role": "user", "content": request.message}
    parts: list[_Obj] = [{"type": "text", "text": request.message}]
    parts.extend({"type": "image_url", "image_url": {"url": image_url(m)}} for m in request.media)
    return {"role": "user", "content": parts}


class OpenAIAPI(Provider):
    """What both OpenAI APIs share: the agent is the model, the models ``GET {base}/models``
    lists are the agents a connection offers, and media are images."""

    def requested_model(self, request: RunRequest) -> str | None:
        return request.agent

    def check_request(self, request: RunRequest) -> None:
        super().check_request(request)
        for media in request.media:
            if not media.type.startswith("image/"):
                raise ConfigurationError(f"{self.named} takes image media only, not {media.type!r}")

    def list_agents_request(self) -> HttpRequest:
        return HttpRequest("GET", "/models")

    def parse_agents(self, body: Any) -> list[RemoteAgent]:
        return [
            RemoteAgent(name=model_id, description=first_str(model, "owned_by"), raw=model)
            for model_id, model in listed_models(body)
        ]


class OpenAI(ClientThreadProvider, OpenAIAPI):
    """``POST {base}/chat/completions`` with ``stream: true``.

    Options: ``system`` (a system message put first in every thread), ``include_usage``
    (default True: ask for the final usage chunk; some older servers reject it).
    """

    name: ClassVar[str] = "openai"
    title: ClassVar[str] = "OpenAI-compatible"
    carries: ClassVar[frozenset[str] | None] = carried(
        "response_format", "metadata", "media", "followups", "tools"
    )
    default_base_url: ClassVar[str | None] = "https://api.openai.com/v1"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        system = options.get("system")
        self.system = None if system is None else str(system)
        self.include_usage = bool(options.get("include_usage", True))
        self.threads = ClientThreads("thread", _user_message)

    @classmethod
    def option_names(cls) -> Sequence[str]:
        return ("system", "include_usage")

    def stream_http_request(self, request: RunRequest) -> HttpRequest:
        return self._completion(request, [])

    def tool_results_request(
        self, request: RunRequest, translator: Translator, results: Sequence[ToolResult]
    ) -> HttpRequest:
        """The run's messages so far, the assistant's ``tool_calls`` answered by ``tool``
        messages, in a new completion (Chat Completions keeps nothing between requests)."""
        if not isinstance(translator, OpenAITranslator):
            raise ConfigurationError("the OpenAI dialect continues only its own runs")
        for result in results:
            translator.history.result(result.call_id, output=result.text)
        translator.next_step()
        return self._completion(request, translator.history.messages())

    def _completion(self, request: RunRequest, answered: list[_Obj]) -> HttpRequest:
        messages: list[_Obj] = []
        if self.system:
            messages.append({"role": "system", "content": self.system})
        messages.extend(self.threads.conversation(request)[1])
        messages.extend(answered)
        body: dict[str, Any] = {"model": request.agent, "messages": messages, "stream": True}
        if request.tools:
            body["tools"] = [
                {"type": "function", "function": t.declaration()} for t in request.tools
            ]
        if self.include_usage:
            body["stream_options"] = {"include_usage": True}
        body.update(request.model_settings.as_dict())
        if request.response_format is not None:
            schema = request.response_format
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": schema_name(schema), "schema": schema},
            }
        metadata = metadata_with_followups(request)
        if metadata:
            body["metadata"] = metadata
        body = request.with_extra(body)
        return HttpRequest(
            "POST", "/chat/completions", json=body, headers={"Accept": "text/event-stream"}
        )

    def translator(self, request: RunRequest) -> Translator:
        return OpenAITranslator(request.thread_id)

    def answer(self, translator: Translator) -> tuple[list[_Obj], Any] | None:
        if not isinstance(translator, OpenAITranslator):
            return None
        return translator.history.messages(), None

"""The Anthropic Messages API (``POST {base}/v1/messages`` with ``stream: true``): Anthropic,
and the gateways that serve it (LiteLLM's proxy, ...).

Messages is stateless: the client keeps each thread's messages, whole content blocks
(thinking with its signature, text, ``tool_use`` and the server's tool results) and the
``tool_result`` blocks the notebook's tools answered, and sends them with every run. The
stream is named events: ``message_start``, ``content_block_start`` / ``_delta`` / ``_stop``,
``message_delta`` (stop reason, output tokens), ``message_stop``, ``ping`` and ``error``.
Details: docs/providers.md, ``anthropic``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .._core.client_tools import ToolResult
from .._core.exceptions import ConfigurationError
from .._core.request import Media, RunRequest
from .._core.transcript import Part
from ..events import (
    Event,
    RunCompleted,
    RunFailed,
    RunStarted,
    ToolCallDelta,
    ToolCallFinished,
    ToolCallStarted,
    reasoning_delta,
    text_delta,
)
from ..sse import ServerSentEvent
from ._base import HttpRequest, RemoteAgent, Translator
from ._client_threads import ClientThreadProvider, ClientThreads
from ._frames import (
    as_dict,
    first_str,
    listed_models,
    model_name,
    parse_json,
    parse_usage,
    reported_failure,
)
from ._frames import unknown as keep_unknown
from ._options import carried

__all__ = [
    "API_VERSION",
    "DEFAULT_MAX_TOKENS",
    "MAX_PAUSED_TURNS",
    "Anthropic",
    "AnthropicTranslator",
]

_Obj = dict[str, Any]

API_VERSION = "2023-06-01"
"""The ``anthropic-version`` header every request carries."""
DEFAULT_MAX_TOKENS = 4096
"""``max_tokens`` when neither the run (``max_tokens=``) nor the connection sets it: the API
requires one."""
_CALLS = ("tool_use", "server_tool_use", "mcp_tool_use")
"""Blocks that are a tool call: ``tool_use`` is left to the client, the others the server runs."""
_PIECES = {
    "text_delta": (("text",), "text"),
    "thinking_delta": (("thinking",), "thinking"),
    "input_json_delta": (_CALLS, "partial_json"),
}
"""The blocks each delta belongs to, and the key of its piece."""
_MEDIA = {"image/": "image", "application/pdf": "document"}
_CUT = ("max_tokens", "model_context_window_exceeded", "pause_turn")
"""Stop reasons that end a step before it was whole: its calls without a result are unfinished."""
MAX_PAUSED_TURNS = 10
"""Times one run sends a turn the API paused (``pause_turn``) back for it to go on; past
them the run completes where the turn stopped, as at ``max_tokens``."""


@dataclass
class _Block:
    """One content block as it streams: what ``content_block_start`` gave, and its pieces."""

    start: _Obj
    index: int = 0
    pieces: Part = field(default_factory=lambda: Part("text"))
    """Kept as a run's text is, so a stream of tiny deltas keeps no object per delta."""
    signature: str = ""

    @property
    def kind(self) -> str:
        return first_str(self.start, "type") or ""

    def finished(self) -> _Obj | None:
        """The block as the next request sends it back; None for one it cannot send."""
        given = first_str(self.start, self.kind) or ""
        text = given + self.pieces.text
        if self.kind == "text":
            return {"type": "text", "text": text} if text else None
        if self.kind == "thinking":  # the API takes thinking back only with its signature
            signature = self.signature or first_str(self.start, "signature")
            if not signature:
                return None
            return {"type": "thinking", "thinking": text, "signature": signature}
        if self.kind in _CALLS:
            streamed = self.pieces.text
            arguments = parse_json(streamed) if streamed else self.start.get("input")
            sent = {**self.start, "input": arguments if isinstance(arguments, dict) else {}}
        else:  # redacted thinking, a server tool's result: sent back as they came
            sent = self.start
        return {key: value for key, value in sent.items() if value is not None}


class AnthropicTranslator(Translator):
    """The named events of one run: one message per step of the agent, each ended by
    ``message_stop`` (a step that left calls to the notebook's tools continues the run)."""

    def __init__(self, thread_id: str | None) -> None:
        self.thread_id = thread_id
        self.messages: list[_Obj] = []
        """The run's messages so far: each step's assistant message, each round's results."""
        self._blocks: list[_Block] = []
        """The step's blocks as they started; a hostile stream may start two on one index."""
        self._open: dict[int, _Block] = {}
        """The block each index's deltas go to: the last one started there."""
        self._usage: _Obj = {}
        self._stop_reason: str | None = None
        self._stop_details: _Obj = {}
        self._model: str | None = None
        self.paused_turns = 0
        """Times the API paused this run's turn and it was sent back to go on."""
        self.goes_on = False
        """The step ended on a paused turn to send back (``pause_turn``, under the bound)."""
        self._going_on = False

    def next_step(self, results: Sequence[ToolResult]) -> None:
        """The notebook's results go back as ``tool_result`` blocks: the agent's next step
        streams as a new message."""
        answers = [_tool_result(result) for result in results]
        self.messages.append({"role": "user", "content": answers})
        self.done = False

    def go_on(self) -> None:
        """The paused turn goes back as it is: the next step continues its message."""
        self.goes_on = False
        self._going_on = True
        self.done = False

    def answered(self) -> list[_Obj]:
        """The run's messages as its thread keeps them: a last step's calls nobody answered
        are left out (the API refuses a ``tool_use`` that no ``tool_result`` follows, and a
        server's call paused before its result)."""
        messages = list(self.messages)
        if messages and messages[-1]["role"] == "assistant":
            left = _unanswered(messages[-1]["content"])
            kept = [b for b in messages[-1]["content"] if b.get("id") not in left]
            messages[-1] = {"role": "assistant", "content": kept}
        return [m for m in messages if m["content"]]

    def translate(self, sse: ServerSentEvent) -> list[Event]:
        frame = as_dict(parse_json(sse.data))
        kind = (first_str(frame, "type") if frame is not None else None) or sse.event
        read = self._READERS.get(kind)
        if frame is None or read is None:
            return [keep_unknown(sse)]
        events = read(self, frame)
        return [keep_unknown(sse)] if events is None else events

    def _message_start(self, frame: _Obj) -> list[Event] | None:
        message = as_dict(frame.get("message"))
        if message is None:
            return None
        self._blocks.clear()
        self._open.clear()
        self._usage = dict(as_dict(message.get("usage")) or {})
        self._stop_reason = None
        self._model = model_name(message.get("model")) or self._model
        message_id = first_str(message, "id")
        if self.run_id is not None or not message_id:
            return []
        self.run_id = message_id
        return [RunStarted(run_id=message_id, thread_id=self.thread_id, model=self._model)]

    def _block_start(self, frame: _Obj) -> list[Event] | None:
        start, index = as_dict(frame.get("content_block")), frame.get("index")
        if start is None or type(index) is not int:
            return None
        events = _started(start)
        if events is not None:  # a block it cannot read is kept as a frame, never sent back
            block = _Block(start, index)
            self._blocks.append(block)
            self._open[index] = block  # a block started on an open index: both are kept
        return events

    def _block(self, frame: _Obj) -> _Block | None:
        index = frame.get("index")
        return self._open.get(index) if type(index) is int else None

    def _block_delta(self, frame: _Obj) -> list[Event] | None:
        delta, block = as_dict(frame.get("delta")), self._block(frame)
        if delta is None or block is None:
            return None
        kind = first_str(delta, "type") or ""
        if kind == "signature_delta" and block.kind == "thinking":
            block.signature += first_str(delta, "signature") or ""
            return []
        kinds, key = _PIECES.get(kind, ((), ""))
        piece = first_str(delta, key) if block.kind in kinds else None
        if piece is None:
            return None
        if not piece:
            return []
        block.pieces.append(piece)
        if kind == "text_delta":
            return [text_delta(piece)]
        if kind == "thinking_delta":
            return [reasoning_delta(piece)]
        return [ToolCallDelta(call_id=block.start["id"], arguments_delta=piece)]

    def _block_stop(self, frame: _Obj) -> list[Event] | None:
        return [] if self._block(frame) is not None else None

    def _message_delta(self, frame: _Obj) -> list[Event] | None:
        delta = as_dict(frame.get("delta")) or {}
        self._stop_reason = first_str(delta, "stop_reason") or self._stop_reason
        self._stop_details = as_dict(delta.get("stop_details")) or self._stop_details
        self._usage.update(as_dict(frame.get("usage")) or {})
        return []

    def _message_stop(self, frame: _Obj) -> list[Event] | None:
        """The step's end. A refusal fails the run, so its turn never joins the thread (the
        API refuses again until it goes); in a step cut short (``_CUT``), a call without its
        result fails saying why, never left to the notebook's tools."""
        self.done = True
        content = _sent_back(sorted(self._blocks, key=lambda block: block.index))
        if self._going_on:  # the paused turn's message, gone on: one message
            content = [*self.messages.pop()["content"], *content]
            self._going_on = False
        self.messages.append({"role": "assistant", "content": content})
        self._blocks.clear()
        self._open.clear()
        if self._stop_reason == "refusal":
            said = first_str(self._stop_details, "explanation", "category") or "no reason given"
            return [RunFailed(message=f"the model refused to go on: {said}", code="refusal")]
        usage = parse_usage({k: v for k, v in self._usage.items() if v is not None})
        if self._stop_reason == "pause_turn" and self.paused_turns < MAX_PAUSED_TURNS:
            self.paused_turns += 1  # sent back as it is, the turn goes on: its calls too
            self.goes_on = True
            return [RunCompleted(usage=usage, finish_reason=self._stop_reason, model=self._model)]
        left = _unanswered(content) if self._stop_reason in _CUT else []
        why = f"unfinished: the answer stopped ({self._stop_reason}) before this call was whole"
        events: list[Event] = [ToolCallFinished(call_id=i, error=why) for i in left]
        completed = RunCompleted(usage=usage, finish_reason=self._stop_reason, model=self._model)
        return [*events, completed]

    def _ping(self, frame: _Obj) -> list[Event] | None:
        return []

    def _error(self, frame: _Obj) -> list[Event] | None:
        self.done = True
        return [reported_failure(frame.get("error") or frame, ("message",), ("type",))]

    _READERS: ClassVar[dict[str, Any]] = {
        "message_start": _message_start,
        "content_block_start": _block_start,
        "content_block_delta": _block_delta,
        "content_block_stop": _block_stop,
        "message_delta": _message_delta,
        "message_stop": _message_stop,
        "ping": _ping,
        "error": _error,
    }


def _sent_back(blocks: list[_Block]) -> list[_Obj]:
    """The step's blocks as the next request sends them: every call the run knows, each once
    (a call id started twice is one call to the run, and the API refuses an id twice)."""
    content: list[_Obj] = []
    ids: set[str] = set()
    for block in blocks:
        finished = block.finished()
        if not finished or (block.kind in _CALLS and finished.get("id") in ids):
            continue
        if block.kind in _CALLS:
            ids.add(finished["id"])
        content.append(finished)
    return content


def _unanswered(content: list[_Obj]) -> list[str]:
    """The calls of an assistant message that no result block in it answers, in its order."""
    results = {b.get("tool_use_id") for b in content}
    return [b["id"] for b in content if b.get("type") in _CALLS and b["id"] not in results]


def _started(start: _Obj) -> list[Event] | None:
    """What a block's start shows; None for a block it cannot read."""
    kind = first_str(start, "type") or ""
    if kind == "text" and first_str(start, "text"):
        return [text_delta(start["text"])]
    if kind == "thinking" and first_str(start, "thinking"):
        return [reasoning_delta(start["thinking"])]
    if kind in _CALLS:
        call_id, name = first_str(start, "id"), first_str(start, "name")
        if call_id is None or name is None:
            return None
        given = as_dict(start.get("input")) or None
        return [ToolCallStarted(call_id=call_id, name=name, arguments=given)]
    if kind.endswith("_tool_result"):
        return _server_result(start)
    return [] if kind in ("text", "thinking", "redacted_thinking") else None


def _server_result(block: _Obj) -> list[Event] | None:
    """A tool the server ran (web search, code execution, an MCP tool): its result block."""
    call_id = first_str(block, "tool_use_id")
    if call_id is None:
        return None
    content = block.get("content")
    failed = block.get("is_error") is True or (
        (first_str(as_dict(content) or {}, "type") or "").endswith("_error")
    )
    if failed:
        error = first_str(as_dict(content) or {}, "error_code") or str(content)[:500]
        return [ToolCallFinished(call_id=call_id, error=error)]
    return [ToolCallFinished(call_id=call_id, output=content)]


def _tool_result(result: ToolResult) -> _Obj:
    """A result as a ``tool_result`` block: its text, and its images beside it (an MCP
    tool's) as image blocks."""
    content: str | list[_Obj] = result.text
    if result.images:
        images = [_media_block(Media(type=mime, data=data)) for mime, data in result.images]
        content = [{"type": "text", "text": result.text}, *images]
    answer: _Obj = {"type": "tool_result", "tool_use_id": result.call_id, "content": content}
    if result.failed:
        answer["is_error"] = True
    return answer


def _media_block(media: Media) -> _Obj:
    kind = next(k for prefix, k in _MEDIA.items() if media.type.startswith(prefix))
    if media.data.startswith(("http://", "https://")):
        return {"type": kind, "source": {"type": "url", "url": media.data}}
    return {
        "type": kind,
        "source": {"type": "base64", "media_type": media.type, "data": media.data},
    }


def _user_message(request: RunRequest) -> _Obj:
    if not request.media:
        return {"role": "user", "content": request.message}
    blocks = [_media_block(m) for m in request.media]
    return {"role": "user", "content": [*blocks, {"type": "text", "text": request.message}]}


class Anthropic(ClientThreadProvider):
    """``POST {base}/v1/messages`` with ``stream: true``, the key in ``x-api-key``.

    Options: ``system`` (the system prompt of every run), ``max_tokens`` (the answer's
    bound when a run sets none; default :data:`DEFAULT_MAX_TOKENS`). Extended thinking and
    other body fields go in ``extra`` (``extra={"thinking": {"type": "enabled",
    "budget_tokens": 2048}}``)."""

    name: ClassVar[str] = "anthropic"
    title: ClassVar[str] = "Anthropic Messages"
    carries: ClassVar[frozenset[str] | None] = carried(
        "tools", "media", "user_id", settings=("temperature", "top_p", "max_tokens")
    )
    default_base_url: ClassVar[str | None] = "https://api.anthropic.com"
    auth_scheme = "x-api-key"
    resume_mode = "none"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        system = options.get("system")
        self.system = None if system is None else str(system)
        max_tokens = options.get("max_tokens", DEFAULT_MAX_TOKENS)
        if type(max_tokens) is not int or max_tokens < 1:
            raise ConfigurationError(f"max_tokens is a whole number ≥ 1, not {max_tokens!r}")
        self.max_tokens = max_tokens
        self.threads = ClientThreads("thread", _user_message)

    @classmethod
    def option_names(cls) -> Sequence[str]:
        return ("system", "max_tokens")

    def requested_model(self, request: RunRequest) -> str | None:
        return request.agent

    def check_request(self, request: RunRequest) -> None:
        super().check_request(request)
        for media in request.media:
            if not any(media.type.startswith(prefix) for prefix in _MEDIA):
                raise ConfigurationError(
                    f"{self.named} takes images and PDF documents, not {media.type!r}"
                )

    def stream_http_request(self, request: RunRequest) -> HttpRequest:
        return self._messages_request(request, [])

    def continued_request(
        self, request: RunRequest, translator: Translator, completed: RunCompleted
    ) -> HttpRequest | None:
        """A turn the API paused (``pause_turn``: a server tool's long turn) goes back as it
        is, the assistant's content last, and the API goes on with it (at most
        :data:`MAX_PAUSED_TURNS` times a run)."""
        if not isinstance(translator, AnthropicTranslator) or not translator.goes_on:
            return None
        translator.go_on()
        return self._messages_request(request, translator.messages)

    def tool_results_request(
        self, request: RunRequest, translator: Translator, results: Sequence[ToolResult]
    ) -> HttpRequest:
        """The run's messages so far, the last one's ``tool_use`` blocks answered by a user
        message of ``tool_result`` blocks, in a new request."""
        if not isinstance(translator, AnthropicTranslator):
            raise ConfigurationError("the Anthropic dialect continues only its own runs")
        translator.next_step(results)
        return self._messages_request(request, translator.messages)

    def _messages_request(self, request: RunRequest, answered: list[_Obj]) -> HttpRequest:
        settings = request.model_settings.as_dict()
        body: _Obj = {
            "model": request.agent,
            "max_tokens": settings.pop("max_tokens", self.max_tokens),
            "messages": [*self.threads.conversation(request)[1], *answered],
            "stream": True,
            **settings,
        }
        if self.system is not None:
            body["system"] = self.system
        if request.tools:
            body["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters}
                for t in request.tools
            ]
        if request.user_id is not None:
            body["metadata"] = {"user_id": request.user_id}
        headers = {"Accept": "text/event-stream", "anthropic-version": API_VERSION}
        return HttpRequest("POST", "/v1/messages", json=request.with_extra(body), headers=headers)

    def translator(self, request: RunRequest) -> Translator:
        return AnthropicTranslator(request.thread_id)

    def answer(self, translator: Translator) -> tuple[list[_Obj], Any] | None:
        if not isinstance(translator, AnthropicTranslator):
            return None
        return translator.answered(), None

    def list_agents_request(self) -> HttpRequest:
        return HttpRequest("GET", "/v1/models", headers={"anthropic-version": API_VERSION})

    def parse_agents(self, body: Any) -> list[RemoteAgent]:
        return [
            RemoteAgent(name=model_id, title=first_str(model, "display_name"), raw=model)
            for model_id, model in listed_models(body)
        ]

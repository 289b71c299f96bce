"""OpenAI Responses API stream events as agentnb events.

Sequence numbers make the stream safe to resume: a repeated frame is skipped, one ahead of a
gap is held until the gap fills, and a gap left at the end is closed by resuming after the
last number applied (``starting_after``). What maps to what: docs/responses.md."""

from __future__ import annotations

from typing import Any

from ..events import (
    Event,
    RunCompleted,
    RunPaused,
    RunStarted,
    ToolApprovalRequested,
    ToolCallDelta,
    ToolCallFinished,
    ToolCallStarted,
    reasoning_delta,
    text_delta,
)
from ..sse import ServerSentEvent
from ._base import Translator
from ._frames import (
    as_dict,
    failure,
    first_str,
    json_or_text,
    model_name,
    parse_json,
    parse_usage,
    reported_failure,
    str_list,
    unknown,
)

__all__ = ["MAX_HELD_FRAMES", "ResponsesTranslator", "response_status"]

_Obj = dict[str, Any]

MAX_HELD_FRAMES = 4096
"""Frames kept while waiting for a missing sequence number; past it, later frames are left
for the resume to send again."""

_LIFECYCLE = ("response.created", "response.queued", "response.in_progress")
_QUIET = frozenset(
    {
        "response.content_part.added",
        "response.content_part.done",
        "response.reasoning_summary_part.done",
        "response.function_call_arguments.done",
        "response.mcp_call_arguments.done",
        "response.output_text.annotation.added",
        "response.code_interpreter_call_code.delta",
        "response.code_interpreter_call_code.done",
        "response.custom_tool_call_input.delta",
        "response.custom_tool_call_input.done",
    }
)
"""Events whose content also comes whole with their item's ``done``: read there."""
_TEXTS = {
    "response.output_text.delta": ("text", "content_index", "delta"),
    "response.refusal.delta": ("text", "content_index", "delta"),
    "response.output_text.done": ("text", "content_index", "text"),
    "response.refusal.done": ("text", "content_index", "refusal"),
    "response.reasoning_summary_text.delta": ("summary", "summary_index", "delta"),
    "response.reasoning_summary_text.done": ("summary", "summary_index", "text"),
    "response.reasoning_text.delta": ("reasoning", "content_index", "delta"),
    "response.reasoning_text.done": ("reasoning", "content_index", "text"),
}
"""Events with a piece of a text (``.delta``) or the whole of it (``.done``): the text's kind,
the key of its part's index and the key of the text."""
_TOOL_PHASES = ("in_progress", "searching", "interpreting", "generating", "completed", "failed")
_HOSTED_TOOLS = {
    "web_search_call": "web_search",
    "file_search_call": "file_search",
    "code_interpreter_call": "code_interpreter",
    "image_generation_call": "image_generation",
    "mcp_list_tools": "mcp_list_tools",
    "computer_call": "computer",
    "local_shell_call": "local_shell",
    "shell_call": "shell",
    "apply_patch_call": "apply_patch",
    "tool_search_call": "tool_search",
}
"""Calls the platform runs itself, by item type: the name their card shows."""
_FINISH_REASONS = {"max_output_tokens": "length", "content_filter": "content-filter"}


def response_status(response: _Obj) -> str:
    """A response's ``status`` in agentnb's words (``running``, ``completed``, ...)."""
    status = first_str(response, "status") or "unknown"
    return {
        "queued": "running",
        "in_progress": "running",
        "incomplete": "completed",
        "cancelled": "cancelled",
    }.get(status, status)


class ResponsesTranslator(Translator):
    """One run's Responses events, across resumes and the responses that carry approval
    decisions (each numbers its events from 0)."""

    def __init__(self, thread_id: str | None) -> None:
        self.thread_id = thread_id
        self._last: int | None = None
        """The sequence number of the last frame applied."""
        self._held: dict[int, ServerSentEvent] = {}
        """Frames that came ahead of a missing number, by their number."""
        self._calls: dict[str, str] = {}
        """agentnb call ids by output item id (a function call is known by its ``call_id``)."""
        self._asked: dict[str, tuple[str, Any]] = {}
        """Each approval request's name and arguments as it first named them, by item id."""
        self._texts: dict[tuple[str, str, int], str] = {}
        """What was shown of each text, by (item id, kind, part index)."""
        self._finished: set[str] = set()
        """Calls whose outcome was shown."""
        self._items_done: set[str] = set()
        """Output items whose ``done`` was read (the final response repeats them)."""
        self._client_calls: set[str] = set()
        """Function calls left for the client to run."""
        self._awaiting: dict[str, tuple[str | None, str]] = {}
        """Approval requests not decided yet: (server label, tool name) by item id."""
        self._decided: dict[str, tuple[str | None, str]] = {}
        """Approval requests decided in the response before this one (the MCP call they
        allowed continues their card)."""
        self._refused = False
        self.sent_items: list[_Obj] = []
        """The client tools' calls and outputs sent so far (a server that stores nothing is
        sent them all again)."""

    @property
    def cursor(self) -> int | None:
        """The sequence number of the last frame applied: a resume starts after it."""
        return self._last

    @property
    def awaiting_approval(self) -> set[str]:
        return set(self._awaiting)

    def next_response(self) -> None:
        """Decisions went out: a new response follows, numbering its events from 0."""
        self._last = None
        self._held.clear()
        self._decided = dict(self._awaiting)
        self._awaiting.clear()
        self.done = False

    # ---- frames in order ------------------------------------------------------------------
    def translate(self, sse: ServerSentEvent) -> list[Event]:
        body = as_dict(parse_json(sse.data))
        if body is None or not isinstance(body.get("type"), str):
            return [] if sse.data.strip() == "[DONE]" else [unknown(sse)]
        number = body.get("sequence_number")
        if not isinstance(number, int) or isinstance(number, bool):
            return self._event(body, sse)  # a server that does not number its events
        if (self._last is not None and number <= self._last) or number in self._held:
            return []  # sent again (a resume, a repeat): applied already
        if self._last is None and number > 0 and body.get("type") not in _LIFECYCLE:
            self._hold(number, sse)  # a stream starts at 0 (or at its created event)
            return []
        if self._last is not None and number > self._last + 1:
            self._hold(number, sse)
            return []
        events = self._numbered(number, body, sse)
        while not self.done and self._last is not None and self._last + 1 in self._held:
            held = self._held.pop(self._last + 1)
            events.extend(self._numbered(self._last + 1, as_dict(parse_json(held.data)), held))
        return events

    def _hold(self, number: int, sse: ServerSentEvent) -> None:
        if len(self._held) < MAX_HELD_FRAMES:
            self._held[number] = sse

    def _numbered(self, number: int, body: _Obj | None, sse: ServerSentEvent) -> list[Event]:
        self._last = number
        return self._event(body or {}, sse)

    def ended(self) -> list[Event]:
        """A stream that ended without its terminal event is resumed (after :attr:`cursor`),
        frames held behind a gap included: the platform sends them again."""
        self._held.clear()
        return []

    # ---- events ---------------------------------------------------------------------------
    def _event(self, body: _Obj, sse: ServerSentEvent) -> list[Event]:
        kind = str(body.get("type"))
        if kind in _LIFECYCLE:
            return self._started(as_dict(body.get("response")) or {})
        if kind in _QUIET:
            return []
        if kind in _TEXTS:
            text, index_key, value_key = _TEXTS[kind]
            read = self._text_whole if kind.endswith(".done") else self._text
            return read(body, text, index_key, body.get(value_key))
        match kind:
            case "response.output_item.added":
                return self._item_added(as_dict(body.get("item")) or {})
            case "response.output_item.done":
                return self._item_done(as_dict(body.get("item")) or {})
            case "response.reasoning_summary_part.added":
                return self._summary_part(body)
            case "response.function_call_arguments.delta" | "response.mcp_call_arguments.delta":
                return self._arguments(body)
            case "response.function_result.complete":  # DevUI's: a call the server ran
                return self._function_output(body)
            case "response.completed" | "response.incomplete":
                return self._completed(as_dict(body.get("response")) or {})
            case "response.failed" | "response.cancelled":
                return self._failed(as_dict(body.get("response")) or {})
            case "error":
                return self._error(as_dict(body.get("error")) or body)
        if kind.startswith("response.") and kind.rpartition(".")[2] in _TOOL_PHASES:
            return []  # a hosted tool's progress: its item's done carries the outcome
        return [unknown(sse)]

    def _started(self, response: _Obj) -> list[Event]:
        response_id = first_str(response, "id")
        if not response_id or response_id == self.run_id:
            return []
        self.run_id = response_id
        conversation = response.get("conversation")
        conversation_id = (
            first_str(as_dict(conversation) or {}, "id")
            if not isinstance(conversation, str)
            else conversation
        )
        self.thread_id = conversation_id or response_id
        model = model_name(response.get("model"))
        return [RunStarted(run_id=response_id, thread_id=self.thread_id, model=model)]

    # ---- text -----------------------------------------------------------------------------
    def _text(self, body: _Obj, kind: str, index_key: str, delta: Any) -> list[Event]:
        if not isinstance(delta, str) or not delta:
            return []
        key = _text_key(body, kind, index_key)
        self._texts[key] = self._texts.get(key, "") + delta
        return [_delta(kind, delta)]

    def _text_whole(self, body: _Obj, kind: str, index_key: str, whole: Any) -> list[Event]:
        """The whole text of a part: what the deltas did not show yet, shown."""
        if not isinstance(whole, str):
            return []
        key = _text_key(body, kind, index_key)
        shown = self._texts.get(key, "")
        if len(whole) <= len(shown) or not whole.startswith(shown):
            return []  # all shown, or a text that does not continue it: not shown twice
        self._texts[key] = whole
        return [_delta(kind, whole[len(shown) :])]

    def _summary_part(self, body: _Obj) -> list[Event]:
        index = body.get("summary_index")
        if isinstance(index, int) and index > 0:
            return [reasoning_delta("\n\n")]  # summary parts are paragraphs
        return []

    # ---- items ----------------------------------------------------------------------------
    def _item_added(self, item: _Obj) -> list[Event]:
        item_type = first_str(item, "type") or ""
        item_id = first_str(item, "id") or ""
        if item_type == "function_call":
            call_id = first_str(item, "call_id") or item_id
            self._calls[item_id] = call_id
            self._client_calls.add(call_id)  # unless its output comes in the response
            return [self._start(call_id, first_str(item, "name") or "", None)]
        if item_type == "mcp_call":
            return [self._start(self._mcp_call_id(item), _mcp_name(item), None)]
        if item_type == "mcp_approval_request":
            return self._approval_request(item)
        if item_type in _HOSTED_TOOLS:
            self._calls[item_id] = item_id
            return [self._start(item_id, _HOSTED_TOOLS[item_type], _hosted_arguments(item))]
        if item_type.endswith("_call"):
            self._calls[item_id] = item_id
            return [self._start(item_id, first_str(item, "name") or item_type, None)]
        return []

    def _start(self, call_id: str, name: str, arguments: Any) -> ToolCallStarted:
        return ToolCallStarted(call_id=call_id, name=name, arguments=arguments)

    def _mcp_call_id(self, item: _Obj) -> str:
        """An MCP call that a human approved continues its request's card: the request its
        ``approval_request_id`` names, else (servers that leave it out) the decided request
        for the same server and tool."""
        item_id = first_str(item, "id") or ""
        if item_id in self._calls:
            return self._calls[item_id]
        approval = first_str(item, "approval_request_id")
        if approval is None:
            wanted = (first_str(item, "server_label"), _mcp_name(item))
            approval = next((a for a, tool in self._decided.items() if tool == wanted), None)
        self._decided.pop(approval or "", None)
        call_id = self._calls.get(approval or "", item_id)
        self._calls[item_id] = call_id
        return call_id

    def _approval_request(self, item: _Obj) -> list[Event]:
        """The call the request names, its arguments as the JSON text they came as (a key
        named twice is found there). The same item again (its done, the completed response)
        with another name or arguments reports them: the call changed after it was asked."""
        item_id = first_str(item, "id") or ""
        version = (_mcp_name(item), item.get("arguments"))
        if not item_id or item_id in self._calls:
            if self._asked.get(item_id, version) == version:
                return []
            self._asked[item_id] = version
            return [self._start(item_id, version[0], _arguments(version[1]))]
        self._calls[item_id] = item_id
        self._asked[item_id] = version
        label = first_str(item, "server_label")
        self._awaiting[item_id] = (label, _mcp_name(item))
        text = version[1] if isinstance(version[1], str) and version[1].strip() else None
        return [
            self._start(item_id, _mcp_name(item), None if text else _arguments(version[1])),
            *([ToolCallDelta(call_id=item_id, arguments_delta=text)] if text else []),
            ToolApprovalRequested(
                call_id=item_id,
                approval_id=item_id,
                reason=f"MCP server {label!r} asks before running this tool" if label else None,
            ),
        ]

    def _arguments(self, body: _Obj) -> list[Event]:
        delta = body.get("delta")
        call_id = self._calls.get(first_str(body, "item_id") or "")
        if call_id is None or not isinstance(delta, str) or not delta:
            return []  # a delta for an item never added: its done carries the arguments
        self._texts[(call_id, "arguments", 0)] = self._texts.get((call_id, "arguments", 0), "")
        self._texts[(call_id, "arguments", 0)] += delta
        return [ToolCallDelta(call_id=call_id, arguments_delta=delta)]

    def _item_done(self, item: _Obj) -> list[Event]:
        item_type = first_str(item, "type") or ""
        item_id = first_str(item, "id") or first_str(item, "call_id") or ""
        if item_type == "mcp_approval_request":  # each time: its version is compared
            return self._approval_request(item)
        if item_id and item_id in self._items_done:
            return []
        if item_id:
            self._items_done.add(item_id)
        if item_type == "message":
            return self._message_done(item_id, item)
        if item_type == "reasoning":
            return self._reasoning_done(item_id, item)
        if item_type == "function_call":
            call_id = first_str(item, "call_id") or self._calls.get(item_id) or item_id
            self._calls[item_id] = call_id
            self._client_calls.add(call_id)
            arguments = _arguments(item.get("arguments"))
            return [self._start(call_id, first_str(item, "name") or "", arguments)]
        if item_type == "function_call_output":
            return self._function_output(item)
        if item_type == "mcp_call":
            call_id = self._mcp_call_id(item)
            start = self._start(call_id, _mcp_name(item), _arguments(item.get("arguments")))
            return [start, *self._finish(call_id, json_or_text(item.get("output")), item)]
        if item_type in _HOSTED_TOOLS or item_type.endswith("_call"):
            call_id = self._calls.setdefault(item_id, item_id)
            name = _HOSTED_TOOLS.get(item_type) or first_str(item, "name") or item_type
            start = self._start(call_id, name, _hosted_arguments(item))
            return [start, *self._finish(call_id, _hosted_output(item), item)]
        return []

    def _function_output(self, item: _Obj) -> list[Event]:
        """A function call's output in the response: the server ran the call itself."""
        call_id = first_str(item, "call_id")
        if call_id is None:
            return []
        output = json_or_text(item.get("output"))
        if item.get("status") in ("failed", "incomplete") and isinstance(output, dict):
            item = {**item, "error": first_str(output, "error")}
        return self._finish(call_id, output, item)

    def _finish(self, call_id: str, output: Any, item: _Obj) -> list[Event]:
        if call_id in self._finished:
            return []
        self._finished.add(call_id)
        error = _item_error(item)
        if error is not None:
            return [ToolCallFinished(call_id=call_id, error=error)]
        return [ToolCallFinished(call_id=call_id, output=output)]

    def _message_done(self, item_id: str, item: _Obj) -> list[Event]:
        events: list[Event] = []
        content = item.get("content")
        for index, part in enumerate(content if isinstance(content, list) else []):
            part = as_dict(part) or {}
            where = {"item_id": item_id, "content_index": index}
            if part.get("type") == "refusal":
                self._refused = True
                events.extend(self._text_whole(where, "text", "content_index", part.get("refusal")))
            else:
                events.extend(self._text_whole(where, "text", "content_index", part.get("text")))
        return events

    def _reasoning_done(self, item_id: str, item: _Obj) -> list[Event]:
        events: list[Event] = []
        for kind, key, index_key in (
            ("summary", "summary", "summary_index"),
            ("reasoning", "content", "content_index"),
        ):
            parts = item.get(key)
            for index, part in enumerate(parts if isinstance(parts, list) else []):
                where = {"item_id": item_id, index_key: index}
                text = (as_dict(part) or {}).get("text")
                events.extend(self._text_whole(where, kind, index_key, text))
        return events

    # ---- the end --------------------------------------------------------------------------
    def _settle(self, response: _Obj) -> list[Event]:
        """The final response's items that the stream did not finish (out of order, or the
        frames that said so never came): finished from the response itself."""
        events: list[Event] = []
        output = response.get("output")
        for item in output if isinstance(output, list) else []:
            events.extend(self._item_done(as_dict(item) or {}))
        return events

    def _completed(self, response: _Obj) -> list[Event]:
        events = self._settle(response)
        self.done = True
        usage = parse_usage(response.get("usage"))
        for decided in self._decided_in(response):
            self._awaiting.pop(decided, None)
        if self._awaiting:
            return [*events, RunPaused(reason="an MCP tool call awaits approval", usage=usage)]
        return [
            *events,
            RunCompleted(
                usage=usage,
                model=model_name(response.get("model")),
                finish_reason=self._finish_reason(response),
                followups=str_list(response.get("agentnb_followups")),
            ),
        ]

    def _decided_in(self, response: _Obj) -> set[str]:
        output = response.get("output")
        return {
            first_str(item, "approval_request_id") or ""
            for item in (as_dict(i) or {} for i in (output if isinstance(output, list) else []))
            if first_str(item, "type") in ("mcp_call", "mcp_approval_response")
        }

    def _finish_reason(self, response: _Obj) -> str:
        details = as_dict(response.get("incomplete_details")) or {}
        reason = first_str(details, "reason")
        if reason:
            return _FINISH_REASONS.get(reason, reason)
        if self._refused:
            return "refusal"
        open_calls = self._client_calls - self._finished
        return "tool_calls" if open_calls else "stop"

    def _failed(self, response: _Obj) -> list[Event]:
        self.done = True
        if response_status(response) == "cancelled":
            return [failure("the response was cancelled on the platform", "cancelled")]
        error = as_dict(response.get("error")) or {}
        message = first_str(error, "message") or "the response failed"
        return [failure(message, error.get("code") or error.get("type"))]

    def _error(self, error: _Obj) -> list[Event]:
        self.done = True
        return [reported_failure(error, ("message",), ("code", "type"))]


def _text_key(body: _Obj, kind: str, index_key: str) -> tuple[str, str, int]:
    index = body.get(index_key)
    return (
        first_str(body, "item_id") or "",
        kind,
        index if isinstance(index, int) and not isinstance(index, bool) else 0,
    )


def _delta(kind: str, text: str) -> Event:
    return text_delta(text) if kind == "text" else reasoning_delta(text)


def _mcp_name(item: _Obj) -> str:
    return first_str(item, "name") or "mcp_call"


def _arguments(value: Any) -> Any:
    """Arguments as JSON text (function and MCP calls), parsed where they are JSON."""
    if isinstance(value, str) and not value.strip():
        return None
    return json_or_text(value)


def _hosted_arguments(item: _Obj) -> Any:
    """What a hosted tool was asked: a search's action or queries, the code to run."""
    found = {
        key: item[key]
        for key in ("action", "queries", "code", "server_label", "input", "container_id")
        if item.get(key) not in (None, "", [])
    }
    return found or None


def _hosted_output(item: _Obj) -> Any:
    """What a hosted tool returned; an image's bytes are left out (their size is said)."""
    for key in ("results", "outputs", "tools", "output"):
        value = item.get(key)
        if value not in (None, []):
            return json_or_text(value)
    result = item.get("result")
    if isinstance(result, str) and result:
        return {"status": item.get("status"), "result_chars": len(result)}
    return {"status": item.get("status")} if item.get("status") else None


def _item_error(item: _Obj) -> str | None:
    error = item.get("error")
    if isinstance(error, str) and error:
        return error
    if isinstance(error, dict):
        return first_str(error, "message") or str(error)
    if item.get("status") in ("failed", "incomplete"):
        return f"the tool call ended {item.get('status')}"
    return None

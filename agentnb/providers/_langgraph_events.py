"""LangGraph Agent Server stream events (``mode|namespace``) as agentnb events. A subgraph
reads as a call of the node that ran it, so a run is a tree; ``langgraph-api`` ends a stream
by closing it, which :meth:`LangGraphTranslator.ended` tells from a cut."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..events import (
    CustomEvent,
    Event,
    ReasoningDelta,
    RunCompleted,
    RunPaused,
    RunStarted,
    StateSnapshot,
    TextDelta,
    ToolApprovalRequested,
    ToolCallDelta,
    ToolCallDenied,
    ToolCallFinished,
    ToolCallStarted,
    Usage,
    attributed_delta,
)
from ..sse import ServerSentEvent
from ._base import Translator
from ._frames import (
    INVALID,
    as_dict,
    failure,
    first_str,
    json_or_text,
    model_name,
    parse_json,
    parse_usage,
    str_list,
)
from ._frames import unknown as keep_unknown

__all__ = ["Interrupt", "LangGraphTranslator"]

_Obj = dict[str, Any]
_AI_TYPES = frozenset({"AIMessageChunk", "ai", "AIMessage"})
_TOOL_TYPES = frozenset({"tool", "ToolMessage", "ToolMessageChunk"})
_REASONING_BLOCKS = frozenset({"reasoning", "thinking"})


@dataclass(frozen=True)
class Interrupt:
    """One ``__interrupt__`` entry a paused run waits on."""

    interrupt_id: str
    call_id: str
    """The tool call it is about (a value ``{tool_call: {id, …}}``), else its own id."""
    value: Any
    is_question: bool
    """The value is text: the answer is free-form."""

    @property
    def is_tool_call(self) -> bool:
        return self.call_id != self.interrupt_id


@dataclass
class _Scope:
    """Where a frame sits in the tree: the subgraph call it belongs to and its agent."""

    parent_call_id: str | None = None
    agent: str | None = None


@dataclass
class _Calls:
    started: set[str] = field(default_factory=set)
    by_index: dict[tuple[str, int], str] = field(default_factory=dict)
    subgraphs: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    """Open subgraph calls: namespace entry -> (node name, the entry of the call above)."""
    spent: dict[str, tuple[Usage | None, str | None]] = field(default_factory=dict)
    """What each open subgraph's own messages said they spent, and their model."""


def _add(total: Usage | None, usage: Usage | None) -> Usage | None:
    if usage is None or total is None:
        return total or usage
    return total.plus(usage)


class LangGraphTranslator(Translator):
    """One run's stream (and, after a pause, the runs that resume it)."""

    def __init__(self, thread_id: str | None) -> None:
        self.thread_id = thread_id
        self.interrupts: dict[str, Interrupt] = {}
        """The interrupts of the last pause, by id."""
        self.answered: dict[str, Any] = {}
        """Interrupts resumed with these values: finished when the resumed run starts."""
        self.denied: set[str] = set()
        """Calls a human denied: their result is the denial."""
        self.usage: Usage | None = None
        self.model: str | None = None
        """The model the AI messages' ``response_metadata`` names (the last one counts)."""
        self._calls = _Calls()
        self._started = False
        self._responses = 0
        self._frames_here = 0
        self._state: Any = None

    def translate(self, sse: ServerSentEvent) -> list[Event]:
        self._frames_here += 1
        mode, _, namespace = (sse.event or "message").partition("|")
        handler = self._HANDLERS.get(mode)
        data = parse_json(sse.data) if sse.data else None
        if handler is None or data is INVALID:
            return [keep_unknown(sse)]
        return handler(self, data, namespace.split("|") if namespace else [], sse)

    # ---- run -------------------------------------------------------------------------------
    def _metadata(self, data: Any, namespace: list[str], sse: ServerSentEvent) -> list[Event]:
        run_id = first_str(as_dict(data) or {}, "run_id")
        if run_id is None:
            return [keep_unknown(sse)]
        self.run_id = run_id
        events: list[Event] = [
            ToolCallFinished(call_id=call_id, output=value)
            for call_id, value in self.answered.items()
        ]
        self.answered.clear()
        if not self._started:
            self._started = True
            events.insert(0, RunStarted(run_id=run_id, thread_id=self.thread_id))
        return events

    def on_response(self, headers: Mapping[str, str]) -> list[Event]:
        self._responses += 1
        self._frames_here = 0
        return []

    def ended(self) -> list[Event]:
        """``langgraph-api`` 0.16 ends a run's stream by closing it, without an ``end`` frame,
        and a cut through a proxy looks the same. As its SDK asks the run, the stream is
        joined again (after ``Last-Event-ID``): a join that ends at once, with no frame, is a
        run that is over."""
        if self.done or self._responses < 2 or self._frames_here:
            return []
        return self._end(None, [], ServerSentEvent())

    def _end(self, data: Any, namespace: list[str], sse: ServerSentEvent) -> list[Event]:
        self.done = True
        state = as_dict(self._state) or {}
        followups = str_list(state.get("followups"))
        final = state.get("structured_response")
        return [
            RunCompleted(
                usage=self.usage, followups=followups, final_output=final, model=self.model
            )
        ]

    def _error(self, data: Any, namespace: list[str], sse: ServerSentEvent) -> list[Event]:
        error = as_dict(data) or {}
        message = first_str(error, "message", "error") or sse.data or "the run failed"
        self.done = True
        return [failure(message, code=first_str(error, "error", "code"))]

    # ---- tree ------------------------------------------------------------------------------
    def _scope(self, namespace: list[str]) -> tuple[list[Event], _Scope]:
        """The subgraph calls a namespace opens (not seen before) and the innermost one."""
        events: list[Event] = []
        scope = _Scope()
        for entry in namespace:
            node = entry.partition(":")[0]
            if entry not in self._calls.subgraphs:
                self._calls.subgraphs[entry] = (node, scope.parent_call_id)
                started = ToolCallStarted(
                    call_id=entry, name=node, parent_call_id=scope.parent_call_id, agent=scope.agent
                )
                events.append(started)
            scope = _Scope(parent_call_id=entry, agent=node)
        return events, scope

    # ---- messages --------------------------------------------------------------------------
    def _messages(self, data: Any, namespace: list[str], sse: ServerSentEvent) -> list[Event]:
        message = as_dict(data[0]) if isinstance(data, list) and data else as_dict(data)
        kind = first_str(message or {}, "type")
        if message is None or kind is None:
            return [keep_unknown(sse)]
        events, scope = self._scope(namespace)
        if kind in _TOOL_TYPES:
            return [*events, *self._tool_result(message)]
        if kind not in _AI_TYPES:
            return events  # the user's own message, echoed back
        usage = parse_usage(message.get("usage_metadata"))
        self.usage = _add(self.usage, usage)
        metadata = as_dict(message.get("response_metadata")) or {}
        model = model_name(metadata.get("model_name") or metadata.get("model"))
        if scope.parent_call_id is None:
            self.model = model or self.model
        elif usage is not None or model is not None:
            before, named = self._calls.spent.get(scope.parent_call_id, (None, None))
            self._calls.spent[scope.parent_call_id] = (_add(before, usage), model or named)
        events.extend(self._reasoning(message, scope))
        events.extend(self._text(message, scope))
        events.extend(self._tool_calls(message, scope))
        return events

    def _text(self, message: _Obj, scope: _Scope) -> list[Event]:
        content = message.get("content")
        if isinstance(content, str):
            texts = [content]
        else:
            blocks = content if isinstance(content, list) else []
            texts = [b.get("text", "") for b in blocks if as_dict(b) and b.get("type") == "text"]
        return [
            attributed_delta(TextDelta, text, scope.parent_call_id, scope.agent)
            for text in texts
            if isinstance(text, str) and text
        ]

    def _reasoning(self, message: _Obj, scope: _Scope) -> list[Event]:
        texts: list[Any] = []
        extra = as_dict(message.get("additional_kwargs")) or {}
        texts.append(extra.get("reasoning_content"))
        content = message.get("content")
        for block in content if isinstance(content, list) else []:
            if as_dict(block) and block.get("type") in _REASONING_BLOCKS:
                texts.append(first_str(block, "reasoning", "thinking", "text"))
        return [
            attributed_delta(ReasoningDelta, text, scope.parent_call_id, scope.agent)
            for text in texts
            if isinstance(text, str) and text
        ]

    def _tool_calls(self, message: _Obj, scope: _Scope) -> list[Event]:
        chunks = message.get("tool_call_chunks")
        if isinstance(chunks, list) and chunks:
            message_id = first_str(message, "id") or ""
            return [e for c in chunks if as_dict(c) for e in self._chunk(message_id, c, scope)]
        calls = message.get("tool_calls")
        events: list[Event] = []
        for call in calls if isinstance(calls, list) else []:
            call_id = first_str(as_dict(call) or {}, "id")
            if call_id is None or call_id in self._calls.started:
                continue
            self._calls.started.add(call_id)
            events.append(
                ToolCallStarted(
                    call_id=call_id,
                    name=first_str(call, "name") or "",
                    arguments=call.get("args"),
                    parent_call_id=scope.parent_call_id,
                    agent=scope.agent,
                )
            )
        return events

    def _chunk(self, message_id: str, chunk: _Obj, scope: _Scope) -> list[Event]:
        given = chunk.get("index")
        index = given if isinstance(given, int) else 0
        call_id = first_str(chunk, "id") or self._calls.by_index.get((message_id, index))
        if call_id is None:
            return []
        self._calls.by_index[(message_id, index)] = call_id
        events: list[Event] = []
        if call_id not in self._calls.started:
            self._calls.started.add(call_id)
            name = first_str(chunk, "name") or ""
            events.append(
                ToolCallStarted(
                    call_id=call_id,
                    name=name,
                    parent_call_id=scope.parent_call_id,
                    agent=scope.agent,
                )
            )
        args = first_str(chunk, "args")
        if args:
            events.append(ToolCallDelta(call_id=call_id, arguments_delta=args))
        return events

    def _tool_result(self, message: _Obj) -> list[Event]:
        call_id = first_str(message, "tool_call_id")
        if call_id is None:
            return []
        content = message.get("content")
        if call_id in self.denied:
            return [ToolCallDenied(call_id=call_id, reason=str(content))]
        if message.get("status") == "error":
            return [ToolCallFinished(call_id=call_id, error=str(content))]
        return [ToolCallFinished(call_id=call_id, output=json_or_text(content))]

    # ---- updates, values, custom ------------------------------------------------------------
    def _updates(self, data: Any, namespace: list[str], sse: ServerSentEvent) -> list[Event]:
        update = as_dict(data)
        if update is None:
            return [keep_unknown(sse)]
        events, _ = self._scope(namespace)
        if "__interrupt__" in update:
            return [*events, *self._interrupted(update["__interrupt__"])]
        parent = namespace[-1] if namespace else None
        ended = [
            entry
            for entry, (node, above) in self._calls.subgraphs.items()
            if node in update and above == parent
        ]
        for entry in ended:
            del self._calls.subgraphs[entry]
        return [*events, *(self._subgraph_ended(entry) for entry in ended)]

    def _subgraph_ended(self, entry: str) -> ToolCallFinished:
        """A subgraph's call ends, with what its own messages spent (the usage per call)."""
        usage, model = self._calls.spent.pop(entry, (None, None))
        return ToolCallFinished(call_id=entry, usage=usage, model=model)

    def _interrupted(self, value: Any) -> list[Event]:
        entries = [as_dict(v) for v in value] if isinstance(value, list) else []
        asked: list[Event] = []
        for entry in entries:
            if entry is None:
                continue
            interrupt_id = first_str(entry, "id", "interrupt_id") or f"interrupt_{len(asked)}"
            value = entry.get("value")
            if any(
                i.interrupt_id == interrupt_id and i.value == value
                for i in self.interrupts.values()
            ):
                continue  # a subgraph's interrupt, raised again at the root (the same one)
            asked.append(self._asked(interrupt_id, entry.get("value")))
        if not asked:
            return []
        return [*asked, RunPaused(reason="interrupt", usage=self.usage)]

    def _asked(self, interrupt_id: str, payload: Any) -> ToolApprovalRequested:
        """A call awaiting a human: the tool call a ``{tool_call, reason, question?}`` value
        names, a free-form question (text), or the interrupt with its value as arguments."""
        question = (
            payload if isinstance(payload, str) else first_str(as_dict(payload) or {}, "question")
        )
        call = as_dict((as_dict(payload) or {}).get("tool_call")) or {}
        call_id = first_str(call, "id") or interrupt_id
        self.interrupts[call_id] = Interrupt(interrupt_id, call_id, payload, question is not None)
        if call_id != interrupt_id:
            return ToolApprovalRequested(
                call_id=call_id,
                approval_id=interrupt_id,
                name=first_str(call, "name") or "",
                arguments=call.get("args"),
                reason=first_str(as_dict(payload) or {}, "reason"),
                question=question,
            )
        return ToolApprovalRequested(
            call_id=interrupt_id,
            approval_id=interrupt_id,
            name="interrupt",
            arguments=None if question is not None else payload,
            question=question,
        )

    def _values(self, data: Any, namespace: list[str], sse: ServerSentEvent) -> list[Event]:
        if namespace:
            return [CustomEvent(name=f"values|{'|'.join(namespace)}", value=data)]
        self._state = data
        return [StateSnapshot(state=data)]

    def _custom(self, data: Any, namespace: list[str], sse: ServerSentEvent) -> list[Event]:
        name = "|".join(["custom", *namespace])
        return [CustomEvent(name=name, value=data)]

    _HANDLERS: ClassVar[dict[str, Callable[..., list[Event]]]] = {
        "metadata": _metadata,
        "messages": _messages,
        "updates": _updates,
        "values": _values,
        "custom": _custom,
        "error": _error,
        "end": _end,
    }
    """What each frame kind is translated by (made once, not per run)."""

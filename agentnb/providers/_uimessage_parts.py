"""The assistant UI message a UI message stream builds, part by part, as the ``ai`` package's
``processUIMessageStream`` builds it (ai 7). It is what the chat sends back: the history of
later turns, and the message that carries a human's approval decisions.

Parts are plain JSON objects in the SDK's ``UIMessage`` shape: ``step-start``, ``text`` and
``reasoning`` (``state`` streaming|done), ``tool-{name}`` / ``dynamic-tool`` (``state``
input-streaming → input-available → approval-requested → approval-responded →
output-available | output-error | output-denied), ``source-*``, ``file``, ``custom``,
``data-*``. Unlike the SDK, which throws, a delta for a part never started starts one.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from pydantic_core import from_json

from .._core.run import Run
from ..events import StepReset, StepStarted, reasoning_delta, text_delta

__all__ = ["UIMessageBuilder"]

_Part = dict[str, Any]
_TextKind = Literal["text", "reasoning"]


def _set(part: _Part, **fields: Any) -> None:
    """Set the fields that have a value and drop those set to None (the SDK leaves them
    ``undefined``, which JSON omits)."""
    for key, value in fields.items():
        if value is None:
            part.pop(key, None)
        else:
            part[key] = value


def _is_tool(part: _Part) -> bool:
    kind = part.get("type")
    return isinstance(kind, str) and (kind.startswith("tool-") or kind == "dynamic-tool")


class UIMessageBuilder:
    """One assistant message, built from its stream's chunks.

    Its text and reasoning parts keep no text of their own: each knows which characters of
    the run's answer (or reasoning) it holds, and reads them from the run its stream's events
    fold into (:meth:`read_from`), so a run and its thread hold the answer once. A builder
    read alone folds its text into a run of its own."""

    def __init__(self, message_id: str | None = None) -> None:
        self.id = message_id or ""
        self.metadata: Any = None
        self.parts: list[_Part] = []
        self._text: dict[str, _Part] = {}
        self._reasoning: dict[str, _Part] = {}
        self._run = Run()
        self._keeps_text = True
        self._at = {"text": 0, "reasoning": 0}
        """How many characters of answer and reasoning the stream has brought: where the
        run's text and reasoning end, once its events are folded."""
        self._step_at = dict(self._at)
        self._spans: dict[int, tuple[_Part, _TextKind, list[list[int]]]] = {}
        """Each text and reasoning part's ranges of the run's answer or reasoning."""
        self._input_text: dict[str, list[str]] = {}

    def read_from(self, run: Run) -> None:
        """Read the text from ``run``, which this stream's events fold into, before any."""
        self._run, self._keeps_text = run, False

    def message(self) -> dict[str, Any]:
        """A copy of the message as the SDK would send it back."""
        self._settle()
        message: dict[str, Any] = {"id": self.id, "role": "assistant", "parts": []}
        if self.metadata is not None:
            message["metadata"] = copy.deepcopy(self.metadata)
        message["parts"] = copy.deepcopy(self.parts)
        return message

    def text_of(self, kind: str) -> str:
        """All the message's text (or reasoning) so far."""
        self._settle()
        return "".join(p["text"] for p in self.parts if p.get("type") == kind)

    def _settle(self) -> None:
        """Write the gathered deltas into the parts: texts, and the input of calls whose
        arguments are still streaming."""
        for part, kind, spans in self._spans.values():
            part["text"] = "".join(self._run.text_span(kind, a, b) for a, b in spans)
        for part in self.parts:
            if part.get("state") == "input-streaming":
                pieces = self._input_text.get(str(part.get("toolCallId")))
                _set(part, input=_partial_json("".join(pieces)) if pieces else None)

    # ---- steps --------------------------------------------------------------------------
    def step_start(self) -> None:
        self.parts.append({"type": "step-start"})
        self._step_at = dict(self._at)
        if self._keeps_text:
            self._run.apply(StepStarted())

    def reset_step(self) -> None:
        """Remove every part after the last ``step-start`` (all of them when there is none)."""
        last = max((i for i, p in enumerate(self.parts) if p["type"] == "step-start"), default=-1)
        del self.parts[last + 1 :]
        kept = {id(part) for part in self.parts}
        self._spans = {key: value for key, value in self._spans.items() if key in kept}
        self._at = dict(self._step_at)
        if self._keeps_text:
            self._run.apply(StepReset())
        self._text.clear()
        self._reasoning.clear()
        self._input_text.clear()

    # ---- text and reasoning ---------------------------------------------------------------
    def block_start(self, kind: str, block_id: str) -> None:
        part: _Part = {"type": kind, "text": "", "state": "streaming"}
        if kind == "reasoning":
            part["id"] = block_id
        self._blocks(kind)[block_id] = part
        self._spans[id(part)] = (part, "text" if kind == "text" else "reasoning", [])
        self.parts.append(part)

    def block_delta(self, kind: str, block_id: str, delta: str) -> None:
        part = self._blocks(kind).get(block_id)
        if part is None:
            self.block_start(kind, block_id)
            part = self._blocks(kind)[block_id]
        start = self._at[kind]
        end = self._at[kind] = start + len(delta)
        spans = self._spans[id(part)][2]
        if spans and spans[-1][1] == start:
            spans[-1][1] = end
        else:
            spans.append([start, end])
        if self._keeps_text:
            self._run.apply(text_delta(delta) if kind == "text" else reasoning_delta(delta))

    def block_end(self, kind: str, block_id: str) -> None:
        part = self._blocks(kind).pop(block_id, None)
        if part is not None:
            part["state"] = "done"

    def _blocks(self, kind: str) -> dict[str, _Part]:
        return self._text if kind == "text" else self._reasoning

    # ---- tools ----------------------------------------------------------------------------
    def tool_input_start(self, call_id: str, name: str, chunk: dict[str, Any]) -> None:
        self._input_text[call_id] = []
        self._update_tool(call_id, name, chunk, state="input-streaming", input=None)

    def tool_input_delta(self, call_id: str, delta: str) -> None:
        self._input_text.setdefault(call_id, []).append(delta)

    def tool_input_available(self, call_id: str, name: str, chunk: dict[str, Any]) -> None:
        self._input_text.pop(call_id, None)
        self._update_tool(call_id, name, chunk, state="input-available", input=chunk.get("input"))

    def tool_input_error(self, call_id: str, name: str, chunk: dict[str, Any]) -> None:
        self._input_text.pop(call_id, None)
        self._update_tool(
            call_id,
            name,
            chunk,
            state="output-error",
            input=chunk.get("input"),
            errorText=chunk.get("errorText"),
        )

    def approval_request(self, call_id: str, chunk: dict[str, Any]) -> None:
        part = self._tool(call_id)
        part["state"] = "approval-requested"
        approval: _Part = {"id": chunk.get("approvalId")}
        _set(approval, requestReason=chunk.get("reason"))
        if chunk.get("isAutomatic") is True:
            approval["isAutomatic"] = True
        part["approval"] = approval

    def approval_response(self, approval_id: str, approved: bool, reason: str | None) -> str | None:
        """Record a decision (the SDK's ``tool-approval-response`` chunk, or the client's own
        ``addToolApprovalResponse``); the decided call's id, or None when no part asked."""
        part = next(
            (
                p
                for p in self.parts
                if _is_tool(p) and (p.get("approval") or {}).get("id") == approval_id
            ),
            None,
        )
        if part is None:
            return None
        self._responded(part, approved, reason)
        return str(part["toolCallId"])

    def _responded(self, part: _Part, approved: bool, reason: str | None) -> None:
        part["state"] = "approval-responded"
        approval = {**part["approval"], "approved": approved}
        _set(approval, reason=reason)
        part["approval"] = approval

    def respond(self, call_id: str, approved: bool, reason: str | None) -> None:
        """Record the client's own decision on the call's part (one that asked for one)."""
        part = self._find_tool(call_id)
        if part is not None and isinstance(part.get("approval"), dict):
            self._responded(part, approved, reason)

    def output(self, call_id: str, chunk: dict[str, Any]) -> None:
        part = self._tool(call_id)
        part["state"] = "output-available"
        part["output"] = chunk.get("output")
        _set(part, errorText=None, preliminary=chunk.get("preliminary"))

    def output_error(self, call_id: str, error: str) -> None:
        part = self._tool(call_id)
        part["state"] = "output-error"
        _set(part, output=None, errorText=error)

    def output_denied(self, call_id: str) -> None:
        self._tool(call_id)["state"] = "output-denied"

    def _update_tool(
        self, call_id: str, name: str, chunk: dict[str, Any], *, state: str, **fields: Any
    ) -> None:
        dynamic = chunk.get("dynamic") is True
        part = self._find_tool(call_id, current_step=True)
        if part is None:
            part = {"type": "dynamic-tool", "toolName": name} if dynamic else {}
            part["toolCallId"] = call_id
            self.parts.append(part)
        if part.get("type") != "dynamic-tool":
            part["type"] = f"tool-{name}"
        part["state"] = state
        _set(
            part, **fields, title=chunk.get("title"), providerExecuted=chunk.get("providerExecuted")
        )

    def _tool(self, call_id: str) -> _Part:
        """The call's part; one is made when a chunk names a call never started."""
        part = self._find_tool(call_id)
        if part is None:
            part = {"type": "tool-unknown", "toolCallId": call_id, "state": "input-available"}
            self.parts.append(part)
        return part

    def _find_tool(self, call_id: str, *, current_step: bool = False) -> _Part | None:
        last_step = max(
            (i for i, p in enumerate(self.parts) if p["type"] == "step-start"), default=-1
        )
        scope = self.parts[last_step + 1 :] if current_step else self.parts
        return next(
            (p for p in reversed(scope) if _is_tool(p) and p.get("toolCallId") == call_id), None
        )

    # ---- everything else ------------------------------------------------------------------
    def add(self, chunk: dict[str, Any]) -> None:
        """A source, file, custom, steering or data part, as the SDK keeps it (a ``data-*``
        part with an id replaces the earlier one; a transient one is not kept)."""
        kind = chunk.get("type")
        if not isinstance(kind, str):
            return
        if kind.startswith("data-"):
            if chunk.get("transient") is True:
                return
            part: _Part = {key: chunk[key] for key in ("type", "id", "data") if key in chunk}
            same = next(
                (
                    p
                    for p in self.parts
                    if p.get("type") == kind and "id" in part and p.get("id") == part["id"]
                ),
                None,
            )
            if same is not None:
                same["data"] = part.get("data")
                return
            self.parts.append(part)
            return
        self.parts.append(copy.deepcopy(chunk))

    def merge_metadata(self, metadata: Any) -> None:
        if metadata is None:
            return
        if isinstance(self.metadata, dict) and isinstance(metadata, dict):
            self.metadata = _merged(self.metadata, metadata)
        else:
            self.metadata = copy.deepcopy(metadata)


def _partial_json(text: str) -> Any:
    """What the input streamed so far parses to, completing cut-off JSON (the SDK's
    ``parsePartialJson``); None when even that fails."""
    try:
        return from_json(text, allow_partial="trailing-strings")
    except ValueError:
        return None


def _merged(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """The SDK's ``mergeObjects``: nested objects merge, anything else is replaced."""
    result = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _merged(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result

"""The agent's shared state as a run sees it: snapshots replace it, RFC 6902 JSON Patch
deltas change it (AG-UI ``STATE_DELTA``), and custom events are kept beside it."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from ..events import CustomEvent, StateDelta, StateSnapshot

__all__ = ["MAX_CUSTOM_EVENTS", "AgentState", "PatchError", "apply_patch"]

MAX_CUSTOM_EVENTS = 10_000
"""Custom events kept per run; later ones are counted in ``custom_dropped``."""


class PatchError(ValueError):
    """A JSON Patch operation that cannot apply to the state (RFC 6902 section 5)."""


@dataclass
class AgentState:
    """What a run keeps of the agent's shared state and of the events it does not draw."""

    state: Any = None
    """The latest state: the last snapshot with every later delta applied."""
    custom_events: list[CustomEvent] = field(default_factory=list)
    """Application events (and deltas that could not apply, as ``state_delta_rejected``)."""
    custom_dropped: int = 0

    def apply(self, event: StateSnapshot | StateDelta | CustomEvent) -> None:
        if isinstance(event, StateSnapshot):
            self.state = event.state
        elif isinstance(event, StateDelta):
            try:
                self.state = apply_patch(self.state, event.patch)
            except PatchError as exc:
                # The state stays as it was; the delta is kept, with why, so nothing is lost.
                self.keep(
                    CustomEvent(
                        name="state_delta_rejected",
                        value={"patch": event.patch, "error": str(exc)},
                        seq=event.seq,
                        received_at=event.received_at,
                    )
                )
        else:
            self.keep(event)

    def keep(self, event: CustomEvent) -> None:
        if len(self.custom_events) >= MAX_CUSTOM_EVENTS:
            self.custom_dropped += 1
            return
        self.custom_events.append(event)


def apply_patch(document: Any, operations: list[Any]) -> Any:
    """``document`` with ``operations`` applied in order, all or nothing (the input is not
    changed). Raises :class:`PatchError` naming the failing operation."""
    doc = copy.deepcopy(document)
    for index, op in enumerate(operations):
        try:
            doc = _apply_one(doc, op)
        except PatchError as exc:
            raise PatchError(f"operation {index} ({_describe(op)}): {exc}") from None
    return doc


def _describe(op: Any) -> str:
    if isinstance(op, dict):
        return f"{op.get('op')!r} at {op.get('path')!r}"
    return repr(op)[:80]


def _apply_one(doc: Any, op: Any) -> Any:
    if not isinstance(op, dict) or not isinstance(op.get("op"), str):
        raise PatchError("not an operation object with an 'op'")
    kind = op["op"]
    path = _pointer(op, "path")
    if kind == "add":
        return _add(doc, path, _value(op))
    if kind == "remove":
        return _remove(doc, path)[0]
    if kind == "replace":
        doc, _ = _remove(doc, path)
        return _add(doc, path, _value(op))
    if kind in ("move", "copy"):
        source = _pointer(op, "from")
        if kind == "move" and path[: len(source)] == source and path != source:
            raise PatchError("cannot move a value into itself")
        value = copy.deepcopy(_get(doc, source))
        if kind == "move":
            doc, _ = _remove(doc, source)
        return _add(doc, path, value)
    if kind == "test":
        if _get(doc, path) != _value(op):
            raise PatchError("test failed")
        return doc
    raise PatchError(f"unknown op {kind!r}")


def _value(op: dict[str, Any]) -> Any:
    if "value" not in op:
        raise PatchError("missing 'value'")
    return op["value"]


def _pointer(op: dict[str, Any], key: str) -> list[str]:
    text = op.get(key)
    if not isinstance(text, str):
        raise PatchError(f"missing '{key}'")
    if text == "":
        return []
    if not text.startswith("/"):
        raise PatchError(f"{key} {text!r} is not a JSON pointer")
    return [t.replace("~1", "/").replace("~0", "~") for t in text[1:].split("/")]


def _index(container: list[Any], token: str, *, adding: bool) -> int:
    if adding and token == "-":
        return len(container)
    if not token.isdigit() or (token.startswith("0") and token != "0"):
        raise PatchError(f"{token!r} is not an array index")
    i = int(token)
    if i > len(container) or (not adding and i == len(container)):
        raise PatchError(f"index {i} is out of range")
    return i


def _get(doc: Any, path: list[str]) -> Any:
    for token in path:
        if isinstance(doc, dict):
            if token not in doc:
                raise PatchError(f"no member {token!r}")
            doc = doc[token]
        elif isinstance(doc, list):
            doc = doc[_index(doc, token, adding=False)]
        else:
            raise PatchError(f"cannot step into a {type(doc).__name__} with {token!r}")
    return doc


def _add(doc: Any, path: list[str], value: Any) -> Any:
    if not path:
        return value
    parent = _get(doc, path[:-1])
    last = path[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, adding=True), value)
    else:
        raise PatchError(f"cannot add into a {type(parent).__name__}")
    return doc


def _remove(doc: Any, path: list[str]) -> tuple[Any, Any]:
    if not path:
        return None, doc
    parent = _get(doc, path[:-1])
    last = path[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"no member {last!r}")
        return doc, parent.pop(last)
    if isinstance(parent, list):
        return doc, parent.pop(_index(parent, last, adding=False))
    raise PatchError(f"cannot remove from a {type(parent).__name__}")

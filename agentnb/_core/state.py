"""The agent's shared state as a run sees it: snapshots replace it, RFC 6902 JSON Patch
deltas change it (AG-UI ``STATE_DELTA``), and custom events are kept beside it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jsonpatch

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
    changed). Raises :class:`PatchError` saying why the patch cannot apply."""
    try:
        return jsonpatch.apply_patch(document, operations, in_place=False)
    except (
        jsonpatch.JsonPatchException,
        jsonpatch.JsonPointerException,
        TypeError,
        KeyError,
        IndexError,
        AttributeError,
    ) as exc:
        raise PatchError(str(exc) or type(exc).__name__) from None

"""Nothing applied twice after a resume, even from a server that ignores ``Last-Event-ID``.

A server that honours the header continues after the last event the client saw. One that
ignores it starts the run's stream over, and applying that again would merge two answers
("The answer is 42. The answer is 42. Done."). :class:`ReplayGuard` remembers every frame
applied (a hash of its event name and data, and of its event id: 16 bytes a frame) and, on
the first frame after a resume, finds where the server restarted:

- at a frame whose event id was already seen. From there each frame must equal the one
  applied at that place and is skipped, until the stream passes the last applied frame. A
  frame that differs under an id already seen means the server is sending another answer
  (a new generation): merging it would corrupt the run, so :class:`ReplayMismatch` ends it.
- at the run's very first frame, the stream carrying no id. Frames equal to those applied
  are skipped; the first that differs is applied, and all after it: a server resuming by
  its own cursor may well send its opening frame again before it continues.
- at the run's very first frame, because the request said so (an attach that streams the
  run again from its start, :attr:`agentnb.providers.HttpRequest.replays_run`). Each frame
  must then equal the one applied at its place, as under an id: a different one is another
  answer, and :class:`ReplayMismatch` ends the run.
"""

from __future__ import annotations

from array import array

from ..sse import ServerSentEvent

__all__ = ["FRAME_MEMORY", "ReplayGuard", "ReplayMismatch"]

FRAME_MEMORY = 16
"""Bytes the guard keeps for every frame applied (counted against the run's bound)."""


class ReplayMismatch(Exception):
    """After a resume the server replayed the run with different content (internal)."""


class ReplayGuard:
    """Which frames of a resumed response to apply. One per run's translator."""

    def __init__(self) -> None:
        self._frames = array("q")
        self._ids = array("q")
        self._check_next = False
        self._cursor: int | None = None
        self._by_id = False
        self._strict = True
        self._from_start = False

    def resumed(self, *, strict: bool = True, from_start: bool = False) -> None:
        """A new response continues the run: check where its first frame belongs.
        ``strict=False`` for the answer to approval decisions, a new response that may number
        its events afresh: a frame that differs from the one applied at its place is applied
        from there on, never an error. ``from_start``: the response replays the run from its
        first frame, whatever its ids (each frame must match until it passes what was applied)."""
        self._check_next = True
        self._cursor = None
        self._strict = strict
        self._from_start = from_start

    def admit(self, sse: ServerSentEvent) -> bool:
        """True to apply ``sse``; False to skip it as a replay of an applied frame. Raises
        :class:`ReplayMismatch` when a replay diverges from what was applied."""
        frame = hash((sse.event, sse.data))
        if self._check_next:
            self._check_next = False
            self._cursor = self._replay_start(sse, frame)
        if self._cursor is not None:
            if self._cursor < len(self._frames) and self._frames[self._cursor] == frame:
                self._cursor += 1
                return False
            if self._cursor < len(self._frames) and self._by_id:
                raise ReplayMismatch(self._mismatch(self._cursor))
            self._cursor = None  # past what was applied: new frames from here
        self._frames.append(frame)
        self._ids.append(hash(sse.id))
        return True

    def _replay_start(self, sse: ServerSentEvent, frame: int) -> int | None:
        if self._from_start:
            self._by_id = self._strict  # a divergence is another answer, as under an id
            return 0
        self._by_id = bool(sse.id) and self._strict
        if sse.id:
            try:
                return self._ids.index(hash(sse.id))
            except ValueError:
                return None  # an id not seen yet: the server continued where it should
        if self._frames and self._frames[0] == frame:
            return 0
        return None

    def _mismatch(self, position: int) -> str:
        return (
            f"after resuming, the server sent the run again from an earlier point, but "
            f"different from what was already received (frame {position + 1} of "
            f"{len(self._frames)} differs): it restarted with another answer, which cannot "
            f"be merged into this one"
        )
